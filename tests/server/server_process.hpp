// The real `flowguard serve`, started as a child process on an ephemeral loopback port, and a
// small HTTP/1.1 client (Boost.Beast, blocking) to talk to it. No mocks: what the tests see is
// what a sidecar's client sees.
#pragma once

#include <sys/types.h>

#include <utility>  // Boost 1.74 asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flowguard::test {

struct HttpReply {
  unsigned status = 0;  // 0: no answer (connection closed or failed)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string error;    // why there was no answer
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  // One request on the client's connection (opened on first use, reopened after a close).
  HttpReply request(const std::string& method, const std::string& target, const std::string& body = {},
                    const std::vector<std::pair<std::string, std::string>>& headers = {});
  bool connected() const { return stream_.has_value(); }
  void close();

 private:
  std::uint16_t port_;
  boost::asio::io_context ioc_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

// Raw bytes over a fresh connection, then whatever comes back until the server closes or the
// timeout passes (for malformed and slow requests).
std::string raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait,
                         std::chrono::milliseconds pause_before_close = std::chrono::milliseconds(0));

class ServerProcess {
 public:
  // Starts `flowguard serve ARGS… --listen 127.0.0.1:0`, waits for its "listening" line and for
  // /readyz to say ready (or the process to exit). `env` is added to the child's environment.
  explicit ServerProcess(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {});
  ~ServerProcess();

  bool ready() const { return port_ != 0 && ready_; }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends a signal; wait() then returns the exit status (or -1 if killed / not exited within timeout).
  void signal(int sig);
  int wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));
  std::string log() const;  // its stderr so far

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool ready_ = false;
  std::optional<int> status_;
  std::filesystem::path log_file_;
};

std::filesystem::path flowguard_exe();
std::filesystem::path scratch_dir(const std::string& name);  // a fresh folder under the temp dir
std::string slurp(const std::filesystem::path& file);
void write_file(const std::filesystem::path& file, const std::string& text);
// DIP test messages: a variant's corpus message, wrapped as a DIPMessageArray, and the same with
// the tail of its senderUniqueReference replaced (so sending it again is not MSG1006).
std::string dip_message(const std::string& variant_dir, const char* which = "valid.json");
std::string envelope(const std::string& message);
std::string with_reference(const std::string& message, const std::string& suffix);
// The *.json files directly in `dir` (a spool sink's messages; its .tmp-* files are not counted).
std::size_t json_files_in(const std::filesystem::path& dir);
// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace flowguard::test
