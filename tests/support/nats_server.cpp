#include "nats_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace flowguard::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Debian's package installs /usr/sbin/nats-server; other installs put it in /usr/bin or on PATH.
// FLOWGUARD_NATS_SERVER names another binary.
fs::path nats_server_exe() {
  if (const char* env = std::getenv("FLOWGUARD_NATS_SERVER"); env != nullptr && *env) return env;
  std::vector<fs::path> candidates = {"/usr/sbin/nats-server", "/usr/bin/nats-server"};
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) candidates.push_back(fs::path(std::string(dir)) / "nats-server");
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return "/usr/sbin/nats-server";
}

bool nats_server_available() { return ::access(nats_server_exe().c_str(), X_OK) == 0; }

std::string nats_server_missing_message() {
  return "nats-server is not installed (Debian package nats-server; looked in /usr/sbin, /usr/bin, PATH and "
         "$FLOWGUARD_NATS_SERVER): the JetStream integration tests need it.";
}

namespace {

fs::path fresh_temp_dir(const std::string& what) {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::temp_directory_path() /
                       ("flowguard-nats-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + what);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// True once something on the port answers with a NATS INFO line.
bool answers_info(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[5] = {};
    ok = ::recv(fd, buf, 4, MSG_WAITALL) == 4 && std::string(buf, 4) == "INFO";
  }
  ::close(fd);
  return ok;
}

std::string nats_text(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  std::string text = natsStatus_GetText(s);
  if (detail != nullptr && *detail && last == s) text += std::string(" (") + detail + ")";
  return text;
}

// A short-lived connection and JetStream context for one admin call.
struct Admin {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::string error;
  explicit Admin(const std::vector<std::string>& servers) {
    natsOptions* opts = nullptr;
    natsOptions_Create(&opts);
    std::vector<const char*> urls;
    for (const auto& s : servers) urls.push_back(s.c_str());
    natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
    natsOptions_SetTimeout(opts, 1000);
    natsOptions_SetMaxReconnect(opts, 0);
    natsStatus s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (s == NATS_OK) {
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Wait = 2000;
      s = natsConnection_JetStream(&js, nc, &jo);
    }
    if (s != NATS_OK) error = "connect: " + nats_text(s);
  }
  ~Admin() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
};

}  // namespace

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

NatsServer::NatsServer(std::string name, fs::path store_dir)
    : name_(std::move(name)), store_dir_(std::move(store_dir)) {
  if (store_dir_.empty()) {
    store_dir_ = fresh_temp_dir(name_);
    own_store_ = true;
  }
  log_file_ = store_dir_.parent_path() / (store_dir_.filename().string() + ".log");
}

NatsServer::~NatsServer() {
  kill();
  std::error_code ec;
  if (own_store_) fs::remove_all(store_dir_, ec);
  fs::remove(log_file_, ec);
}

void NatsServer::set_cluster(std::string cluster_name, std::uint16_t cluster_port, std::vector<std::string> routes) {
  cluster_name_ = std::move(cluster_name);
  cluster_port_ = cluster_port;
  routes_ = std::move(routes);
}

std::string NatsServer::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

std::string NatsServer::log() const {
  std::ifstream in(log_file_);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool NatsServer::start() {
  if (running()) return true;
  const bool fixed = port_ != 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!fixed) port_ = free_port();
    if (launch()) return true;
    // A port taken between free_port() and the server's bind: pick another. A fixed port (a
    // restart) is retried as is: the old process's socket may linger for a moment.
    if (log().find("address already in use") == std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

bool NatsServer::launch() {
  error_.clear();
  std::vector<std::string> args = {nats_server_exe().string(),
                                   "-js",
                                   "-a",
                                   "127.0.0.1",
                                   "-p",
                                   std::to_string(port_),
                                   "--server_name",
                                   name_,
                                   "-sd",
                                   store_dir_.string(),
                                   "-l",
                                   log_file_.string()};
  if (cluster_port_ != 0) {
    args.insert(args.end(),
                {"--cluster_name", cluster_name_, "--cluster", "nats://127.0.0.1:" + std::to_string(cluster_port_)});
    std::string routes;
    for (const auto& r : routes_) routes += (routes.empty() ? "" : ",") + r;
    if (!routes.empty()) args.insert(args.end(), {"--routes", routes});
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    error_ = "fork failed";
    pid_ = -1;
    return false;
  }
  if (pid_ == 0) {
    // The server must not outlive a test process that crashed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "nats-server exited at start: " + log();
      return false;
    }
    if (answers_info(port_)) return true;
    std::this_thread::sleep_for(50ms);
  }
  error_ = "nats-server did not accept connections on port " + std::to_string(port_) + " within 20 s: " + log();
  kill();
  return false;
}

void NatsServer::wait_exit() {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid_, SIGKILL);
  int raw = 0;
  ::waitpid(pid_, &raw, 0);
  pid_ = -1;
}

void NatsServer::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  wait_exit();
}

void NatsServer::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  wait_exit();
}

bool NatsServer::restart() {
  stop();
  return start();
}

NatsCluster::NatsCluster(int nodes) {
  for (int i = 0; i < nodes; ++i) nodes_.push_back(std::make_unique<NatsServer>("fg-n" + std::to_string(i)));
}

std::vector<std::string> NatsCluster::urls() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n->url());
  return out;
}

bool NatsCluster::start() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<std::uint16_t> client_ports, cluster_ports;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      client_ports.push_back(free_port());
      cluster_ports.push_back(free_port());
    }
    bool ok = true;
    for (std::size_t i = 0; i < nodes_.size() && ok; ++i) {
      std::vector<std::string> routes;
      for (std::size_t j = 0; j < nodes_.size(); ++j)
        if (j != i) routes.push_back("nats://127.0.0.1:" + std::to_string(cluster_ports[j]));
      nodes_[i]->set_port(client_ports[i]);
      nodes_[i]->set_cluster("fg", cluster_ports[i], routes);
      ok = nodes_[i]->start();
      if (!ok) error_ = nodes_[i]->error();
    }
    if (ok) {
      error_ = wait_jetstream_ready(urls(), 30s);
      if (error_.empty()) return true;
    }
    for (auto& n : nodes_) {
      n->kill();
      n->set_port(0);
    }
  }
  return false;
}

std::string wait_jetstream_ready(const std::vector<std::string>& servers, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  do {
    Admin admin(servers);
    if (admin.error.empty()) {
      jsAccountInfo* info = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      const natsStatus s = js_GetAccountInfo(&info, admin.js, nullptr, &jerr);
      jsAccountInfo_Destroy(info);
      if (s == NATS_OK) return {};
      last = "JetStream account info: " + nats_text(s);
    } else {
      last = admin.error;
    }
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return "JetStream not ready within " + std::to_string(timeout.count()) + " ms: " + last;
}

std::string create_stream(const std::vector<std::string>& servers, const StreamSpec& spec,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  do {
    Admin admin(servers);
    if (admin.error.empty()) {
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      cfg.Name = spec.name.c_str();
      std::vector<const char*> subjects;
      for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
      cfg.Subjects = subjects.data();
      cfg.SubjectsLen = static_cast<int>(subjects.size());
      cfg.Replicas = spec.replicas;
      cfg.Storage = spec.file_storage ? js_FileStorage : js_MemoryStorage;
      cfg.MaxMsgSize = static_cast<int32_t>(spec.max_msg_size);
      if (spec.work_queue) cfg.Retention = js_WorkQueuePolicy;
      cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(spec.duplicate_window).count();
      jsStreamInfo* info = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      const natsStatus s = js_AddStream(&info, admin.js, &cfg, nullptr, &jerr);
      jsStreamInfo_Destroy(info);
      if (s == NATS_OK) return {};
      last = "add stream " + spec.name + ": " + nats_text(s);
    } else {
      last = admin.error;
    }
    std::this_thread::sleep_for(250ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return last;
}

std::int64_t stream_message_count(const std::vector<std::string>& servers, const std::string& stream,
                                  std::string* error) {
  Admin admin(servers);
  if (!admin.error.empty()) {
    if (error) *error = admin.error;
    return -1;
  }
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&info, admin.js, stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    if (error) *error = "stream info " + stream + ": " + nats_text(s);
    return -1;
  }
  const auto count = static_cast<std::int64_t>(info->State.Msgs);
  jsStreamInfo_Destroy(info);
  return count;
}

std::string stream_leader(const std::vector<std::string>& servers, const std::string& stream) {
  Admin admin(servers);
  if (!admin.error.empty()) return {};
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, admin.js, stream.c_str(), nullptr, &jerr) != NATS_OK) return {};
  std::string leader = info->Cluster != nullptr && info->Cluster->Leader != nullptr ? info->Cluster->Leader : "";
  jsStreamInfo_Destroy(info);
  return leader;
}

}  // namespace flowguard::test
