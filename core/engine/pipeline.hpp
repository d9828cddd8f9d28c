// The checking pipeline of one document: parse → recognise → schema → records → document rules →
// sort and locate findings. The engine facade and the streaming reader both run documents through it.
#pragma once

#include <chrono>
#include <string_view>

#include "call.hpp"
#include "catalogue.hpp"
#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"
#include "record_stage.hpp"
#include "rule_pool.hpp"

namespace flowguard::engine {

using Clock = std::chrono::steady_clock;
inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A document parsed (or not), and how long that took.
struct Parsed {
  json::Document doc;
  json::ParseError error;
  bool ok = false;
  double parse_ms = 0;
};

class Pipeline {
 public:
  Pipeline(const EngineOptions& options, Catalogue& catalogue, RulePool& pool)
      : options_(options), catalogue_(catalogue), pool_(pool) {}

  // `padded`, when given, holds `bytes` with the parser's padding: they are read in place.
  Parsed parse(std::string_view bytes, const PaddedBytes* padded, unsigned threads) const;
  // Everything after parsing; the record stage on up to `jobs` threads.
  FileReport check_parsed(Parsed& parsed, std::string_view source_name, std::string_view type_hint, unsigned jobs,
                          Clock::time_point t_start, const Call& call);

  // A thread lent to the record stage while a streamed check runs (nullptr otherwise).
  void set_helper(StageHelper* helper) noexcept { helper_ = helper; }

  const EngineOptions& options() const noexcept { return options_; }
  Catalogue& catalogue() noexcept { return catalogue_; }
  RulePool& pool() noexcept { return pool_; }
  StageHelper* helper() const noexcept { return helper_; }

 private:
  const EngineOptions& options_;
  Catalogue& catalogue_;
  RulePool& pool_;
  StageHelper* helper_ = nullptr;
};

}  // namespace flowguard::engine
