// The MessageRequest body of /v1/replay and /v1/requeue, parsed in process (server/message_request.hpp).
#include <catch2/catch.hpp>

#include <string>

#include "message_request.hpp"

using flowguard::journal::Clock;
using flowguard::journal::TimePoint;
using flowguard::server::parse_message_request;

namespace {

std::string request(const std::string& from, const std::string& to) {
  return "{\"datetimeFrom\":" + from + ",\"datetimeTo\":" + to + ",\"eventCode\":null,\"MPAN\":null,\"version\":null}";
}

}  // namespace

TEST_CASE("message request: date-times with an offset are instants") {
  std::string problem;
  const auto q = parse_message_request(request("\"2022-03-21T19:05:00+00:00\"", "\"2022-03-21T20:05:00+01:00\""), problem);
  INFO(problem);
  REQUIRE(q);
  CHECK(q->from == Clock::from_time_t(1647889500));
  CHECK(q->to == Clock::from_time_t(1647889500));
}

TEST_CASE("message request: a date past the clock's range is the end of time, not an overflow (fuzz/regressions/messages)") {
  std::string problem;
  // Year 8128 and 9999 are beyond a nanosecond time point (about 2262): before, the conversion overflowed.
  const auto open_end = parse_message_request(request("\"2022-03-21T19:05:00Z\"", "\"9999-12-31T23:59:59+00:00\""), problem);
  INFO(problem);
  REQUIRE(open_end);
  CHECK(open_end->to == TimePoint::max());
  CHECK(open_end->from == Clock::from_time_t(1647889500));
  const auto far = parse_message_request(request("\"8128-03-21T19:05:00.123-01:30\"", "null"), problem);
  REQUIRE(far);
  CHECK(far->from == TimePoint::max());
  // Still ordered: a far start after a near end is refused.
  CHECK_FALSE(parse_message_request(request("\"9999-01-01T00:00:00Z\"", "\"2022-03-21T19:05:00Z\""), problem));
  CHECK(problem == "/datetimeFrom is after /datetimeTo");
}
