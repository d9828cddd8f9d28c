// Runs every payload of tests/corpus/ssi through the engine exactly as `flowguard check` does and
// compares its findings with the expected ones (rule, severity, JSON pointer), showing actual
// against expected on any difference (tests/support/corpus_runner.hpp).
#include <catch2/catch.hpp>

#include "corpus_runner.hpp"

TEST_CASE("SSI corpus: every payload gives exactly its expected findings") {
  flowguard::testing::run_corpus("ssi", 25);
}
