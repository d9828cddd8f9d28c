#include "native_checks.hpp"

#include <charconv>
#include <optional>

#include "flowguard/domain/checks.hpp"

namespace flowguard::engine {

namespace {

std::string subject(std::string_view field, const json::Value& value) {
  return "\"" + std::string(field) + "\" is " + json::preview(value);
}

using Kind = NativeChecks::Kind;

std::optional<Kind> kind_of(const std::string& name) {
  static const std::pair<std::string_view, Kind> kinds[] = {
      {"mpan", Kind::kMpan},           {"date_dmy", Kind::kDateDmy},
      {"date_iso", Kind::kDateIso},    {"time_hhmm", Kind::kTimeHhmm},
      {"half_hour", Kind::kHalfHour},  {"datetime_dmy_hm", Kind::kDatetimeDmyHm},
      {"max_decimals", Kind::kMaxDecimals}, {"not_before", Kind::kNotBefore},
      {"positive", Kind::kPositive},
      {"time_order", Kind::kTimeOrder}, {"date_order", Kind::kDateOrder},
      {"datetime_order", Kind::kDatetimeOrder}, {"zone_suffix", Kind::kZoneSuffix},
  };
  for (const auto& [n, k] : kinds)
    if (n == name) return k;
  return std::nullopt;  // the rule loader refuses unknown names
}

bool is_pair(Kind kind) {
  return kind == Kind::kTimeOrder || kind == Kind::kDateOrder || kind == Kind::kDatetimeOrder || kind == Kind::kZoneSuffix;
}

// Day number of a dd-mm-yyyy or yyyy-mm-dd date.
std::optional<std::int64_t> day_of(std::string_view text) {
  if (auto d = domain::parse_date_dmy(text)) return domain::days_from_civil(*d);
  if (auto d = domain::parse_date_iso(text)) return domain::days_from_civil(*d);
  return std::nullopt;
}

// The zone a unit ID names by its "-Z<digits>" ending ("FLEX-UNIT-Z2" -> "2"), else empty.
std::string_view zone_suffix(std::string_view unit) {
  std::size_t digits = unit.size();
  while (digits > 0 && unit[digits - 1] >= '0' && unit[digits - 1] <= '9') --digits;
  if (digits == unit.size() || digits < 2) return {};
  if ((unit[digits - 1] != 'Z' && unit[digits - 1] != 'z') || unit[digits - 2] != '-') return {};
  return unit.substr(digits);
}

// An integer JSON number (no fraction or exponent in its text) that fits 64 bits.
std::optional<std::int64_t> integer_of(const json::Value* v) {
  if (!v || !v->is_number() || !v->is_integer_text()) return std::nullopt;
  const std::string_view text = v->number_text();
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::optional<std::string> single_field_problem(Kind kind, std::int64_t argument, std::string_view argument_text,
                                                std::string_view field, const json::Value& value) {
  if (kind == Kind::kMaxDecimals) {
    if (!value.is_number()) return std::nullopt;
    const int places = domain::decimal_places(value.number_text());
    if (places <= argument) return std::nullopt;
    return subject(field, value) + " with " + std::to_string(places) + " decimal places; expected at most " +
           std::to_string(argument);
  }
  if (kind == Kind::kPositive) {
    if (!value.is_number() || value.as_double() > 0) return std::nullopt;
    return subject(field, value) + "; expected a number greater than 0";
  }
  if (!value.is_string() || value.as_string().empty()) return std::nullopt;
  const std::string_view text = value.as_string();
  switch (kind) {
    case Kind::kMpan: {
      if (domain::is_mpan_core(text)) return std::nullopt;
      bool digits = text.size() == 13;
      for (char c : text) digits = digits && c >= '0' && c <= '9';
      if (!digits) return subject(field, value) + "; expected a 13-digit MPAN core";
      const auto expected = domain::mpan_check_digit(text.substr(0, 12));
      return subject(field, value) + ": its check digit is " + std::string(1, text[12]) + ", expected " +
             std::to_string(expected.value_or(-1)) + " (MPAN core check digit)";
    }
    case Kind::kDateDmy:
      if (domain::parse_date_dmy(text)) return std::nullopt;
      return subject(field, value) + "; expected a date that exists, in dd-mm-yyyy";
    case Kind::kDateIso:
      if (domain::parse_date_iso(text)) return std::nullopt;
      return subject(field, value) + "; expected a date that exists, in yyyy-mm-dd";
    case Kind::kTimeHhmm:
      if (domain::parse_time_hhmm(text)) return std::nullopt;
      return subject(field, value) + "; expected a time in HH:MM, 00:00 to 23:59";
    case Kind::kHalfHour: {
      const auto minutes = domain::parse_time_hhmm(text);
      if (!minutes || *minutes % 30 == 0) return std::nullopt;  // malformed times are time_hhmm's finding
      return subject(field, value) + "; expected a half-hour boundary (HH:00 or HH:30)";
    }
    case Kind::kDatetimeDmyHm:
      if (domain::parse_datetime_dmy_hm(text)) return std::nullopt;
      return subject(field, value) + "; expected a date and time that exist, in dd-mm-yyyy HH:MM";
    case Kind::kNotBefore: {
      const auto day = day_of(text);  // a date that does not parse is the format checks' finding
      if (!day || *day >= argument) return std::nullopt;
      return subject(field, value) + ", before " + std::string(argument_text) + "; expected a date on or after " +
             std::string(argument_text);
    }
    default: return std::nullopt;
  }
}

// An orderable reading of a value for the pair checks; nullopt when it does not parse (the format
// checks report that).
std::optional<std::int64_t> order_key(Kind kind, std::string_view text, bool is_end) {
  switch (kind) {
    case Kind::kTimeOrder: {
      auto minutes = domain::parse_time_hhmm(text);
      if (minutes && is_end && *minutes == 0) return 24 * 60;  // an end of 00:00 is midnight at the end of the day
      return minutes;
    }
    case Kind::kDateOrder: return day_of(text);
    case Kind::kDatetimeOrder: return domain::parse_datetime_dmy_hm(text);
    default: return std::nullopt;
  }
}

bool non_empty_text(const json::Value* v) { return v && v->is_string() && !v->as_string().empty(); }

}  // namespace

NativeChecks::NativeChecks(const std::vector<lua::RuleInfo>& rules, const std::vector<std::size_t>& applicable) {
  for (const std::size_t r : applicable) {
    for (const auto& declared : rules[r].field_checks) {
      const auto kind = kind_of(declared.check);
      if (!kind) continue;
      std::int64_t argument = declared.argument;
      if (*kind == Kind::kNotBefore) {
        const auto day = day_of(declared.text_argument);
        if (!day) continue;  // the loader refuses a not_before without a date
        argument = *day;
      }
      if (is_pair(*kind)) {
        if (declared.fields.size() != 2) continue;  // the loader guarantees two fields
        checks_.push_back({r, *kind, argument, slot_of(declared.fields[0]), slot_of(declared.fields[1]), {}});
      } else {
        for (const auto& field : declared.fields)
          checks_.push_back({r, *kind, argument, slot_of(field), 0, declared.text_argument});
      }
    }
  }
  std::vector<std::string_view> keys(fields_.begin(), fields_.end());
  index_ = KeyIndex(keys);
}

std::uint32_t NativeChecks::slot_of(const std::string& field) {
  for (std::size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i] == field) return static_cast<std::uint32_t>(i);
  fields_.push_back(field);
  return static_cast<std::uint32_t>(fields_.size() - 1);
}

void NativeChecks::run_one(const Check& c, const json::Value* const* slots, const FieldProblem& problem) const {
  if (!is_pair(c.kind)) {
    const json::Value* value = slots[c.field];
    if (!value) return;
    if (auto message = single_field_problem(c.kind, c.argument, c.text_argument, fields_[c.field], *value))
      problem(c.rule, fields_[c.field], *value, std::move(*message));
    return;
  }
  if (c.kind == Kind::kZoneSuffix) {
    const json::Value* unit = slots[c.field];
    const auto zone = integer_of(slots[c.second]);
    if (!non_empty_text(unit) || !zone) return;
    const std::string_view suffix = zone_suffix(unit->as_string());
    if (suffix.empty()) return;
    std::int64_t named = 0;
    const auto [end, ec] = std::from_chars(suffix.data(), suffix.data() + suffix.size(), named);
    if (ec == std::errc() && end == suffix.data() + suffix.size() && named == *zone) return;
    const std::string zone_text = std::to_string(*zone);
    problem(c.rule, fields_[c.field], *unit,
            subject(fields_[c.field], *unit) + ", which ends in zone " + std::string(suffix) + ", but \"" +
                fields_[c.second] + "\" is " + zone_text + "; expected the suffix \"-Z" + zone_text + "\" or \"" +
                fields_[c.second] + "\" " + std::string(suffix));
    return;
  }
  const json::Value* from = slots[c.field];
  const json::Value* to = slots[c.second];
  if (!non_empty_text(from) || !non_empty_text(to)) return;
  const auto a = order_key(c.kind, from->as_string(), false);
  const auto b = order_key(c.kind, to->as_string(), true);
  if (!a || !b) return;
  const bool strict = c.kind == Kind::kTimeOrder;  // a window must end after it starts; a period may be one day
  if (strict ? *b > *a : *b >= *a) return;
  const std::string end = "\"" + fields_[c.second] + "\" " + json::preview(*to);
  const std::string start = "\"" + fields_[c.field] + "\" " + json::preview(*from);
  problem(c.rule, fields_[c.second], *to,
          strict ? end + " is not after " + start + "; expected the window to end after it starts"
                 : end + " is before " + start + "; expected the end not to be before the start");
}

}  // namespace flowguard::engine
