// core/engine: the DIP recogniser and checking pipeline through the public Engine::check, with the
// "dip" family hint (each message matched to its interface/event-code variant) or none (the type
// recognised from content), the shipped DIP rules on small budgets and the default registry, then
// every report format. Contracts beyond "no crash": a report either has an input error or a type
// or a type.* finding; the totals count at least the findings kept.
#include <cstdint>
#include <memory>
#include <string>

#include "flowguard/engine.hpp"
#include "flowguard/reference_window.hpp"
#include "fuzz_support.hpp"

using namespace flowguard;

namespace {

Engine& engine() {
  static std::unique_ptr<Engine> instance = [] {
    EngineOptions options;  // the build tree's plugins, schemas and rules, found beside libflowguard
    options.lua_instructions_per_call = 200'000;
    options.lua_memory_bytes = 16u << 20;
    options.max_findings = 200;
    options.registry = "default";
    options.now = "2025-03-17T18:00:00Z";
    auto created = Engine::create(options);
    if (!created.ok()) {
      std::fprintf(stderr, "fuzz_dip: %s\n", created.error().message.c_str());
      std::abort();
    }
    return std::move(*created);
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the hint, so one corpus serves both paths.
  const std::string_view hint = (data[0] & 1) ? "dip" : "";
  const PaddedBytes bytes(fuzz::as_text(data + 1, size - 1));
  CheckRequest request;  // a window per input: nothing carries over from one input to the next
  request.references = std::make_shared<ReferenceWindow>(ReferenceWindow::Limits{});
  request.now = "2025-03-17T18:00:00Z";
  FileReport report = engine().check(bytes, "fuzz.json", hint, request);
  FLOWGUARD_FUZZ_CHECK(report.errors + report.warnings + report.infos >= report.findings.size());
  if (!report.input_error && report.type.empty()) {
    bool said = false;
    for (const auto& f : report.findings) said = said || f.rule.rfind("type.", 0) == 0;
    FLOWGUARD_FUZZ_CHECK(said);
  }
  const std::vector<FileReport> reports{report};
  (void)format_text(reports);
  (void)format_json(reports);
  (void)format_dip(reports, "2025-03-17T18:00:00+00:00");
  return 0;
}
