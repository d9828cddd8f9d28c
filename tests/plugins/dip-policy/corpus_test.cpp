// The DIP policy rules through `flowguard check --registry FIXTURE [--flows]`: channel eligibility,
// DIP ID windows, DCP nominations, SDS–MDR pairings, opt-out routing and the appointment flow,
// each allowed and refused (tests/corpus/dip-policy).
#include <catch2/catch.hpp>

#include "corpus_runner.hpp"

TEST_CASE("DIP policy corpus: every message gives exactly its expected findings") {
  flowguard::testing::run_corpus("dip-policy", 20);
}
