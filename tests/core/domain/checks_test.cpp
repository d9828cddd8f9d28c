#include <catch2/catch.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "flowguard/domain/checks.hpp"

using namespace flowguard::domain;

TEST_CASE("MPAN core check digits: NESO DFS sample MPANs are valid", "[domain][mpan]") {
  const char* samples[] = {"3112619458610", "3122619458616", "3132619458612", "3142619458619", "3015019458618",
                           "3025019458614", "3111619458618", "3112019458617", "3075019458616", "3085019458612",
                           "3055019458613", "3065019458610", "1419395691006"};
  for (const char* mpan : samples) {
    INFO(mpan);
    CHECK(is_mpan_core(mpan));
    const auto digit = mpan_check_digit(mpan);
    REQUIRE(digit);
    CHECK(*digit == mpan[12] - '0');
  }
}

TEST_CASE("MPAN core rejects wrong check digits and bad formats", "[domain][mpan]") {
  // Every wrong last digit of a valid core is rejected.
  for (char d = '0'; d <= '9'; ++d) {
    std::string mpan = "3112619458610";
    mpan[12] = d;
    CHECK(is_mpan_core(mpan) == (d == '0'));
  }
  // A transposition changes the weighted sum.
  CHECK_FALSE(is_mpan_core("1312619458610"));
  CHECK_FALSE(is_mpan_core(""));
  CHECK_FALSE(is_mpan_core("311261945861"));     // 12 digits
  CHECK_FALSE(is_mpan_core("31126194586100"));   // 14 digits
  CHECK_FALSE(is_mpan_core(" 3112619458610"));
  CHECK_FALSE(is_mpan_core("311261945861O"));    // letter O
  CHECK_FALSE(is_mpan_core("31126194586-0"));
  CHECK_FALSE(is_mpan_core("3112619458610\n"));

  // Hand-computed: weights 3,5,7,13,17,19,23,29,31,37,41,43; all ones -> 268 % 11 = 4.
  CHECK(mpan_check_digit("111111111111") == 4);
  // Sum % 11 == 10 maps to check digit 0: "100000000000" -> 3; "200000000000" -> 6; "700000000000" -> 21 % 11 = 10 -> 0.
  CHECK(mpan_check_digit("700000000000") == 0);
  CHECK(is_mpan_core("7000000000000"));
  CHECK(mpan_check_digit("000000000000") == 0);
  CHECK(mpan_check_digit("11111111111") == std::nullopt);  // too short
  CHECK(mpan_check_digit("11111111111x") == std::nullopt);
  CHECK(mpan_check_digit("1111111111119999") == 4);  // only the first 12 count
}

TEST_CASE("dates: dd-mm-yyyy and yyyy-mm-dd with leap years", "[domain][dates]") {
  const auto d = parse_date_dmy("18-03-2026");
  REQUIRE(d);
  CHECK(d->day == 18);
  CHECK(d->month == 3);
  CHECK(d->year == 2026);
  const auto i = parse_date_iso("2026-03-18");
  REQUIRE(i);
  CHECK((i->year == 2026 && i->month == 3 && i->day == 18));

  CHECK(parse_date_iso("2024-02-29"));
  CHECK(parse_date_iso("2000-02-29"));
  CHECK_FALSE(parse_date_iso("2100-02-29"));
  CHECK_FALSE(parse_date_iso("1900-02-29"));
  CHECK_FALSE(parse_date_iso("2023-02-29"));
  CHECK(parse_date_dmy("29-02-2024"));
  CHECK_FALSE(parse_date_dmy("29-02-2100"));
  CHECK(parse_date_dmy("29-02-2000"));
  CHECK(parse_date_iso("2025-12-31"));
  CHECK(parse_date_iso("2025-04-30"));
  CHECK_FALSE(parse_date_iso("2025-04-31"));
  CHECK_FALSE(parse_date_iso("2025-13-01"));
  CHECK_FALSE(parse_date_iso("2025-00-10"));
  CHECK_FALSE(parse_date_iso("2025-01-00"));
  CHECK_FALSE(parse_date_iso("2025-01-32"));
  CHECK(parse_date_iso("1900-01-01"));
  CHECK(parse_date_iso("9999-12-31"));
  CHECK_FALSE(parse_date_iso("1899-12-31"));
  CHECK_FALSE(parse_date_iso("0000-01-01"));

  // Strict format.
  CHECK_FALSE(parse_date_dmy("18-03-203"));   // the classic typo
  CHECK_FALSE(parse_date_dmy("1-03-2026"));
  CHECK_FALSE(parse_date_dmy("18/03/2026"));
  CHECK_FALSE(parse_date_dmy("18-03-2026 "));
  CHECK_FALSE(parse_date_dmy("2026-03-18"));
  CHECK_FALSE(parse_date_dmy("+8-03-2026"));
  CHECK_FALSE(parse_date_dmy("18-0a-2026"));
  CHECK_FALSE(parse_date_dmy(""));
  CHECK_FALSE(parse_date_iso("18-03-2026"));
  CHECK_FALSE(parse_date_iso("2026-3-18"));
  CHECK_FALSE(parse_date_iso("2026-03-18T00:00"));
  CHECK_FALSE(parse_date_iso("2026_03_18"));
  CHECK_FALSE(parse_date_iso("-026-03-18"));
}

TEST_CASE("days_from_civil", "[domain][dates]") {
  CHECK(days_from_civil({1970, 1, 1}) == 0);
  CHECK(days_from_civil({1970, 1, 2}) == 1);
  CHECK(days_from_civil({1969, 12, 31}) == -1);
  CHECK(days_from_civil({2000, 3, 1}) - days_from_civil({2000, 2, 28}) == 2);
  CHECK(days_from_civil({2100, 3, 1}) - days_from_civil({2100, 2, 28}) == 1);
  CHECK(days_from_civil({2024, 1, 1}) == 19723);
  CHECK(days_from_civil({1900, 1, 1}) == -25567);
  CHECK(days_from_civil({2025, 1, 1}) - days_from_civil({2024, 1, 1}) == 366);
}

TEST_CASE("times and date-times", "[domain][time]") {
  CHECK(parse_time_hhmm("00:00") == 0);
  CHECK(parse_time_hhmm("23:59") == 1439);
  CHECK(parse_time_hhmm("17:30") == 1050);
  CHECK_FALSE(parse_time_hhmm("24:00"));
  CHECK_FALSE(parse_time_hhmm("12:60"));
  CHECK_FALSE(parse_time_hhmm("9:30"));
  CHECK_FALSE(parse_time_hhmm("09:30:00"));
  CHECK_FALSE(parse_time_hhmm("09-30"));
  CHECK_FALSE(parse_time_hhmm("0a:30"));
  CHECK_FALSE(parse_time_hhmm(""));

  CHECK(parse_datetime_dmy_hm("01-01-1970 00:00") == 0);
  CHECK(parse_datetime_dmy_hm("02-01-1970 01:30") == 1440 + 90);
  CHECK(parse_datetime_dmy_hm("29-03-2026 02:00") == days_from_civil({2026, 3, 29}) * 1440 + 120);
  CHECK_FALSE(parse_datetime_dmy_hm("29-02-2026 02:00"));
  CHECK_FALSE(parse_datetime_dmy_hm("01-01-2026T02:00"));
  CHECK_FALSE(parse_datetime_dmy_hm("01-01-2026 2:00"));
  CHECK_FALSE(parse_datetime_dmy_hm("01-01-2026  02:00"));
  CHECK_FALSE(parse_datetime_dmy_hm("01-01-2026 24:00"));
}

TEST_CASE("settlement periods on normal days", "[domain][settlement]") {
  CHECK(settlement_period("00:00") == 1);
  CHECK(settlement_period("00:29") == 1);
  CHECK(settlement_period("00:30") == 2);
  CHECK(settlement_period("17:00") == 35);
  CHECK(settlement_period("23:29") == 47);
  CHECK(settlement_period("23:30") == 48);
  CHECK(settlement_period("23:59") == 48);
  CHECK_FALSE(settlement_period("24:00"));
  CHECK_FALSE(settlement_period("1:00"));

  const Date normal{2026, 6, 15};
  CHECK(settlement_period_on(normal, "00:00") == 1);
  CHECK(settlement_period_on(normal, "01:30") == 4);
  CHECK(settlement_period_on(normal, "02:00") == 5);
  CHECK(settlement_period_on(normal, "23:30") == 48);
  // The Sundays before and after the clock changes are normal.
  CHECK(settlement_period_on({2026, 3, 22}, "02:00") == 5);
  CHECK(settlement_period_on({2026, 10, 18}, "02:00") == 5);
  CHECK(settlement_period_on({2026, 3, 30}, "01:30") == 4);
  CHECK_FALSE(settlement_period_on({2026, 2, 30}, "01:00"));  // no such date
  CHECK_FALSE(settlement_period_on(normal, "25:00"));
}

TEST_CASE("settlement periods on GB clock-change days", "[domain][settlement]") {
  // Spring 2026: Sunday 29 March, 46 periods; 01:00-01:59 local does not exist.
  const Date spring{2026, 3, 29};
  CHECK(settlement_period_on(spring, "00:00") == 1);
  CHECK(settlement_period_on(spring, "00:59") == 2);
  CHECK_FALSE(settlement_period_on(spring, "01:00"));
  CHECK_FALSE(settlement_period_on(spring, "01:30"));
  CHECK_FALSE(settlement_period_on(spring, "01:59"));
  CHECK(settlement_period_on(spring, "02:00") == 3);
  CHECK(settlement_period_on(spring, "02:30") == 4);
  CHECK(settlement_period_on(spring, "23:30") == 46);
  CHECK(settlement_period_on(spring, "23:59") == 46);

  // Autumn 2026: Sunday 25 October, 50 periods; the repeated 01:00-01:59 gives the first occurrence.
  const Date autumn{2026, 10, 25};
  CHECK(settlement_period_on(autumn, "00:00") == 1);
  CHECK(settlement_period_on(autumn, "01:00") == 3);
  CHECK(settlement_period_on(autumn, "01:30") == 4);
  CHECK(settlement_period_on(autumn, "01:59") == 4);
  CHECK(settlement_period_on(autumn, "02:00") == 7);
  CHECK(settlement_period_on(autumn, "12:00") == 27);
  CHECK(settlement_period_on(autumn, "23:30") == 50);

  // Other years: the last Sunday moves (2024: 31 March / 27 October; 2025: 30 March / 26 October).
  CHECK_FALSE(settlement_period_on({2024, 3, 31}, "01:15"));
  CHECK(settlement_period_on({2024, 3, 24}, "01:15") == 3);
  CHECK(settlement_period_on({2024, 10, 27}, "23:30") == 50);
  CHECK(settlement_period_on({2025, 3, 30}, "23:30") == 46);
  CHECK(settlement_period_on({2025, 10, 26}, "02:00") == 7);
  CHECK(settlement_period_on({2025, 10, 19}, "02:00") == 5);
}

TEST_CASE("decimal places of number text", "[domain][numbers]") {
  CHECK(decimal_places("25.11") == 2);
  CHECK(decimal_places("25.110") == 3);
  CHECK(decimal_places("7") == 0);
  CHECK(decimal_places("-0.5") == 1);
  CHECK(decimal_places("1.5e2") == 1);
  CHECK(decimal_places("1.25E-7") == 2);
  CHECK(decimal_places("1e3") == 0);
  CHECK(decimal_places("") == 0);
}

TEST_CASE("edit distance (bounded)", "[domain][suggest]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "abc") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("flaw", "lawn") == 2);
  CHECK(edit_distance("Baseline type", "Baseline Type") == 1);
  CHECK(edit_distance("ServiceRequirementType", "ServiceRequirmentType") == 1);
  CHECK(edit_distance("abcdef", "badcfe") == 4);
  CHECK(edit_distance("mpan", "mpna") == 2);  // a transposition is two edits in Levenshtein
  // Bounded: anything beyond the limit reports limit + 1.
  CHECK(edit_distance("kitten", "sitting", 2) == 3);
  CHECK(edit_distance("kitten", "sitting", 1) == 2);
  CHECK(edit_distance("a", "abcdefgh", 3) == 4);
  CHECK(edit_distance("abcdefgh", "a", 3) == 4);
  CHECK(edit_distance("same", "same", 0) == 0);
  CHECK(edit_distance("same", "sane", 0) == 1);
  // Long inputs use constant memory and still count exactly within the bound.
  const std::string a(5000, 'x');
  std::string b = a;
  b[10] = 'y';
  b[4000] = 'z';
  b.push_back('q');
  CHECK(edit_distance(a, b) == 3);
  CHECK(edit_distance(a, std::string(5000, 'y')) == 65);
}

TEST_CASE("loosely equal keys", "[domain][suggest]") {
  CHECK(loosely_equal_keys("Baseline type", "Baseline Type"));
  CHECK(loosely_equal_keys("baseline_type", "BaselineType"));
  CHECK(loosely_equal_keys("service-requirement-type", "Service Requirement Type"));
  CHECK(loosely_equal_keys("", "  _-"));
  CHECK(loosely_equal_keys("a", "a"));
  CHECK_FALSE(loosely_equal_keys("Baseline type", "Baseline types"));
  CHECK_FALSE(loosely_equal_keys("mpan", "mpna"));
  CHECK_FALSE(loosely_equal_keys("a", ""));
  CHECK_FALSE(loosely_equal_keys("a.b", "ab"));
  CHECK_FALSE(loosely_equal_keys("\xC3\xA9", "\xC3\x89"));  // only ASCII case folds
}

namespace {
// A byte at a time, as the spec reads: the reference the word-at-a-time parsers must agree with.
std::optional<flowguard::domain::Date> reference_date(std::string_view s, std::size_t y_at, std::size_t m_at,
                                                      std::size_t d_at, std::size_t dash1, std::size_t dash2) {
  if (s.size() != 10 || s[dash1] != '-' || s[dash2] != '-') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = number(y_at, 4), m = number(m_at, 2), d = number(d_at, 2);
  if (y < 1900 || m < 1 || m > 12 || d < 1) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  return flowguard::domain::Date{y, m, d};
}

bool same(const std::optional<flowguard::domain::Date>& a, const std::optional<flowguard::domain::Date>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->year == b->year && a->month == b->month && a->day == b->day);
}
}  // namespace

TEST_CASE("dates read a word at a time agree with a byte-at-a-time reading", "[domain][dates]") {
  std::vector<std::string> texts;
  char buf[16];
  for (int y : {0, 999, 1899, 1900, 1901, 1999, 2000, 2023, 2024, 2100, 2400, 9999})
    for (int m = 0; m <= 13; ++m)
      for (int d = 0; d <= 32; ++d) {
        std::snprintf(buf, sizeof buf, "%02d-%02d-%04d", d, m, y);
        texts.emplace_back(buf);
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
        texts.emplace_back(buf);
      }
  // Every position of two valid dates replaced by bytes around the digits and the dash, high
  // bytes, and bytes whose +6 carries; then shorter and longer texts.
  const std::string bases[] = {"29-02-2024", "2024-02-29"};
  const unsigned char swaps[] = {'/', '0' - 1, '9' + 1, ':', '-', ' ', 0, 0x7F, 0x80, 0xB0, 0xF9, 0xFA, 0xFF, '0', '9', 'O'};
  for (const std::string& base : bases) {
    for (std::size_t i = 0; i < base.size(); ++i)
      for (unsigned char c : swaps) {
        std::string t = base;
        t[i] = static_cast<char>(c);
        texts.push_back(t);
        if (i + 1 < base.size()) {
          t[i + 1] = static_cast<char>(0xFA);  // a carry out of byte i into i + 1
          texts.push_back(t);
        }
      }
    texts.push_back(base.substr(0, 9));
    texts.push_back(base + "0");
  }
  for (const std::string& t : texts) {
    INFO("text: " << t);
    CHECK(same(parse_date_dmy(t), reference_date(t, 6, 3, 0, 2, 5)));
    CHECK(same(parse_date_iso(t), reference_date(t, 0, 5, 8, 4, 7)));
  }
}
