#include "server_process.hpp"

#include <regex>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace flowguard::test {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;

fs::path flowguard_exe() { return fs::path(FLOWGUARD_BINARY_DIR) / "bin/flowguard"; }

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("flowguard-server-tests-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

HttpClient::HttpClient(std::uint16_t port) : port_(port) {}

void HttpClient::close() {
  if (stream_) {
    beast::error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
  }
  stream_.reset();
  buffer_.clear();
}

HttpReply HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpReply reply;
  beast::error_code ec;
  if (!stream_) {
    stream_.emplace(ioc_);
    stream_->expires_after(std::chrono::seconds(30));
    stream_->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    if (ec) {
      reply.error = "connect: " + ec.message();
      stream_.reset();
      return reply;
    }
  }
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));  // with the port, as browsers send it
  req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  stream_->expires_after(std::chrono::seconds(30));
  http::write(*stream_, req, ec);
  if (ec) {
    reply.error = "write: " + ec.message();
    close();
    return reply;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);
  http::read(*stream_, buffer_, parser, ec);
  if (ec) {
    reply.error = "read: " + ec.message();
    close();
    return reply;
  }
  auto res = parser.release();
  reply.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = std::string(field.value());
  }
  reply.body = std::move(res.body());
  if (!res.keep_alive()) close();
  return reply;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait,
                         std::chrono::milliseconds pause_before_close) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "connect: " + ec.message();
  net::write(stream.socket(), net::buffer(bytes), ec);
  if (pause_before_close.count()) std::this_thread::sleep_for(pause_before_close);
  std::string out;
  stream.expires_after(wait);
  char buf[4096];
  for (;;) {
    const std::size_t n = stream.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  if (ec == beast::error::timeout) out += "\n<timeout>";
  return out;
}

ServerProcess::ServerProcess(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env) {
  static int counter = 0;
  log_file_ = fs::temp_directory_path() / ("flowguard-serve-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log");
  int out_pipe[2];
  if (::pipe(out_pipe) != 0) return;
  args.insert(args.begin(), {flowguard_exe().string(), "serve"});
  if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
    args.emplace_back("--listen");
    args.emplace_back("127.0.0.1:0");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out_pipe[1], 1);
    const int err = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) ::dup2(err, 2);
    ::close(out_pipe[0]);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  // The first line on stdout names the port; give up after 20 s.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  ::fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  while (std::chrono::steady_clock::now() < deadline && line.find('\n') == std::string::npos) {
    char c[256];
    const ssize_t n = ::read(out_pipe[0], c, sizeof c);
    if (n > 0) line.append(c, static_cast<std::size_t>(n));
    else if (n == 0) break;
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(out_pipe[0]);
  const auto colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) return;
  port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
  ready_ = eventually(
      [&] {
        HttpClient c(port_);
        return c.request("GET", "/readyz").status == 200;
      },
      std::chrono::seconds(30));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int raw = 0;
    ::waitpid(pid_, &raw, 0);
  }
  std::error_code ec;
  fs::remove(log_file_, ec);
}

void ServerProcess::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

int ServerProcess::wait(std::chrono::milliseconds timeout) {
  if (status_) return *status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
      status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
      return *status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string ServerProcess::log() const { return slurp(log_file_); }

std::size_t json_files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") ++n;
  return n;
}

std::string envelope(const std::string& message) { return "[{\"payload\":" + message + "}]"; }

std::string dip_message(const std::string& variant_dir, const char* which) {
  return slurp(std::filesystem::path(FLOWGUARD_SOURCE_DIR) / "tests/corpus/dip" / variant_dir / which);
}

std::string with_reference(const std::string& message, const std::string& suffix) {
  static const std::regex reference("(\"senderUniqueReference\"\\s*:\\s*\"[^\"]*-)[0-9A-Za-z]+\"");
  return std::regex_replace(message, reference, "$1" + suffix + "\"", std::regex_constants::format_first_only);
}

}  // namespace flowguard::test
