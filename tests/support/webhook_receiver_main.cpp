// fg-webhook-receiver: the test webhook receiver as its own process, for tests in which the
// receiver must outlive a flowguard process they kill. Every request body is appended to --out as
// one line (a JSON body's line breaks become spaces) and fsync'd before the request is answered,
// so a line in the file is a request the sender may have seen answered.
//
//   fg-webhook-receiver [--port N] [--status CODE] [--retry-after VALUE] [--out FILE]
//
// Prints "listening on 127.0.0.1:PORT" once it listens; runs until SIGTERM or SIGINT.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>

#include "webhook_receiver.hpp"

namespace {

int usage(const char* why) {
  std::cerr << "fg-webhook-receiver: " << why
            << "\nusage: fg-webhook-receiver [--port N] [--status CODE] [--retry-after VALUE] [--out FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using flowguard::test::Reply;
  flowguard::test::ReceiverOptions options;
  unsigned status = 201;
  std::string retry_after;
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("missing the value of " + arg).c_str());
    const std::string value = argv[++i];
    char* end = nullptr;
    if (arg == "--port") {
      const unsigned long port = std::strtoul(value.c_str(), &end, 10);
      if (*end || port > 65535) return usage("--port takes a number from 0 to 65535");
      options.port = static_cast<std::uint16_t>(port);
    } else if (arg == "--status") {
      status = static_cast<unsigned>(std::strtoul(value.c_str(), &end, 10));
      if (*end || status < 100 || status > 599) return usage("--status takes an HTTP status from 100 to 599");
    } else if (arg == "--retry-after") {
      retry_after = value;
    } else if (arg == "--out") {
      out_path = value;
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  options.reply = retry_after.empty() ? Reply::answer(status) : Reply::retry_after(status, retry_after);

  int out_fd = -1;
  if (!out_path.empty()) {
    out_fd = ::open(out_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      std::cerr << "fg-webhook-receiver: cannot open " << out_path << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    options.on_request = [out_fd](const flowguard::test::ReceivedRequest& request) {
      std::string line = request.body;
      for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
      line += '\n';
      std::string_view rest = line;
      while (!rest.empty()) {
        const ssize_t n = ::write(out_fd, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          std::cerr << "fg-webhook-receiver: cannot write the request body: " << std::strerror(errno) << "\n";
          std::_Exit(1);  // never answer a request that was not recorded
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
      if (::fsync(out_fd) != 0) {
        std::cerr << "fg-webhook-receiver: cannot fsync: " << std::strerror(errno) << "\n";
        std::_Exit(1);
      }
    };
  }

  // Block the signals before the receiver's thread starts, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto receiver = flowguard::test::WebhookReceiver::start(std::move(options));
  if (!receiver.ok()) {
    std::cerr << "fg-webhook-receiver: " << receiver.error().message << "\n";
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << (*receiver)->port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  (*receiver)->stop();
  if (out_fd >= 0) ::close(out_fd);
  return 0;
}
