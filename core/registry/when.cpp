// Instants for effective windows. Dates and local times are UK civil time (Europe/London): GMT,
// or BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
// October.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

#include "flowguard/registry/registry.hpp"

namespace flowguard::registry {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int month_days(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Start (UTC seconds) of the last Sunday of `month` at 01:00 UTC.
std::int64_t last_sunday_0100(int year, int month) {
  const std::int64_t last = days_from_civil(year, month, month_days(year, month));
  const std::int64_t weekday = ((last % 7) + 11) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
  return (last - weekday) * 86400 + 3600;
}

std::int64_t uk_local_to_utc(std::int64_t local, int year) {
  const std::int64_t candidate = local - 3600;  // as if BST
  if (candidate >= last_sunday_0100(year, 3) && candidate < last_sunday_0100(year, 10)) return candidate;
  return local;
}

struct Parsed {
  std::int64_t seconds = 0;
  bool date_only = false;
};

std::optional<Parsed> parse(std::string_view s) {
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return std::nullopt;
  const std::int64_t day = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (s.size() == 10) return Parsed{day * 86400, true};
  const char sep = s[10];
  int h = 0, mi = 0, se = 0;
  if ((sep != ' ' && sep != 'T') || !digits(s, 11, 2, h) || s.size() < 16 || s[13] != ':' || !digits(s, 14, 2, mi))
    return std::nullopt;
  std::size_t at = 16;
  if (at < s.size() && s[at] == ':') {
    if (!digits(s, at + 1, 2, se)) return std::nullopt;
    at += 3;
  }
  if (h > 23 || mi > 59 || se > 59) return std::nullopt;
  const std::int64_t local = day * 86400 + h * 3600 + mi * 60 + se;
  if (at == s.size()) {
    if (sep == 'T') return std::nullopt;  // ISO form needs its offset
    return Parsed{uk_local_to_utc(local, y), false};
  }
  if (s[at] == 'Z' && at + 1 == s.size()) return Parsed{local, false};
  int oh = 0, om = 0;
  if ((s[at] == '+' || s[at] == '-') && s.size() == at + 6 && digits(s, at + 1, 2, oh) && s[at + 3] == ':' &&
      digits(s, at + 4, 2, om) && oh <= 23 && om <= 59) {
    const std::int64_t offset = oh * 3600 + om * 60;
    return Parsed{s[at] == '+' ? local - offset : local + offset, false};
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> parse_instant(std::string_view text) {
  auto p = parse(text);
  if (!p) return std::nullopt;
  if (p->date_only) {
    int y = 0;
    digits(text, 0, 4, y);
    return uk_local_to_utc(p->seconds, y);
  }
  return p->seconds;
}

std::optional<std::int64_t> parse_window_end(std::string_view text) {
  auto p = parse(text);
  if (!p) return std::nullopt;
  if (p->date_only) {
    int y = 0;
    digits(text, 0, 4, y);
    return uk_local_to_utc(p->seconds + 86400, y);
  }
  return p->seconds;
}

}  // namespace flowguard::registry
