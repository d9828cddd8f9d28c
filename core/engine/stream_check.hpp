// Checking a large array or NDJSON stream a chunk of records at a time through the pipeline.
#pragma once

#include <istream>
#include <string_view>

#include "pipeline.hpp"

namespace flowguard::engine {

// See Engine::check_stream. Findings, pointers and positions are those of the whole stream.
FileReport check_stream(Pipeline& pipeline, std::istream& in, std::string_view source_name,
                        std::string_view type_hint, bool ndjson, const Call& call);

}  // namespace flowguard::engine
