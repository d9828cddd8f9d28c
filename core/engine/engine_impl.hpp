// The engine facade's state: the pieces it is made of (internal to engine.cpp and request.cpp).
#pragma once

#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "call.hpp"
#include "catalogue.hpp"
#include "files.hpp"
#include "flowguard/engine.hpp"
#include "pipeline.hpp"
#include "rule_pool.hpp"

namespace flowguard {

struct Engine::Impl {
  EngineOptions options;
  std::vector<LoadIssue> issues;
  engine::Catalogue catalogue{issues};
  std::unique_ptr<engine::RulePool> pool;
  std::optional<engine::Pipeline> pipeline;  // once the pool exists
  engine::CallSettings calls;

  // A check of bytes in memory (`padded`, when given, holds them with the parser's padding).
  FileReport check(std::string_view bytes, const PaddedBytes* padded, std::string_view source_name,
                   std::string_view type_hint, engine::Clock::time_point t_start, const engine::Call& call);
  // A request's check: its settings, `check(call, t_start)`, and the window's update once the
  // report says the document was accepted.
  template <class Check>
  FileReport with_request(const CheckRequest& request, std::string_view source_name, Check&& check);
};

// CSV input (csv_input.cpp): a file named *.csv, read whole and checked by Engine::check_csv.
bool is_csv_file(const std::filesystem::path& file);
FileReport check_csv_file(Engine& engine, const std::filesystem::path& file, std::string_view type_hint);

// check_file's body: .ndjson/.jsonl files and files of kStreamThresholdBytes or more go to
// `stream(in, ndjson)`, the rest are read whole and go to `whole(bytes)`.
template <class Stream, class Whole>
FileReport check_file_as(const std::filesystem::path& file, Stream&& stream, Whole&& whole) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  const auto ext = file.extension().string();
  const bool ndjson = ext == ".ndjson" || ext == ".jsonl";
  if (!ec && (ndjson || size >= Engine::kStreamThresholdBytes)) {
    std::ifstream in(file, std::ios::binary);
    if (in) return stream(in, ndjson);
  }
  auto bytes = engine::read_file(file);
  if (!bytes) {
    FileReport report;
    report.path = file.string();
    report.input_error = bytes.error();
    return report;
  }
  return whole(*bytes);
}

}  // namespace flowguard
