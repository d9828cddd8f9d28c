// Describing plugins in a child process. A plugin's constructors and entry point are arbitrary code:
// one that segfaults, loops or calls exit() while loading would take the whole process with it (and
// exit(0) would turn a failing check into a passing one). The child opens every plugin in turn,
// calls its entry point and sends the copied descriptor back over a pipe; this process never opens
// the plugin itself. When the child dies or stops answering, the plugin it was on is named with the
// fault and a new child carries on with the rest: one child in all unless a plugin kills it.
//
// Wire format, child to parent: frames of [tag u8][index u32][length u32][payload]. 'B' = began
// file #index; 'D' = its description; 'R' = its refusal (payload: the message); 'E' = all done.
// Integers in host order (same machine, same build). The child is the plugin's process, so what it
// sends is read with bounds checks: a malformed frame is that plugin's fault.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "plugin_host.hpp"

namespace flowguard::engine {
namespace fs = std::filesystem;

namespace {

// --- encoding -------------------------------------------------------------------------------------

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

std::string encode(const PluginDescription& d) {
  std::string out;
  put_str(out, d.name);
  put_str(out, d.version);
  put_str(out, d.description);
  put_u32(out, static_cast<std::uint32_t>(d.types.size()));
  for (const TypeEntry& t : d.types) {
    for (const std::string* s : {&t.name, &t.title, &t.plugin, &t.schema, &t.rule_set, &t.records_pointer,
                                 &t.record_schema, &t.spec, &t.schema_error_code, &t.unknown_variant_code})
      put_str(out, *s);
    put_u32(out, t.case_insensitive_keys ? 1 : 0);
    put_u32(out, static_cast<std::uint32_t>(t.shape));
    put_u32(out, static_cast<std::uint32_t>(t.matches.size()));
    for (const auto& m : t.matches) {
      put_str(out, m.pointer);
      put_str(out, m.equals);
    }
    put_u32(out, static_cast<std::uint32_t>(t.key_hints.size()));
    for (const auto& k : t.key_hints) put_str(out, k);
  }
  return out;
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u32(std::uint32_t& v) {
    if (in_.size() < sizeof v) return fail();
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return true;
  }
  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!u32(n) || in_.size() < n) return fail();
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count of items each at least `min_bytes` long: bounded by what is left, so a bad count
  // cannot make the reader reserve or loop without end.
  bool count(std::uint32_t& n, std::size_t min_bytes) { return u32(n) && (n <= in_.size() / min_bytes || fail()); }
  bool done() const { return ok_ && in_.empty(); }

 private:
  bool fail() { return ok_ = false; }
  std::string_view in_;
  bool ok_ = true;
};

std::optional<PluginDescription> decode(std::string_view bytes) {
  Reader r(bytes);
  PluginDescription d;
  std::uint32_t types = 0;
  if (!r.str(d.name) || !r.str(d.version) || !r.str(d.description) || !r.count(types, 4)) return std::nullopt;
  for (std::uint32_t i = 0; i < types; ++i) {
    TypeEntry t;
    std::uint32_t flag = 0, shape = 0, matches = 0, hints = 0;
    for (std::string* s : {&t.name, &t.title, &t.plugin, &t.schema, &t.rule_set, &t.records_pointer, &t.record_schema,
                           &t.spec, &t.schema_error_code, &t.unknown_variant_code})
      if (!r.str(*s)) return std::nullopt;
    if (!r.u32(flag) || !r.u32(shape) || shape > FG_SHAPE_MESSAGE || !r.count(matches, 8)) return std::nullopt;
    t.case_insensitive_keys = flag != 0;
    t.shape = static_cast<fg_shape>(shape);
    for (std::uint32_t m = 0; m < matches; ++m) {
      Discriminator dm;
      if (!r.str(dm.pointer) || !r.str(dm.equals)) return std::nullopt;
      t.matches.push_back(std::move(dm));
    }
    if (!r.count(hints, 4)) return std::nullopt;
    for (std::uint32_t k = 0; k < hints; ++k)
      if (!r.str(t.key_hints.emplace_back())) return std::nullopt;
    d.types.push_back(std::move(t));
  }
  if (!r.done()) return std::nullopt;
  return d;
}

// --- the child ------------------------------------------------------------------------------------

bool write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool send(int fd, char tag, std::uint32_t index, const std::string& payload) {
  std::string frame(1, tag);
  put_u32(frame, index);
  put_u32(frame, static_cast<std::uint32_t>(payload.size()));
  frame += payload;
  return write_all(fd, frame);
}

[[noreturn]] void run_child(int fd, const std::vector<fs::path>& files, std::size_t from) {
  // Die with the parent; keep plugin chatter off stdout (the parent's report may be there), and
  // keep the plugin's hands off stdin (the document `check -` is about to read).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  if (const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC); null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  // The default action for every signal: a crash handler of the parent's (a test framework's, a
  // server's) must not run for a plugin's fault, and the fault must reach the parent as a signal.
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const rlimit no_core{0, 0};  // a crashing plugin is reported, not dumped
  ::setrlimit(RLIMIT_CORE, &no_core);
  // Hold no other descriptor: not the process's sockets, not the pipe of a probe another thread is
  // running at the same time (its reader would wait for this child too).
  if (fd != 3) {
    ::dup2(fd, 3);
    fd = 3;
  }
  ::close_range(4, ~0u, 0);
  for (std::size_t i = from; i < files.size(); ++i) {
    const auto index = static_cast<std::uint32_t>(i);
    if (!send(fd, 'B', index, {})) ::_exit(0);
    bool sent = false;
    try {
      auto described = describe_plugin(files[i]);
      sent = described ? send(fd, 'D', index, encode(described.value()))
                       : send(fd, 'R', index, described.error().message);
    } catch (const std::exception& e) {  // bad_alloc copying a huge descriptor: that plugin's refusal
      sent = send(fd, 'R', index, "plugin " + files[i].string() + " refused: describing it failed: " + e.what());
    }
    if (!sent) ::_exit(0);
  }
  send(fd, 'E', static_cast<std::uint32_t>(files.size()), {});
  // _exit: no atexit handlers or static destructors of the parent's (or the plugins') in the child.
  ::_exit(0);
}

// --- the parent -----------------------------------------------------------------------------------

std::string fault_of(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    return "it crashed the process loading it with signal " + (abbrev ? "SIG" + std::string(abbrev) : std::to_string(sig)) +
           " (" + ::strsignal(sig) + ")";
  }
  if (WIFEXITED(status))
    return "it ended the process loading it with exit status " + std::to_string(WEXITSTATUS(status)) +
           " (a plugin must not call exit)";
  return "it stopped the process loading it (wait status " + std::to_string(status) + ")";
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

// The child's wait status; past `deadline` it is killed first (`killed` says so). -1: unknown.
int wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline, bool& killed) {
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) break;
    ::usleep(1000);
  }
  killed = true;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

}  // namespace

Result<std::vector<ProbeOutcome>> probe_plugins(const std::vector<fs::path>& files, std::chrono::milliseconds timeout) {
  std::vector<ProbeOutcome> outcomes(files.size());
  std::vector<bool> answered(files.size(), false);
  std::size_t next = 0;
  auto refused = [&](std::size_t i, const std::string& why) {
    outcomes[i].refusal = "plugin " + files[i].string() + " refused: " + why;
    answered[i] = true;
  };

  while (next < files.size()) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return make_error(ErrorCode::kPlugin, std::string("cannot create a pipe to describe the plugins in a child process: ") +
                                                std::strerror(errno));
    std::fflush(nullptr);  // a plugin calling exit() in the child would flush our buffers a second time
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      return make_error(ErrorCode::kPlugin,
                        std::string("cannot start a child process to describe the plugins: ") + std::strerror(err));
    }
    if (pid == 0) {
      ::close(fds[0]);
      run_child(fds[1], files, next);
    }
    ::close(fds[1]);

    std::string buffer;
    std::optional<std::size_t> current;  // began, not yet answered
    bool timed_out = false, finished = false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      // Parse complete frames.
      std::size_t at = 0;
      while (buffer.size() - at >= 9) {
        const char tag = buffer[at];
        std::uint32_t index = 0, length = 0;
        std::memcpy(&index, buffer.data() + at + 1, 4);
        std::memcpy(&length, buffer.data() + at + 5, 4);
        if (buffer.size() - at - 9 < length) break;
        const std::string_view payload(buffer.data() + at + 9, length);
        at += 9 + length;
        if (tag == 'E') finished = std::all_of(answered.begin() + static_cast<std::ptrdiff_t>(next), answered.end(),
                                               [](bool a) { return a; });  // else a forgery: read on
        if (index >= files.size() || index < next) continue;  // not ours to believe
        if (tag == 'B') {
          current = index;
          deadline = std::chrono::steady_clock::now() + timeout;
        } else if (tag == 'R' && !answered[index]) {
          outcomes[index].refusal.assign(payload);
          answered[index] = true;
          current.reset();
        } else if (tag == 'D' && !answered[index]) {
          if (auto d = decode(payload)) {
            outcomes[index].description = std::move(*d);
            answered[index] = true;
          } else {
            refused(index, "the description its probe process sent back is malformed");
          }
          current.reset();
        }
      }
      buffer.erase(0, at);
      if (finished) break;  // every file answered: no need to wait for the pipe's end

      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{fds[0], POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;  // the deadline is checked above
      char chunk[65536];
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the child is gone (or done)
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    // Every file answered: the child's status does not matter, and it must not keep us waiting.
    // Otherwise the pipe's end came with the child's death, or from a plugin that closed the pipe
    // and carries on: it has what is left of its time to die.
    if (timed_out || finished) ::kill(pid, SIGKILL);
    const int status = wait_until(pid, deadline, timed_out);

    // Where to go on: after the last answered file of this child.
    std::size_t resume = next;
    while (resume < files.size() && answered[resume]) ++resume;
    if (resume == files.size()) break;
    // The child stopped on file `resume` (it began it, or died before it could say so).
    const std::size_t culprit = current.value_or(resume);
    if (timed_out)
      refused(culprit, "it did not finish loading within " + seconds(timeout) +
                           " (its constructors or entry point hang), so its probe process was stopped");
    else if (status < 0)
      refused(culprit, "its probe process ended and its status could not be read");
    else
      refused(culprit, fault_of(status));
    next = culprit + 1;
    while (next < files.size() && answered[next]) ++next;
  }
  for (std::size_t i = 0; i < files.size(); ++i)
    if (!answered[i]) refused(i, "its probe process ended before describing it");
  return outcomes;
}

}  // namespace flowguard::engine
