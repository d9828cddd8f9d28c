#include "decision_log.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include "flowguard/json/document.hpp"

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
  std::string line = "{\"time\":";
  json::write_json_string(line, utc_now());
  line += ",\"route\":";
  json::write_json_string(line, route);
  line += ",\"type\":";
  json::write_json_string(line, report.type.empty() ? target_type : std::string_view(report.type));
  line += ",\"status\":" + std::to_string(status);
  line += ",\"records\":" + std::to_string(report.records);
  line += ",\"errors\":" + std::to_string(report.errors) + ",\"warnings\":" + std::to_string(report.warnings);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000);
  line += ",\"ms\":";
  line += ms;
  line += ",\"references\":[";
  bool first = true;
  for (const auto& m : report.messages) {
    if (!m.sender_unique_reference) continue;
    if (!first) line += ",";
    first = false;
    json::write_json_string(line, unmask_ ? *m.sender_unique_reference : mask_digits(*m.sender_unique_reference));
  }
  line += "],\"findings\":[";
  first = true;
  for (const auto& f : report.findings) {
    if (!first) line += ",";
    first = false;
    line += "{\"rule\":";
    json::write_json_string(line, f.rule);
    line += ",\"severity\":\"";
    line += to_string(f.severity);
    line += "\",\"code\":";
    json::write_json_string(line, f.code);
    line += ",\"pointer\":";
    json::write_json_string(line, unmask_ ? f.pointer : mask_digits(f.pointer));
    line += ",\"line\":" + std::to_string(f.line) + ",\"column\":" + std::to_string(f.column);
    if (unmask_) {
      line += ",\"message\":";
      json::write_json_string(line, f.message);
    }
    line += "}";
  }
  line += "]";
  if (report.input_error) {
    line += ",\"input_error\":";
    json::write_json_string(line, unmask_ ? report.input_error->message : mask_digits(report.input_error->message));
  }
  line += "}\n";
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);  // a line per request; a crash loses at most the line being written
}

}  // namespace flowguard::server
