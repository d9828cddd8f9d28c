#include "flowguard/finding.hpp"
#include "flowguard/result.hpp"

namespace flowguard {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kIo: return "io";
    case ErrorCode::kParse: return "parse";
    case ErrorCode::kLimit: return "limit";
    case ErrorCode::kSchema: return "schema";
    case ErrorCode::kRule: return "rule";
    case ErrorCode::kPlugin: return "plugin";
    case ErrorCode::kUnknownType: return "unknown-type";
    case ErrorCode::kUsage: return "usage";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

const char* to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "error";
}

std::optional<Severity> severity_from_string(std::string_view s) noexcept {
  if (s == "error") return Severity::kError;
  if (s == "warning") return Severity::kWarning;
  if (s == "info") return Severity::kInfo;
  return std::nullopt;
}

}  // namespace flowguard
