// The real nats-server (Debian: /usr/sbin/nats-server) for integration tests: one JetStream server, or a
// 3-node JetStream cluster, on loopback ephemeral ports with their stores in a temporary directory.
// Tests SKIP when the binary is absent (nats_server_available()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace flowguard::test {

std::filesystem::path nats_server_exe();
bool nats_server_available();
// What a test prints when it SKIPs for lack of the server.
std::string nats_server_missing_message();

class NatsServer {
 public:
  // A JetStream server named `name`, its store under `store_dir` (a fresh temporary directory when
  // empty). Nothing starts until start().
  explicit NatsServer(std::string name = "fg-nats", std::filesystem::path store_dir = {});
  ~NatsServer();  // kills the process, removes a temporary store
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // For cluster nodes: the cluster listen port and the other nodes' cluster URLs.
  void set_cluster(std::string cluster_name, std::uint16_t cluster_port, std::vector<std::string> routes);
  // Starts on a free port (retrying on a clash), or on its previous port after stop()/kill(), and
  // waits until it accepts clients. False (with error()) when it did not come up within 20 s.
  bool start();
  void stop();     // SIGTERM and wait (a clean shutdown: the store is flushed)
  void kill();     // SIGKILL and wait (a crash)
  bool restart();  // stop() then start() on the same port and store
  bool running() const { return pid_ > 0; }

  std::uint16_t port() const { return port_; }
  std::string url() const;
  const std::filesystem::path& store_dir() const { return store_dir_; }
  const std::string& error() const { return error_; }
  std::string log() const;  // the server's log so far, for failure messages

  // Not used by start(): a port fixed beforehand (a cluster picks its ports together).
  void set_port(std::uint16_t port) { port_ = port; }

 private:
  bool launch();
  void wait_exit();

  std::string name_;
  std::filesystem::path store_dir_;
  std::filesystem::path log_file_;
  bool own_store_ = false;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
  std::string cluster_name_;
  std::uint16_t cluster_port_ = 0;
  std::vector<std::string> routes_;
};

// Three JetStream servers routed to each other on loopback (cluster "fg", servers fg-n0..fg-n2).
class NatsCluster {
 public:
  explicit NatsCluster(int nodes = 3);
  // Starts every node and waits until JetStream has a meta leader (a stream can be created).
  bool start();
  NatsServer& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  std::vector<std::string> urls() const;
  void kill(int i) { node(i).kill(); }
  bool restart(int i) { return node(i).start(); }
  const std::string& error() const { return error_; }

 private:
  std::vector<std::unique_ptr<NatsServer>> nodes_;
  std::string error_;
};

// A free loopback TCP port (bound and released: the caller retries if someone takes it meanwhile).
std::uint16_t free_port();

// JetStream administration for tests, through libnats. Each retries until `timeout` (a cluster may
// be electing), and returns an empty string on success, else what failed.
std::string wait_jetstream_ready(const std::vector<std::string>& servers, std::chrono::milliseconds timeout);
struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 1;
  bool file_storage = true;
  std::int64_t max_msg_size = -1;
  std::chrono::seconds duplicate_window{120};
  bool work_queue = false;  // retention: an ack removes the message
};
std::string create_stream(const std::vector<std::string>& servers, const StreamSpec& spec,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));
// The stream's message count, or -1 (and `error`) when it cannot be read.
std::int64_t stream_message_count(const std::vector<std::string>& servers, const std::string& stream,
                                  std::string* error = nullptr);

// The server name of the stream's leader in a cluster ("" when unknown).
std::string stream_leader(const std::vector<std::string>& servers, const std::string& stream);

}  // namespace flowguard::test

// Catch2 v2 has no SKIP: a test without the server says why and returns (used in a TEST_CASE body).
#define FLOWGUARD_SKIP_WITHOUT_NATS_SERVER()                                 \
  do {                                                                       \
    if (!::flowguard::test::nats_server_available()) {                       \
      WARN("skipped: " << ::flowguard::test::nats_server_missing_message()); \
      return;                                                                \
    }                                                                        \
  } while (false)
