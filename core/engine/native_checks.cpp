#include "native_checks.hpp"

#include <optional>

#include "flowguard/domain/checks.hpp"

namespace flowguard::engine {

namespace {

std::string subject(std::string_view field, const json::Value& value) {
  return "\"" + std::string(field) + "\" is " + json::preview(value);
}

const json::Value* text_field(const json::Value& record, const std::string& field) {
  const json::Value* v = record.find(field);
  return v && v->is_string() && !v->as_string().empty() ? v : nullptr;
}

std::optional<std::string> single_field_problem(const std::string& name, int argument, std::string_view field,
                                                const json::Value& value) {
  if (name == "max_decimals") {
    if (!value.is_number()) return std::nullopt;
    const int places = domain::decimal_places(value.number_text());
    if (places <= argument) return std::nullopt;
    return subject(field, value) + " with " + std::to_string(places) + " decimal places; expected at most " +
           std::to_string(argument);
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

// An orderable reading of a value for the pair checks; nullopt when it does not parse (the format
// checks report that).
std::optional<std::int64_t> order_key(const std::string& check, std::string_view text, bool is_end) {
  if (check == "time_order") {
    auto minutes = domain::parse_time_hhmm(text);
    if (minutes && is_end && *minutes == 0) return 24 * 60;  // an end of 00:00 is midnight at the end of the day
    return minutes;
  }
  if (check == "date_order") {
    if (auto d = domain::parse_date_dmy(text)) return domain::days_from_civil(*d);
    if (auto d = domain::parse_date_iso(text)) return domain::days_from_civil(*d);
    return std::nullopt;
  }
  if (check == "datetime_order") return domain::parse_datetime_dmy_hm(text);
  return std::nullopt;
}

}  // namespace

void run_field_check(const lua::FieldCheck& check, const json::Value& record, const FieldProblem& problem) {
  const std::string& name = check.check;
  if (name == "time_order" || name == "date_order" || name == "datetime_order") {
    if (check.fields.size() != 2) return;  // the loader guarantees two fields
    const json::Value* from = text_field(record, check.fields[0]);
    const json::Value* to = text_field(record, check.fields[1]);
    if (!from || !to) return;
    const auto a = order_key(name, from->as_string(), false);
    const auto b = order_key(name, to->as_string(), true);
    if (!a || !b) return;
    const bool strict = name == "time_order";  // a window must end after it starts; a period may be one day
    if (strict ? *b > *a : *b >= *a) return;
    const std::string end = "\"" + check.fields[1] + "\" " + json::preview(*to);
    const std::string start = "\"" + check.fields[0] + "\" " + json::preview(*from);
    problem(check.fields[1], *to,
            strict ? end + " is not after " + start + "; expected the window to end after it starts"
                   : end + " is before " + start + "; expected the end not to be before the start");
    return;
  }
  for (const auto& field : check.fields) {
    const json::Value* value = record.find(field);
    if (!value) continue;
    if (auto message = single_field_problem(name, check.argument, field, *value)) problem(field, *value, std::move(*message));
  }
}

}  // namespace flowguard::engine
