// `flowguard serve`: the validation sidecar. An asynchronous HTTP/1.1 server (Boost.Beast) with
// keep-alive, a fixed pool of workers each owning its engine, bounded queues, API-key auth,
// Prometheus metrics and hot reload. docs/server.md is the user's guide; this is the entry point.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "flowguard/server/config.hpp"

namespace flowguard::server {

struct ServeOptions {
  std::optional<std::filesystem::path> config_file;  // --config
  std::optional<std::string> listen;                 // --listen, over the config's
  std::optional<unsigned> jobs;                      // --jobs, over the config's
  std::optional<std::string> registry;               // --registry, over the config's (no config file only)
};

// Runs until SIGTERM or SIGINT (then drains and returns 0). Returns 2 for a bad config or an
// address it cannot listen on, 3 when the engines do not load, each with its reasons on stderr.
int serve(const ServeOptions& options);

}  // namespace flowguard::server
