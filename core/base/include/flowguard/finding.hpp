// A finding: one thing wrong (or worth knowing) about one place in one document.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flowguard {

enum class Severity : std::uint8_t { kError = 0, kWarning = 1, kInfo = 2 };

const char* to_string(Severity severity) noexcept;                 // "error" | "warning" | "info"
std::optional<Severity> severity_from_string(std::string_view s) noexcept;

struct Finding {
  std::string rule;        // e.g. "schema.required", "DFS-MPAN-CHECK-DIGIT"
  Severity severity = Severity::kError;
  std::string pointer;     // RFC 6901 pointer into the submitted document ("" = the whole document)
  std::uint32_t line = 0;  // 1-based; 0 when unknown
  std::uint32_t column = 0;  // 1-based, in Unicode code points; 0 when unknown
  std::string message;
  // Byte offset into the source; the engine turns it into line/column. Not part of reports.
  std::uint64_t offset = 0;
  std::string code;  // the receiving system's own error code when one exists (DIP "MSG1001"), else empty
  // Further findings of the same rule and severity folded into this one once a cap was reached (a
  // rule's findings per call and per file are capped): counted in the totals, not kept.
  std::uint64_t more = 0;
  // CSV input (docs/csv.md): the column's name from the header row; `line` is then the CSV row and
  // `column` the column's 1-based index (0 for a whole row). Empty for JSON input.
  std::string column_name;
};

}  // namespace flowguard
