// server/messages.cpp: the DIP MessageRequest body of /v1/replay and /v1/requeue
// (parse_message_request). Contracts beyond "no crash": a refusal says why; an accepted query has
// 0 to 100 transaction ids and a time range that is not reversed.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "message_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem;
  const auto query = flowguard::server::parse_message_request(flowguard::fuzz::as_text(data, size), problem);
  if (!query) {
    FLOWGUARD_FUZZ_CHECK(!problem.empty());
    return 0;
  }
  FLOWGUARD_FUZZ_CHECK(query->ids.size() <= 100);
  if (query->from && query->to) FLOWGUARD_FUZZ_CHECK(*query->from <= *query->to);
  return 0;
}
