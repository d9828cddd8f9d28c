#include "durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

namespace flowguard::sinks::detail {

std::string errno_text(std::string_view what, const std::filesystem::path& path, int err) {
  std::string out(what);
  out += ' ';
  out += path.string();
  out += ": ";
  out += std::strerror(err);
  return out;
}

Status write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::kIo, errno_text("cannot write to", path, errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

Status fsync_fd(int fd, const std::filesystem::path& path) {
  if (::fsync(fd) != 0) return make_error(ErrorCode::kIo, errno_text("cannot fsync", path, errno));
  return Ok{};
}

Status fsync_directory(const std::filesystem::path& directory) {
  const std::filesystem::path dir = directory.empty() ? std::filesystem::path(".") : directory;
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return make_error(ErrorCode::kIo, errno_text("cannot open the directory", dir, errno));
  // Some file systems cannot fsync a directory (EINVAL): nothing more can be done there.
  if (::fsync(fd.get()) != 0 && errno != EINVAL)
    return make_error(ErrorCode::kIo, errno_text("cannot fsync the directory", dir, errno));
  return Ok{};
}

Status ensure_directory(const std::filesystem::path& directory) {
  if (directory.empty()) return Ok{};
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create the directory " + directory.string() + ": " + ec.message());
  if (!std::filesystem::is_directory(directory, ec))
    return make_error(ErrorCode::kIo, directory.string() + " is not a directory.");
  return Ok{};
}

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() { reset(); }

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace flowguard::sinks::detail
