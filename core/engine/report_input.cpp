// Where an unreadable input's error points, for the formats that place it (SARIF, JUnit, GitHub).
#include "flowguard/report_formats.hpp"

#include <charconv>

namespace flowguard {

namespace {

// Reads "<digits>" at `at`, moving past it; false when there are none.
bool read_number(std::string_view s, std::size_t& at, std::uint32_t& value) {
  auto [end, ec] = std::from_chars(s.data() + at, s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data() + at) return false;
  at = static_cast<std::size_t>(end - s.data());
  return true;
}

}  // namespace

InputErrorPlace input_error_place(const FileReport& report) {
  InputErrorPlace place;
  if (!report.input_error) return place;
  const std::string_view msg = report.input_error->message;
  place.text = std::string(msg);
  // The engine's input errors start with the path: "FILE:LINE:COL: what" (not JSON) or "FILE: what".
  if (msg.substr(0, report.path.size() + 1) != report.path + ":") return place;
  std::size_t at = report.path.size() + 1;
  std::uint32_t line = 0, column = 0;
  if (read_number(msg, at, line) && at < msg.size() && msg[at] == ':' && read_number(msg, ++at, column) &&
      msg.substr(at, 2) == ": ") {
    place.line = line;
    place.column = column;
    place.text = std::string(msg.substr(at + 2));
  } else if (msg.substr(report.path.size() + 1, 1) == " ") {
    place.text = std::string(msg.substr(report.path.size() + 2));
  }
  return place;
}

}  // namespace flowguard
