// `check --format junit`: JUnit XML as CI systems read it (Jenkins, GitLab, Azure DevOps, the
// GitHub test-report actions): one <testsuite> per file, one <testcase> per rule.
#include <map>
#include <string>
#include <vector>

#include "flowguard/report_formats.hpp"

namespace flowguard {

namespace {

// XML 1.0 text and attribute values: the five specials as entities, whitespace controls in
// attributes as character references (so a parser keeps them), and the characters XML 1.0 cannot
// carry at all (other C0 controls, invalid UTF-8) as a visible \xHH, never as raw bytes.
void append_xml(std::string& out, std::string_view s, bool attribute) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += attribute ? "&quot;" : "\""; continue;
      case '\'': out += attribute ? "&apos;" : "'"; continue;
      case '\n': out += attribute ? "&#10;" : "\n"; continue;
      case '\r': out += "&#13;"; continue;
      case '\t': out += attribute ? "&#9;" : "\t"; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // A well-formed UTF-8 sequence passes whole; anything else is shown byte by byte.
    const std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    bool ok = len > 0 && c < 0xF5 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
      // U+FFFE and U+FFFF are not XML characters.
      if (ok && c == 0xEF && c1 == 0xBF && static_cast<unsigned char>(s[i + 2]) >= 0xBE) ok = false;
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s, i, len);
      i += len - 1;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

std::string xml(std::string_view s, bool attribute = true) {
  std::string out;
  append_xml(out, s, attribute);
  return out;
}

std::string place(const std::string& path, std::uint32_t line, std::uint32_t column) {
  std::string s = path;
  if (line) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s;
}

// FILE:LINE:COL: SEVERITY: message (POINTER): one finding as text-format prints it.
std::string finding_line(const FileReport& r, const Finding& f) {
  return place(r.path, f.line, f.column) + ": " + to_string(f.severity) + ": " + (f.code.empty() ? "" : "(" + f.code + ") ") +
         f.message + " (" + (f.pointer.empty() ? std::string("document root") : f.pointer) + ")";
}

struct Case {
  std::string rule;
  std::vector<const Finding*> errors, others;
};

struct Suite {
  std::vector<Case> cases;
  std::size_t failures = 0, errors = 0;
};

Suite suite_of(const FileReport& r) {
  Suite s;
  std::map<std::string, std::size_t> at;
  auto slot = [&](const std::string& rule) -> Case& {
    auto [it, fresh] = at.emplace(rule, s.cases.size());
    if (fresh) s.cases.push_back({rule, {}, {}});
    return s.cases[it->second];
  };
  if (r.input_error) return s;
  // The schema check as one case when it passed (its failures are per keyword below), then every rule
  // that ran or reported, in the order met.
  bool schema_failed = false;
  for (const auto& f : r.findings) schema_failed = schema_failed || f.rule.rfind("schema.", 0) == 0;
  if (!r.type.empty() && !schema_failed) slot("schema");
  for (const auto& f : r.findings) {
    Case& c = slot(f.rule);
    (f.severity == Severity::kError ? c.errors : c.others).push_back(&f);
  }
  for (const auto& id : r.rules_run) slot(id);
  for (const auto& c : s.cases) s.failures += c.errors.empty() ? 0 : 1;
  return s;
}

}  // namespace

std::string format_junit(const std::vector<FileReport>& reports) {
  std::vector<Suite> suites;
  std::size_t tests = 0, failures = 0, errors = 0;
  for (const auto& r : reports) {
    suites.push_back(suite_of(r));
    Suite& s = suites.back();
    s.errors = r.input_error ? 1 : 0;
    tests += s.cases.size() + s.errors;
    failures += s.failures;
    errors += s.errors;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"flowguard check\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"" + std::to_string(errors) + "\">\n";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const FileReport& r = reports[i];
    const Suite& s = suites[i];
    const std::string file = xml(r.path);
    out += "  <testsuite name=\"" + file + "\" tests=\"" + std::to_string(s.cases.size() + s.errors) +
           "\" failures=\"" + std::to_string(s.failures) + "\" errors=\"" + std::to_string(s.errors) +
           "\" skipped=\"0\" time=\"" + std::to_string(r.times.total / 1000.0) + "\" file=\"" + file + "\">\n";
    out += "    <properties>\n";
    out += "      <property name=\"type\" value=\"" + xml(r.type) + "\"/>\n";
    out += "      <property name=\"records\" value=\"" + std::to_string(r.records) + "\"/>\n";
    if (r.findings_not_shown)
      out += "      <property name=\"findings_not_shown\" value=\"" + std::to_string(r.findings_not_shown) + "\"/>\n";
    out += "    </properties>\n";
    if (r.input_error) {
      // Not a failed check but a check that could not run: JUnit's <error>.
      const InputErrorPlace p = input_error_place(r);
      out += "    <testcase name=\"input\" classname=\"" + file + "\" file=\"" + file + "\"";
      if (p.line) out += " line=\"" + std::to_string(p.line) + "\"";
      out += ">\n      <error type=\"" + xml(to_string(r.input_error->code)) + "\" message=\"" + xml(p.text) + "\">";
      append_xml(out, r.input_error->message, false);
      out += "</error>\n    </testcase>\n";
    }
    for (const auto& c : s.cases) {
      out += "    <testcase name=\"" + xml(c.rule) + "\" classname=\"" + file + "\" file=\"" + file + "\"";
      const Finding* first = !c.errors.empty() ? c.errors.front() : !c.others.empty() ? c.others.front() : nullptr;
      if (first && first->line) out += " line=\"" + std::to_string(first->line) + "\"";
      if (c.errors.empty() && c.others.empty()) {
        out += "/>\n";
        continue;
      }
      out += ">\n";
      if (!c.errors.empty()) {
        const Finding& f = *c.errors.front();
        const std::string summary = place(r.path, f.line, f.column) + ": " + f.message +
                                    (c.errors.size() > 1 ? " (and " + std::to_string(c.errors.size() - 1) + " more)" : "");
        out += "      <failure type=\"error\" message=\"" + xml(summary) + "\">";
        for (const Finding* e : c.errors) {
          append_xml(out, finding_line(r, *e), false);
          out += "\n";
        }
        out += "</failure>\n";
      }
      if (!c.others.empty()) {
        // Warnings and notes do not fail the check (exit status 0), so they do not fail the case.
        out += "      <system-out>";
        for (const Finding* o : c.others) {
          append_xml(out, finding_line(r, *o), false);
          out += "\n";
        }
        out += "</system-out>\n";
      }
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace flowguard
