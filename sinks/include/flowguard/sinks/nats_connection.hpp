// One NATS connection as the JetStream sink and the consumer (flowguard::consume) open it: the server
// list, credentials and reconnect settings in one place, errors as values with libnats' own words.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::sinks {

struct NatsConnectOptions {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::filesystem::path credentials;  // .creds file (user JWT + NKey seed); empty: none
  std::string name = "flowguard";     // shown by the server (connz), helps operators
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};
  // -1: reconnect forever. A router that gives up on its broker would have to be restarted to
  // deliver again; a sink must instead keep answering kRetry until the broker is back.
  int max_reconnect = -1;
  int reconnect_buffer_bytes = 8 << 20;
};

// "what: <libnats status text> (<libnats' last error detail>)", for messages and DeliveryResult details.
std::string nats_error_text(natsStatus status, std::string_view what);

class NatsConnection {
 public:
  // Fails (never throws) when no server of the list answers within connect_timeout, or the
  // credentials file is unreadable.
  static Result<std::unique_ptr<NatsConnection>> connect(const NatsConnectOptions& options);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  natsConnection* get() const { return connection_; }
  bool connected() const;
  // The server's max_payload (headers + data), as announced in its INFO.
  std::int64_t max_payload() const;

 private:
  explicit NatsConnection(natsConnection* connection) : connection_(connection) {}
  natsConnection* connection_;
};

// A JetStream context on a connection, destroyed with it.
struct JsContextDeleter {
  void operator()(jsCtx* js) const { jsCtx_Destroy(js); }
};
using JsContext = std::unique_ptr<jsCtx, JsContextDeleter>;

}  // namespace flowguard::sinks
