// The engine facade's state: the pieces it is made of (internal to engine.cpp and request.cpp).
#pragma once

#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "call.hpp"
#include "catalogue.hpp"
#include "files.hpp"
#include "input.hpp"
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

// Input that is not a regular file (standard input, a pipe, a device): the same split as a file's
// by size, without knowing the size first. Up to kStreamThresholdBytes are read; an input that ends
// within them goes to `whole(bytes)`, a longer one (or NDJSON) to `stream(in, ndjson)` from its
// start, so memory stays bounded whatever the input's length and the findings are those of the
// same bytes in a file. Bytes that cannot begin JSON (/dev/zero's NULs) fail at once.
template <class Stream, class Whole>
FileReport check_input_as(std::istream& in, std::string_view name, bool ndjson, Stream&& stream, Whole&& whole) {
  bool complete = false;
  auto prefix = engine::read_prefix(in, name, Engine::kStreamThresholdBytes, complete);
  if (!prefix) {
    FileReport report;
    report.path = std::string(name);
    report.input_error = prefix.error();
    return report;
  }
  if (complete && !ndjson) return whole(*prefix);
  engine::PrefixedStreambuf buf(*prefix, in.rdbuf());
  std::istream rest(&buf);
  return stream(rest, ndjson);
}

// check_file's body: .ndjson/.jsonl files and files of kStreamThresholdBytes or more go to
// `stream(in, ndjson)`, the rest are read whole and go to `whole(bytes)`. What is not a regular
// file (a pipe, /dev/stdin, a device) goes through check_input_as.
template <class Stream, class Whole>
FileReport check_file_as(const std::filesystem::path& file, Stream&& stream, Whole&& whole) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  const auto ext = file.extension().string();
  const bool ndjson = ext == ".ndjson" || ext == ".jsonl";
  std::error_code kind_ec;  // apart from ec: a failed file_size must still read as failed below
  if (ec && std::filesystem::exists(file, kind_ec) && !std::filesystem::is_directory(file, kind_ec)) {
    std::ifstream in(file, std::ios::binary);
    if (in) return check_input_as(in, file.string(), ndjson, stream, whole);
  }
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
