#include "decision_log.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include "flowguard/json/writer.hpp"

namespace flowguard::server {

std::string mask_digits(std::string_view text) {
  std::string out(text);
  std::size_t i = 0;
  while (i < out.size()) {
    if (out[i] < '0' || out[i] > '9') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < out.size() && out[j] >= '0' && out[j] <= '9') ++j;
    if (j - i >= 6) std::fill(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j), '*');
    i = j;
  }
  return out;
}

std::unique_ptr<DecisionLog> DecisionLog::open(const std::filesystem::path& path, bool unmask, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) {
    error = "decision_log: cannot open " + path.string() + " for appending (" + std::strerror(errno) + ")";
    return nullptr;
  }
  return std::unique_ptr<DecisionLog>(new DecisionLog(f, unmask));
}

DecisionLog::~DecisionLog() {
  if (file_) std::fclose(file_);
}

void DecisionLog::write(std::string_view route, std::string_view target_type, unsigned status, const FileReport& report,
                        double seconds) {
  auto shown = [this](const std::string& text) { return unmask_ ? text : mask_digits(text); };
  std::string line;
  json::Writer w(line);
  w.begin_object().member("time", utc_now()).member("route", route);
  w.member("type", report.type.empty() ? target_type : std::string_view(report.type));
  w.member("status", status).member("records", report.records).member("errors", report.errors).member("warnings", report.warnings);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000);
  w.key("ms").raw(ms);
  w.key("references").begin_array();
  for (const auto& m : report.messages)
    if (m.sender_unique_reference) w.string(shown(*m.sender_unique_reference));
  w.end_array().key("findings").begin_array();
  for (const auto& f : report.findings) {
    w.begin_object().member("rule", f.rule).member("severity", to_string(f.severity)).member("code", f.code);
    w.member("pointer", shown(f.pointer)).member("line", f.line).member("column", f.column);
    if (unmask_) w.member("message", f.message);
    w.end_object();
  }
  w.end_array();
  if (report.input_error) w.member("input_error", shown(report.input_error->message));
  w.end_object();
  line += '\n';
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);  // a line per request; a crash loses at most the line being written
}

}  // namespace flowguard::server
