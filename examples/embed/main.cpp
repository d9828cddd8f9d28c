// Embedding flowguard: validate a payload in-process and act on the report.
//
//   embed FILE [TYPE]
//
// Exit status mirrors `flowguard check`: 0 clean, 1 error findings, 2 input error.
#include <cstdio>
#include <string>

#include "flowguard/engine.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embed FILE [TYPE]\n");
    return 2;
  }
  // Default options find the installed plugins, schemas and rules next to libflowguard.
  auto engine = flowguard::Engine::create(flowguard::EngineOptions{});
  if (!engine) {
    std::fprintf(stderr, "embed: %s\n", engine.error().message.c_str());
    return 2;
  }
  for (const auto& issue : (*engine)->load_issues()) std::fprintf(stderr, "embed: warning: %s: %s\n", issue.source.c_str(), issue.message.c_str());

  const flowguard::FileReport report = (*engine)->check_file(argv[1], argc > 2 ? argv[2] : "");
  if (report.input_error) {
    std::fprintf(stderr, "embed: %s\n", report.input_error->message.c_str());
    return 2;
  }
  std::printf("%s: %s, %zu records, %zu errors, %zu warnings\n", report.path.c_str(), report.type.c_str(),
              report.records, report.errors, report.warnings);
  for (const auto& f : report.findings)
    std::printf("  %s %s at %s (line %u): %s\n", flowguard::to_string(f.severity), f.rule.c_str(), f.pointer.c_str(),
                f.line, f.message.c_str());
  return report.errors ? 1 : 0;
}
