#include "flowguard/domain/checks.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace flowguard::domain {
namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Parses exactly s.size() ASCII digits; nullopt on anything else (no signs, no spaces).
constexpr std::optional<int> digits(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

constexpr bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int days_in_month(int y, int m) noexcept {
  constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// A date of ten bytes, read as two overlapping little-endian words (bytes 0-7 and 2-9): dates are
// parsed for every date field of every record, and a few word operations beat a loop per byte.
// `digits` and `dashes` mark (one bit per byte position, 0-9) where the digits and the '-' are.
struct TenBytes {
  std::uint64_t lo, hi;  // bytes 0-7, bytes 2-9
  explicit TenBytes(std::string_view s) noexcept {
    std::memcpy(&lo, s.data(), 8);
    std::memcpy(&hi, s.data() + 2, 8);
  }
  // The byte mask (0xFF per selected byte) of positions [from, from + 8) among `positions`.
  static constexpr std::uint64_t mask(unsigned positions, unsigned from) noexcept {
    std::uint64_t m = 0;
    for (unsigned k = 0; k < 8; ++k)
      if (positions >> (from + k) & 1u) m |= std::uint64_t{0xFF} << (8 * k);
    return m;
  }
  // True when the selected bytes of `w` are ASCII digits: high nibble 3, and still 3 after adding
  // 6 (a carry out of a byte needs a byte >= 0xFA, which fails its own test anyway).
  static constexpr bool digits_in(std::uint64_t w, std::uint64_t m) noexcept {
    constexpr std::uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ull, kThrees = 0x3030303030303030ull, kSixes = 0x0606060606060606ull;
    return (w & kHigh & m) == (kThrees & m) && ((w + kSixes) & kHigh & m) == (kThrees & m);
  }
  template <unsigned kDigits, unsigned kDashes>
  bool shaped() const noexcept {
    constexpr std::uint64_t kDashesLo = mask(kDashes, 0), kDashesHi = mask(kDashes, 2);
    constexpr std::uint64_t kDash = 0x2D2D2D2D2D2D2D2Dull;
    return (lo & kDashesLo) == (kDash & kDashesLo) && (hi & kDashesHi) == (kDash & kDashesHi) &&
           digits_in(lo, mask(kDigits, 0)) && digits_in(hi, mask(kDigits, 2));
  }
  // The digit at position i (0-9), once shaped() holds.
  int at(unsigned i) const noexcept {
    return static_cast<int>((i < 8 ? lo >> (8 * i) : hi >> (8 * (i - 2))) & 0x0F);
  }
};

std::optional<Date> checked(int y, int m, int d) noexcept {
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  return Date{y, m, d};
}

bool valid(const Date& d) noexcept {
  return d.year >= 1900 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= days_in_month(d.year, d.month);
}

// 0 = Sunday .. 6 = Saturday. 1970-01-01 was a Thursday.
int weekday(const Date& d) noexcept {
  const std::int64_t days = days_from_civil(d);
  return static_cast<int>(((days + 4) % 7 + 7) % 7);
}

int last_sunday(int year, int month) noexcept {
  const int last = days_in_month(year, month);
  return last - weekday(Date{year, month, last});
}

}  // namespace

Date civil_from_days(std::int64_t days) noexcept {
  // Howard Hinnant's civil_from_days: eras of 400 years, March-based years.
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Date{static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0)), m, d};
}

std::optional<int> gb_clock_offset(std::int64_t days) noexcept {
  const Date date = civil_from_days(days);
  const std::int64_t spring = days_from_civil(Date{date.year, 3, last_sunday(date.year, 3)});
  const std::int64_t autumn = days_from_civil(Date{date.year, 10, last_sunday(date.year, 10)});
  if (days == spring || days == autumn) return std::nullopt;
  return days > spring && days < autumn ? 60 : 0;
}

std::optional<int> mpan_check_digit(std::string_view first12) noexcept {
  static constexpr std::array<int, 12> kWeights{3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43};
  if (first12.size() < 12) return std::nullopt;
  int sum = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    if (!is_digit(first12[i])) return std::nullopt;
    sum += (first12[i] - '0') * kWeights[i];
  }
  return sum % 11 % 10;
}

bool is_mpan_core(std::string_view s) noexcept {
  if (s.size() != 13 || !is_digit(s[12])) return false;
  const auto check = mpan_check_digit(s);
  return check && *check == s[12] - '0';
}

std::optional<Date> parse_date_dmy(std::string_view s) noexcept {
  if (s.size() != 10) return std::nullopt;
  const TenBytes b(s);  // dd-mm-yyyy
  if (!b.shaped<0b1111011011, 0b0000100100>()) return std::nullopt;
  return checked(b.at(6) * 1000 + b.at(7) * 100 + b.at(8) * 10 + b.at(9), b.at(3) * 10 + b.at(4), b.at(0) * 10 + b.at(1));
}

std::optional<Date> parse_date_iso(std::string_view s) noexcept {
  if (s.size() != 10) return std::nullopt;
  const TenBytes b(s);  // yyyy-mm-dd
  if (!b.shaped<0b1101101111, 0b0010010000>()) return std::nullopt;
  return checked(b.at(0) * 1000 + b.at(1) * 100 + b.at(2) * 10 + b.at(3), b.at(5) * 10 + b.at(6), b.at(8) * 10 + b.at(9));
}

// Era-based arithmetic (400-year cycles, years starting in March) so leap days fall at year end.
std::int64_t days_from_civil(const Date& d) noexcept {
  const std::int64_t y = static_cast<std::int64_t>(d.year) - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;                                    // [0, 399]
  const std::int64_t mp = (d.month + 9) % 12;                                // March = 0
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;                   // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

std::optional<int> parse_time_hhmm(std::string_view s) noexcept {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  const auto h = digits(s.substr(0, 2));
  const auto m = digits(s.substr(3, 2));
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  return *h * 60 + *m;
}

std::optional<std::int64_t> parse_datetime_dmy_hm(std::string_view s) noexcept {
  if (s.size() != 16 || s[10] != ' ') return std::nullopt;
  const auto date = parse_date_dmy(s.substr(0, 10));
  const auto time = parse_time_hhmm(s.substr(11, 5));
  if (!date || !time) return std::nullopt;
  return days_from_civil(*date) * 1440 + *time;
}

std::optional<int> settlement_period(std::string_view hhmm) noexcept {
  const auto t = parse_time_hhmm(hhmm);
  if (!t) return std::nullopt;
  return *t / 30 + 1;
}

std::optional<int> settlement_period_on(const Date& date, std::string_view hhmm) noexcept {
  const auto t = parse_time_hhmm(hhmm);
  if (!t || !valid(date)) return std::nullopt;
  // GB (since 1981/EU rules): clocks go forward at 01:00 GMT on the last Sunday of March and back at
  // 02:00 BST on the last Sunday of October. Settlement periods run on elapsed time from midnight.
  if (date.month == 3 && date.day == last_sunday(date.year, 3)) {
    if (*t < 60) return *t / 30 + 1;
    if (*t < 120) return std::nullopt;  // 01:00-01:59 local does not exist
    return (*t - 60) / 30 + 1;
  }
  if (date.month == 10 && date.day == last_sunday(date.year, 10)) {
    if (*t < 120) return *t / 30 + 1;  // first occurrence of the repeated hour
    return (*t + 60) / 30 + 1;
  }
  return *t / 30 + 1;
}

int decimal_places(std::string_view number_text) noexcept {
  const auto dot = number_text.find('.');
  if (dot == std::string_view::npos) return 0;
  int n = 0;
  for (std::size_t i = dot + 1; i < number_text.size(); ++i) {
    const char c = number_text[i];
    if (c == 'e' || c == 'E') break;
    if (is_digit(c)) ++n;
  }
  return n;
}

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) noexcept {
  // Banded Levenshtein (only cells with |i - j| <= L can be <= L), so memory is a fixed stack
  // buffer whatever the input length: no allocation, noexcept for real.
  constexpr std::size_t kMaxBand = 255;
  const std::size_t L = std::min(limit, kMaxBand);
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  const std::size_t over = L + 1;
  if ((n > m ? n - m : m - n) > L) return over;

  std::array<std::size_t, 2 * kMaxBand + 1> rows[2];
  auto* prev = &rows[0];
  auto* cur = &rows[1];
  const std::size_t width = 2 * L + 1;
  // Band index k <-> column j = i + k - L.
  for (std::size_t k = 0; k < width; ++k) (*prev)[k] = (k >= L && k - L <= m) ? k - L : over;
  for (std::size_t i = 1; i <= n; ++i) {
    std::size_t row_min = over;
    for (std::size_t k = 0; k < width; ++k) {
      const std::ptrdiff_t j = static_cast<std::ptrdiff_t>(i + k) - static_cast<std::ptrdiff_t>(L);
      std::size_t v = over;
      if (j == 0) {
        v = i;
      } else if (j > 0 && static_cast<std::size_t>(j) <= m) {
        const std::size_t cost = a[i - 1] == b[static_cast<std::size_t>(j) - 1] ? 0 : 1;
        v = (*prev)[k] + cost;                                  // diagonal
        if (k + 1 < width) v = std::min(v, (*prev)[k + 1] + 1);  // from above
        if (k > 0) v = std::min(v, (*cur)[k - 1] + 1);           // from the left
      }
      v = std::min(v, over);
      (*cur)[k] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min >= over) return over;
    std::swap(prev, cur);
  }
  return std::min((*prev)[m + L - n], over);
}

bool loosely_equal_keys(std::string_view a, std::string_view b) noexcept {
  auto ignored = [](char c) { return c == ' ' || c == '_' || c == '-'; };
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  std::size_t i = 0;
  std::size_t j = 0;
  for (;;) {
    while (i < a.size() && ignored(a[i])) ++i;
    while (j < b.size() && ignored(b[j])) ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (lower(a[i]) != lower(b[j])) return false;
    ++i;
    ++j;
  }
}

}  // namespace flowguard::domain
