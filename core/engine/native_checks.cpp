#include "native_checks.hpp"

#include <charconv>
#include <optional>

#include "flowguard/domain/checks.hpp"

namespace flowguard::engine {

namespace {

std::string subject(std::string_view field, const json::Value& value) {
  // Appended, not `"..." + std::string(...)`: GCC 12 warns falsely (-Wrestrict) on that form.
  std::string s = "\"";
  s.append(field).append("\" is ").append(json::preview(value));
  return s;
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

// The wording of a single-field check that did not pass (NativeChecks::passes said so).
std::string single_field_wording(Kind kind, std::int64_t argument, std::string_view argument_text,
                                 std::string_view field, const json::Value& value) {
  switch (kind) {
    case Kind::kMaxDecimals:
      return subject(field, value) + " with " + std::to_string(domain::decimal_places(value.number_text())) +
             " decimal places; expected at most " + std::to_string(argument);
    case Kind::kPositive: return subject(field, value) + "; expected a number greater than 0";
    case Kind::kMpan: {
      const std::string_view text = value.as_string();
      bool digits = text.size() == 13;
      for (char c : text) digits = digits && c >= '0' && c <= '9';
      if (!digits) return subject(field, value) + "; expected a 13-digit MPAN core";
      const auto expected = domain::mpan_check_digit(text.substr(0, 12));
      return subject(field, value) + ": its check digit is " + std::string(1, text[12]) + ", expected " +
             std::to_string(expected.value_or(-1)) + " (MPAN core check digit)";
    }
    case Kind::kDateDmy: return subject(field, value) + "; expected a date that exists, in dd-mm-yyyy";
    case Kind::kDateIso: return subject(field, value) + "; expected a date that exists, in yyyy-mm-dd";
    case Kind::kTimeHhmm: return subject(field, value) + "; expected a time in HH:MM, 00:00 to 23:59";
    case Kind::kHalfHour: return subject(field, value) + "; expected a half-hour boundary (HH:00 or HH:30)";
    case Kind::kDatetimeDmyHm:
      return subject(field, value) + "; expected a date and time that exist, in dd-mm-yyyy HH:MM";
    case Kind::kNotBefore:
      return subject(field, value) + ", before " + std::string(argument_text) + "; expected a date on or after " +
             std::string(argument_text);
    default: return subject(field, value);
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

namespace {
// The zone a unit ID names ("-Z<digits>") when it disagrees with the zone field; empty when they
// agree or either is absent, empty or unreadable.
std::string_view zone_disagreement(const json::Value* unit, const json::Value* zone_field) {
  const auto zone = integer_of(zone_field);
  if (!non_empty_text(unit) || !zone) return {};
  const std::string_view suffix = zone_suffix(unit->as_string());
  if (suffix.empty()) return {};
  std::int64_t named = 0;
  const auto [end, ec] = std::from_chars(suffix.data(), suffix.data() + suffix.size(), named);
  if (ec == std::errc() && end == suffix.data() + suffix.size() && named == *zone) return {};
  return suffix;
}
}  // namespace

bool NativeChecks::passes(const Check& c, const json::Value* const* slots) {
  const json::Value* value = slots[c.field];
  switch (c.kind) {
    case Kind::kMaxDecimals:
      return !value || !value->is_number() || domain::decimal_places(value->number_text()) <= c.argument;
    case Kind::kPositive: return !value || !value->is_number() || value->as_double() > 0;
    case Kind::kZoneSuffix: return zone_disagreement(value, slots[c.second]).empty();
    case Kind::kTimeOrder:
    case Kind::kDateOrder:
    case Kind::kDatetimeOrder: {
      const json::Value* to = slots[c.second];
      if (!non_empty_text(value) || !non_empty_text(to)) return true;
      const auto a = order_key(c.kind, value->as_string(), false);
      const auto b = order_key(c.kind, to->as_string(), true);
      if (!a || !b) return true;  // what does not parse is the format checks' finding
      // A window must end after it starts; a period may be one day.
      return c.kind == Kind::kTimeOrder ? *b > *a : *b >= *a;
    }
    default: break;
  }
  // Text checks: absent, empty or non-string values are the schema's business.
  if (!non_empty_text(value)) return true;
  const std::string_view text = value->as_string();
  switch (c.kind) {
    case Kind::kMpan: return domain::is_mpan_core(text);
    case Kind::kDateDmy: return domain::parse_date_dmy(text).has_value();
    case Kind::kDateIso: return domain::parse_date_iso(text).has_value();
    case Kind::kTimeHhmm: return domain::parse_time_hhmm(text).has_value();
    case Kind::kHalfHour: {
      const auto minutes = domain::parse_time_hhmm(text);
      return !minutes || *minutes % 30 == 0;  // malformed times are time_hhmm's finding
    }
    case Kind::kDatetimeDmyHm: return domain::parse_datetime_dmy_hm(text).has_value();
    case Kind::kNotBefore: {
      const auto day = day_of(text);  // a date that does not parse is the format checks' finding
      return !day || *day >= c.argument;
    }
    default: return true;
  }
}

void NativeChecks::report(const Check& c, const json::Value* const* slots, const FieldProblem& problem) const {
  const json::Value& value = *slots[c.field];  // passes() is true when it is absent
  if (!is_pair(c.kind)) {
    problem(c.rule, fields_[c.field], value,
            single_field_wording(c.kind, c.argument, c.text_argument, fields_[c.field], value));
    return;
  }
  if (c.kind == Kind::kZoneSuffix) {
    const std::string_view suffix = zone_disagreement(&value, slots[c.second]);
    const std::string zone_text = std::to_string(*integer_of(slots[c.second]));
    problem(c.rule, fields_[c.field], value,
            subject(fields_[c.field], value) + ", which ends in zone " + std::string(suffix) + ", but \"" +
                fields_[c.second] + "\" is " + zone_text + "; expected the suffix \"-Z" + zone_text + "\" or \"" +
                fields_[c.second] + "\" " + std::string(suffix));
    return;
  }
  const json::Value& to = *slots[c.second];
  const std::string end = "\"" + fields_[c.second] + "\" " + json::preview(to);
  const std::string start = "\"" + fields_[c.field] + "\" " + json::preview(value);
  problem(c.rule, fields_[c.second], to,
          c.kind == Kind::kTimeOrder ? end + " is not after " + start + "; expected the window to end after it starts"
                                     : end + " is before " + start + "; expected the end not to be before the start");
}

}  // namespace flowguard::engine
