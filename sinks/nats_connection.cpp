#include "flowguard/sinks/nats_connection.hpp"

#include <string>

namespace flowguard::sinks {

std::string nats_error_text(natsStatus status, std::string_view what) {
  std::string text(what);
  text += ": ";
  text += natsStatus_GetText(status);
  // nats_GetLastError is the calling thread's last error; it names the cause (e.g. the server's
  // answer) only when it belongs to this status.
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && last == status) {
    const std::string d(detail);
    if (d != natsStatus_GetText(status)) text += " (" + d + ")";
  }
  return text;
}

Result<std::unique_ptr<NatsConnection>> NatsConnection::connect(const NatsConnectOptions& options) {
  if (options.servers.empty())
    return make_error(ErrorCode::kUsage,
                      "No NATS server given; expected at least one URL such as nats://127.0.0.1:4222.");
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<const char*> urls;
  for (const auto& server : options.servers) urls.push_back(server.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, options.max_reconnect);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, options.reconnect_wait.count());
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, options.reconnect_buffer_bytes);
  // Requests (stream info, AckSync) fail at once while disconnected instead of waiting out their timeout.
  if (s == NATS_OK) s = natsOptions_SetFailRequestsOnDisconnect(opts, true);
  if (s != NATS_OK) {
    std::string text = nats_error_text(s, "Setting up the NATS connection options failed");
    natsOptions_Destroy(opts);
    return make_error(ErrorCode::kUsage, text + ".");
  }
  if (!options.credentials.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(opts, options.credentials.c_str(), nullptr);
    if (s != NATS_OK) {
      std::string text =
          nats_error_text(s, "The NATS credentials file " + options.credentials.string() + " cannot be used");
      natsOptions_Destroy(opts);
      return make_error(ErrorCode::kIo, text + "; expected a .creds file with a user JWT and an NKey seed.");
    }
  }
  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    std::string list;
    for (const auto& server : options.servers) list += (list.empty() ? "" : ", ") + server;
    return make_error(ErrorCode::kIo, nats_error_text(s, "Cannot connect to NATS at " + list) + ".");
  }
  return std::unique_ptr<NatsConnection>(new NatsConnection(nc));
}

NatsConnection::~NatsConnection() {
  natsConnection_Close(connection_);
  natsConnection_Destroy(connection_);
}

bool NatsConnection::connected() const { return natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED; }

std::int64_t NatsConnection::max_payload() const { return natsConnection_GetMaxPayload(connection_); }

}  // namespace flowguard::sinks
