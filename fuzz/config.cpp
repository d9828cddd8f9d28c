// core/config through its two users: the server config (server/config.cpp, parse_config) and the
// routes (routing/routes.cpp, parse_routes), from text. The first byte picks which. Contracts beyond
// "no crash": an outcome has a config or diagnostics, never both or neither; every diagnostic has a
// message and, when positioned, a line and column of 1 or more.
#include <cstdint>
#include <string>

#include "flowguard/routing/routes.hpp"
#include "flowguard/server/config.hpp"
#include "fuzz_support.hpp"

using namespace flowguard;

namespace {

template <typename Outcome>
void check(const Outcome& outcome) {
  FLOWGUARD_FUZZ_CHECK(outcome.config.has_value() != !outcome.errors.empty());
  for (const auto& e : outcome.errors) {
    FLOWGUARD_FUZZ_CHECK(!e.message.empty());
    FLOWGUARD_FUZZ_CHECK((e.line == 0) == (e.column == 0));
    (void)e.to_string();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(fuzz::as_text(data + 1, size - 1));
  // Relative paths in either file resolve against this folder (the examples'), so existing ones are found.
  static const std::filesystem::path dir = std::filesystem::path(FLOWGUARD_SOURCE_DIR) / "examples" / "routing";
  if (data[0] & 1) {
    check(routing::parse_routes(text, dir / "routes.yaml"));
  } else {
    const auto outcome = server::parse_config(text, dir / "flowguard.yaml");
    check(outcome);
    if (outcome.config) {
      (void)server::engine_options(*outcome.config);
      std::string host;
      std::uint16_t port = 0;
      (void)server::split_listen(outcome.config->listen, host, port);
    }
  }
  return 0;
}
