#include "native_checks.hpp"

#include "flowguard/domain/checks.hpp"

namespace flowguard::engine {

namespace {

std::string subject(std::string_view field, const json::Value& value) {
  return "\"" + std::string(field) + "\" is " + json::preview(value);
}

}  // namespace

std::optional<std::string> run_field_check(const lua::FieldCheck& check, std::string_view field,
                                           const json::Value& value) {
  const std::string& name = check.check;
  if (name == "max_decimals") {
    if (!value.is_number()) return std::nullopt;
    const int places = domain::decimal_places(value.number_text());
    if (places <= check.argument) return std::nullopt;
    return subject(field, value) + " with " + std::to_string(places) + " decimal places; expected at most " +
           std::to_string(check.argument);
  }
  if (!value.is_string() || value.as_string().empty()) return std::nullopt;
  const std::string_view text = value.as_string();

  if (name == "mpan") {
    if (domain::is_mpan_core(text)) return std::nullopt;
    bool digits = text.size() == 13;
    for (char c : text) digits = digits && c >= '0' && c <= '9';
    if (!digits) return subject(field, value) + "; expected a 13-digit MPAN core";
    const auto expected = domain::mpan_check_digit(text.substr(0, 12));
    return subject(field, value) + ": its check digit is " + std::string(1, text[12]) + ", expected " +
           std::to_string(expected.value_or(-1)) + " (MPAN core check digit)";
  }
  if (name == "date_dmy") {
    if (domain::parse_date_dmy(text)) return std::nullopt;
    return subject(field, value) + "; expected a date that exists, in dd-mm-yyyy";
  }
  if (name == "date_iso") {
    if (domain::parse_date_iso(text)) return std::nullopt;
    return subject(field, value) + "; expected a date that exists, in yyyy-mm-dd";
  }
  if (name == "time_hhmm") {
    if (domain::parse_time_hhmm(text)) return std::nullopt;
    return subject(field, value) + "; expected a time in HH:MM, 00:00 to 23:59";
  }
  if (name == "half_hour") {
    const auto minutes = domain::parse_time_hhmm(text);
    if (!minutes || *minutes % 30 == 0) return std::nullopt;  // malformed times are time_hhmm's finding
    return subject(field, value) + "; expected a half-hour boundary (HH:00 or HH:30)";
  }
  if (name == "datetime_dmy_hm") {
    if (domain::parse_datetime_dmy_hm(text)) return std::nullopt;
    return subject(field, value) + "; expected a date and time that exist, in dd-mm-yyyy HH:MM";
  }
  return subject(field, value) + "; unknown native check \"" + name + "\"";
}

}  // namespace flowguard::engine
