// The file sink: JSON lines appended, fsync'd before deliver() returns, rotated by size and age.
//
// A line is counted delivered only once it and every byte before it are fsync'd. The sink keeps
// the size the file had after its last good fsync (`good_size_`): a write or fsync that fails may
// leave part of a line behind, so the file is truncated back to that size before anything else is
// written (at once, and again on the next call if that failed too). A half line left by a crash is
// cut off when the file is opened.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "durable_file.hpp"
#include "flowguard/sinks/sinks.hpp"
#include "record.hpp"

namespace flowguard::sinks {
namespace {

namespace fs = std::filesystem;
using detail::Fd;

class FileSink final : public Sink {
 public:
  FileSink(std::string name, const FileOptions& options) : name_(std::move(name)), options_(options) {}

  const std::string& name() const override { return name_; }
  std::string_view kind() const override { return "file"; }
  std::size_t max_batch() const override { return options_.max_batch == 0 ? 1 : options_.max_batch; }

  Status open() {
    // Read access too, to find a half line at the end; a file we may only write is still used.
    Fd fd(::open(options_.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd && errno == EACCES) fd = Fd(::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd)
      return make_error(ErrorCode::kIo,
                        detail::errno_text("the file sink " + name_ + " cannot open", options_.path, errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      return make_error(ErrorCode::kIo,
                        detail::errno_text("the file sink " + name_ + " cannot stat", options_.path, errno));
    std::uint64_t size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
    if (size > 0) size = cut_partial_line(fd.get(), size);
    if (auto s = detail::fsync_directory(options_.path.parent_path()); !s.ok()) return s;
    fd_ = std::move(fd);
    regular_ = S_ISREG(st.st_mode);
    good_size_ = size;
    dirty_ = false;
    // Age counts from the file's birth when the file system knows it (a restart must not reset
    // the clock of a file that is already old), else from now.
    opened_ = birth_time().value_or(std::chrono::system_clock::now());
    return Ok{};
  }

  std::vector<DeliveryResult> deliver(std::span<const Delivery> batch) override {
    std::vector<DeliveryResult> results(batch.size());
    std::size_t done = 0;  // messages before this index are delivered
    auto fail_rest = [&](const std::string& why) {
      for (std::size_t i = done; i < batch.size(); ++i) results[i] = {Outcome::kRetry, why, std::nullopt};
      return results;
    };
    if (auto s = repair(); !s.ok()) return fail_rest(s.error().message);

    std::string pending;  // lines for the current file, not yet written
    std::size_t pending_from = done;
    auto commit = [&](std::size_t upto) -> Status {
      if (!pending.empty()) {
        dirty_ = true;
        if (auto s = detail::write_all(fd_.get(), pending, options_.path); !s.ok()) return s;
        if (auto s = detail::fsync_fd(fd_.get(), options_.path); !s.ok()) return s;
        good_size_ += pending.size();
        dirty_ = false;
      }
      for (std::size_t i = pending_from; i < upto; ++i) results[i] = {Outcome::kDelivered, {}, std::nullopt};
      done = upto;
      pending.clear();
      pending_from = upto;
      return Ok{};
    };
    auto failed = [&](const Status& s) {
      (void)repair();  // best effort now; deliver() tries again before its next write
      return fail_rest(s.error().message);
    };

    if (due_by_age()) {
      if (auto s = rotate(); !s.ok()) return failed(s);
    }
    std::string line;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      line.clear();
      detail::append_record(line, batch[i]);
      line += '\n';
      const std::uint64_t size_then = good_size_ + pending.size();
      if (options_.rotate_bytes > 0 && regular_ && size_then > 0 && size_then + line.size() > options_.rotate_bytes) {
        if (auto s = commit(i); !s.ok()) return failed(s);
        if (auto s = rotate(); !s.ok()) return failed(s);
      }
      pending += line;
    }
    if (auto s = commit(batch.size()); !s.ok()) return failed(s);
    return results;
  }

 private:
  // Truncates a partial write back to the last fsync'd size.
  Status repair() {
    if (!fd_) {
      if (auto s = open(); !s.ok()) return s;
    }
    if (!dirty_) return Ok{};
    if (regular_ && ::ftruncate(fd_.get(), static_cast<off_t>(good_size_)) != 0)
      return make_error(ErrorCode::kIo, detail::errno_text("cannot truncate a partial write in", options_.path, errno));
    dirty_ = false;
    return Ok{};
  }

  bool due_by_age() const {
    return options_.rotate_every.count() > 0 && regular_ && good_size_ > 0 &&
           std::chrono::system_clock::now() - opened_ >= options_.rotate_every;
  }

  // `<path>.<UTC stamp>[.n]`: the current file renamed aside (a name not yet taken), the
  // directory fsync'd, then a fresh file opened at `path`.
  Status rotate() {
    if (auto s = detail::fsync_fd(fd_.get(), options_.path); !s.ok()) return s;
    const std::string base = options_.path.string() + "." + detail::utc_stamp(std::chrono::system_clock::now());
    std::string target = base;
    std::error_code ec;
    for (int n = 1; fs::exists(target, ec) || ec; ++n) {
      if (ec) return make_error(ErrorCode::kIo, "cannot check " + target + ": " + ec.message());
      target = base + "." + std::to_string(n);
    }
    if (::rename(options_.path.c_str(), target.c_str()) != 0)
      return make_error(ErrorCode::kIo,
                        detail::errno_text("cannot rotate", options_.path, errno) + " (to " + target + ")");
    fd_.reset();
    if (auto s = detail::fsync_directory(options_.path.parent_path()); !s.ok()) return s;
    return open();
  }

  // The size to keep: up to and including the last '\n'. A file it cannot read or truncate is
  // kept as it is (a device, a file opened write-only), and so is one with no '\n' in its last
  // 16 MiB: no record is that long, so that is not a half record of ours.
  static std::uint64_t cut_partial_line(int fd, std::uint64_t size) {
    constexpr std::uint64_t kMaxTail = 16ull << 20;
    char buf[4096];
    std::uint64_t end = size;
    while (end > 0) {
      if (size - end >= kMaxTail) return size;
      const std::uint64_t n = end < sizeof buf ? end : sizeof buf;
      const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(end - n));
      if (got != static_cast<ssize_t>(n)) return size;
      for (std::uint64_t i = n; i > 0; --i) {
        if (buf[i - 1] == '\n') {
          const std::uint64_t keep = end - n + i;
          if (keep != size && ::ftruncate(fd, static_cast<off_t>(keep)) != 0) return size;
          return keep;
        }
      }
      end -= n;
    }
    return ::ftruncate(fd, 0) == 0 ? 0 : size;
  }

  std::optional<std::chrono::system_clock::time_point> birth_time() const {
    struct statx sx {};
    if (::statx(fd_.get(), "", AT_EMPTY_PATH, STATX_BTIME, &sx) != 0 || !(sx.stx_mask & STATX_BTIME))
      return std::nullopt;
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(sx.stx_btime.tv_sec) + std::chrono::nanoseconds(sx.stx_btime.tv_nsec)));
  }

  std::string name_;
  FileOptions options_;
  Fd fd_;
  bool regular_ = true;
  std::uint64_t good_size_ = 0;
  bool dirty_ = false;
  std::chrono::system_clock::time_point opened_{};
};

}  // namespace

Result<std::unique_ptr<Sink>> make_file_sink(std::string name, const FileOptions& options) {
  if (options.path.empty()) return make_error(ErrorCode::kUsage, "the file sink " + name + " has no path.");
  if (auto s = detail::ensure_directory(options.path.parent_path()); !s.ok())
    return make_error(ErrorCode::kIo, "the file sink " + name + ": " + s.error().message);
  auto sink = std::make_unique<FileSink>(std::move(name), options);
  if (auto s = sink->open(); !s.ok()) return std::move(s).error();
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace flowguard::sinks
