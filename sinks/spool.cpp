// The spool sink: files in a directory a reader polls. Each is written as `.tmp-<name>`, fsync'd
// and renamed to `<name>.json`; the directory is fsync'd once a batch, before deliver() returns.
// A reader that skips dot files (or reads only `*.json`) never sees half a file.
//
// One message a file: `<id>.json`, the message's record (record.hpp); a re-delivered message
// replaces its own file. One batch a file: `<UTC stamp>-<seq>-<first id>.json`, a JSON array of
// records, linked into place only under a name not yet taken, so no earlier batch is overwritten.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "durable_file.hpp"
#include "flowguard/sinks/sinks.hpp"
#include "record.hpp"

namespace flowguard::sinks {
namespace {

namespace fs = std::filesystem;
using detail::Fd;

constexpr std::string_view kTempPrefix = ".tmp-";

// A file name for any id: [A-Za-z0-9_-] and inner '.' kept, every other byte %XX (so two ids
// never share a name, and none starts with '.'); a very long id is cut and tagged with a hash
// of the whole, to stay within NAME_MAX with the prefix and suffix.
std::string safe_name(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  if (id.empty()) return "%";  // '%' alone is never an encoding of anything
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || (c == '.' && i > 0);
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  constexpr std::size_t kMax = 200;
  if (out.size() > kMax) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a of the id
    for (const char c : id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    std::string tag = "~";
    for (int shift = 60; shift >= 0; shift -= 4) tag += kHex[(h >> shift) & 15];
    out.resize(kMax - tag.size());
    out += tag;
  }
  return out;
}

class SpoolSink final : public Sink {
 public:
  SpoolSink(std::string name, const SpoolOptions& options) : name_(std::move(name)), options_(options) {}

  const std::string& name() const override { return name_; }
  std::string_view kind() const override { return "spool"; }
  // Per file or not, a batch shares one directory fsync.
  std::size_t max_batch() const override { return options_.max_batch == 0 ? 1 : options_.max_batch; }

  // Leftovers of a crash (temporary files never renamed) are removed; then a probe file proves
  // the directory is writable now rather than at the first delivery.
  Status start() {
    if (auto s = detail::ensure_directory(options_.directory); !s.ok()) return s;
    std::error_code ec;
    for (fs::directory_iterator it(options_.directory, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().starts_with(kTempPrefix)) fs::remove(it->path(), ec);
    }
    const fs::path probe = options_.directory / (std::string(kTempPrefix) + "probe-" + std::to_string(::getpid()));
    Fd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd)
      return make_error(ErrorCode::kIo, detail::errno_text("cannot create a file in", options_.directory, errno));
    fd.reset();
    ::unlink(probe.c_str());
    return Ok{};
  }

  std::vector<DeliveryResult> deliver(std::span<const Delivery> batch) override {
    std::vector<DeliveryResult> results(batch.size());
    std::vector<bool> written(batch.size(), false);
    if (options_.batch_per_file) {
      std::string text = "[";
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i > 0) text += ',';
        detail::append_record(text, batch[i]);
      }
      text += "]\n";
      const std::string first = batch.empty() ? std::string("empty") : safe_name(batch.front().id);
      Status s = put(text, first, /*replace=*/false);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        written[i] = s.ok();
        if (!s.ok()) results[i] = {Outcome::kRetry, s.error().message, std::nullopt};
      }
    } else {
      std::string text;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        text.clear();
        detail::append_record(text, batch[i]);
        text += '\n';
        Status s = put(text, safe_name(batch[i].id), /*replace=*/true);
        written[i] = s.ok();
        if (!s.ok()) results[i] = {Outcome::kRetry, s.error().message, std::nullopt};
      }
    }
    // Nothing is delivered until the directory's new names are durable.
    const Status synced = detail::fsync_directory(options_.directory);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!written[i]) continue;
      results[i] = synced.ok() ? DeliveryResult{Outcome::kDelivered, {}, std::nullopt}
                               : DeliveryResult{Outcome::kRetry, synced.error().message, std::nullopt};
    }
    return results;
  }

 private:
  Status put(std::string_view text, const std::string& name, bool replace) {
    const fs::path temp = options_.directory / (std::string(kTempPrefix) + name);
    auto fail = [&](Status s) {
      ::unlink(temp.c_str());
      return s;
    };
    {
      Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!fd) return make_error(ErrorCode::kIo, detail::errno_text("cannot create", temp, errno));
      if (auto s = detail::write_all(fd.get(), text, temp); !s.ok()) return fail(s);
      if (auto s = detail::fsync_fd(fd.get(), temp); !s.ok()) return fail(s);
    }
    if (replace) {
      const fs::path target = options_.directory / (name + ".json");
      if (::rename(temp.c_str(), target.c_str()) != 0)
        return fail(make_error(ErrorCode::kIo, detail::errno_text("cannot rename into place", target, errno)));
      return Ok{};
    }
    // A batch file: link() fails on a name already taken, where rename() would replace it.
    const std::string stamp = detail::utc_stamp(std::chrono::system_clock::now());
    for (int attempt = 0; attempt < 1000; ++attempt) {
      char seq[24];
      std::snprintf(seq, sizeof seq, "%08llu", static_cast<unsigned long long>(++sequence_));  // names sort in order
      const fs::path target = options_.directory / (stamp + "-" + seq + "-" + name + ".json");
      if (::link(temp.c_str(), target.c_str()) == 0) {
        ::unlink(temp.c_str());
        return Ok{};
      }
      if (errno != EEXIST)
        return fail(make_error(ErrorCode::kIo, detail::errno_text("cannot link into place", target, errno)));
    }
    return fail(make_error(ErrorCode::kIo, "no free batch file name in " + options_.directory.string() + "."));
  }

  std::string name_;
  SpoolOptions options_;
  std::uint64_t sequence_ = 0;
};

}  // namespace

Result<std::unique_ptr<Sink>> make_spool_sink(std::string name, const SpoolOptions& options) {
  if (options.directory.empty()) return make_error(ErrorCode::kUsage, "the spool sink " + name + " has no directory.");
  auto sink = std::make_unique<SpoolSink>(name, options);
  if (auto s = sink->start(); !s.ok())
    return make_error(ErrorCode::kIo, "the spool sink " + name + ": " + s.error().message);
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace flowguard::sinks
