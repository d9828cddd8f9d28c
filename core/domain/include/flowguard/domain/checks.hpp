// Domain helpers shared by native checks and the Lua rule API (fg.*). Pure functions, no allocation
// on the success path, so they are cheap enough to run on every field of every record.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace flowguard::domain {

// MPAN core: exactly 13 ASCII digits whose last digit is the check digit computed with the
// published prime weights 3,5,7,13,17,19,23,29,31,37,41,43 over the first 12 digits
// (sum of products mod 11, then mod 10).
bool is_mpan_core(std::string_view s) noexcept;
// The expected check digit for the first 12 digits of `s` (needs >= 12 digits), or nullopt.
std::optional<int> mpan_check_digit(std::string_view first12) noexcept;

struct Date {
  int year, month, day;
};
// "dd-mm-yyyy", a date that exists in the Gregorian calendar (leap years honoured), year 1900..9999.
std::optional<Date> parse_date_dmy(std::string_view s) noexcept;
// "yyyy-mm-dd" (RFC 3339 full-date), same calendar rules.
std::optional<Date> parse_date_iso(std::string_view s) noexcept;
// Days since 1970-01-01 (for ordering and differences).
std::int64_t days_from_civil(const Date& d) noexcept;

// The date `days` after 1970-01-01 (proleptic Gregorian; the inverse of days_from_civil).
Date civil_from_days(std::int64_t days) noexcept;
// Minutes GB local time is ahead of UTC on the day `days` after 1970-01-01: 0 (GMT) or 60 (BST);
// nullopt on the two clock-change days (last Sundays of March and October), when it changes.
std::optional<int> gb_clock_offset(std::int64_t days) noexcept;

// "HH:MM", 00:00..23:59, exactly 5 characters. Returns minutes after midnight.
std::optional<int> parse_time_hhmm(std::string_view s) noexcept;
// "dd-mm-yyyy HH:MM" (16 characters). Returns minutes since 1970-01-01 00:00 (no time zone).
std::optional<std::int64_t> parse_datetime_dmy_hm(std::string_view s) noexcept;

// GB settlement period (1..48) of a clock time on a normal day: 00:00-00:29 -> 1, 23:30 -> 48.
// Clock-change days (46 or 50 periods) need the date; see settlement_period_on.
std::optional<int> settlement_period(std::string_view hhmm) noexcept;
// Settlement period of a local clock time on a given date, honouring GB clock changes (last Sunday
// of March: 46 periods, last Sunday of October: 50 periods). For the repeated hour in October the
// first occurrence is returned.
std::optional<int> settlement_period_on(const Date& date, std::string_view hhmm) noexcept;

// Digits after the decimal point of a JSON number's source text ("25.110" -> 3, "7" -> 0).
int decimal_places(std::string_view number_text) noexcept;

// Levenshtein distance, for "did you mean" suggestions (bounded: stops counting past `limit`).
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit = 64) noexcept;
// Key equality ignoring ASCII case, spaces, underscores and hyphens ("Baseline type" ~ "Baseline Type").
bool loosely_equal_keys(std::string_view a, std::string_view b) noexcept;

}  // namespace flowguard::domain
