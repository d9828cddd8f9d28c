// What the file-writing sinks share: writes that survive a crash once they return (write all,
// fsync the file, fsync the directory that names it), errors as sentences with errno's text.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "flowguard/result.hpp"

namespace flowguard::sinks::detail {

// "<what> <path>: <strerror(err)>", the shape of every I/O error the sinks report.
std::string errno_text(std::string_view what, const std::filesystem::path& path, int err);

// write() until every byte is written (EINTR retried); on failure, errno's value.
Status write_all(int fd, std::string_view bytes, const std::filesystem::path& path);
Status fsync_fd(int fd, const std::filesystem::path& path);
// A rename or a new file is durable only once the directory holding it is fsync'd.
Status fsync_directory(const std::filesystem::path& directory);
// The directory, created (with its parents) when missing; an error when it cannot be.
Status ensure_directory(const std::filesystem::path& directory);

// UTC "yyyymmddThhmmssZ".
std::string utc_stamp(std::chrono::system_clock::time_point t);

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

}  // namespace flowguard::sinks::detail
