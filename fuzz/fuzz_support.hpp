// What the fuzz targets share: the source folder, and a scratch file for loaders that read files.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace flowguard::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file of this process's own under the temp folder, rewritten for each input (loaders that take
// a path read it; several fuzzers may run at once, hence the pid).
inline std::filesystem::path scratch_file(std::string_view name, std::string_view bytes) {
  struct Dir {  // removed when the process exits
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("flowguard-fuzz-" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  const auto path = dir.path / std::string(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Choices drawn from the input's bytes, for targets that generate structured input (the schema
// target). Deterministic; past the end every choice is the smallest, so generation always ends.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t remaining() const { return size_ - at_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  bool flag() { return byte() & 1; }
  // A value in [low, high]; one byte for small ranges, four otherwise.
  int in_range(int low, int high) {
    const auto span = static_cast<std::uint64_t>(std::int64_t{high} - low) + 1;
    std::uint64_t raw = byte();
    if (span > 256) raw = raw << 24 | std::uint64_t{byte()} << 16 | std::uint64_t{byte()} << 8 | byte();
    return static_cast<int>(low + static_cast<std::int64_t>(raw % span));
  }
  template <typename T, std::size_t N>
  const T& pick(const T (&values)[N]) {
    return values[static_cast<std::size_t>(in_range(0, static_cast<int>(N) - 1))];
  }
  // Up to `max` bytes taken as they are.
  std::string text(std::size_t max) {
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(in_range(0, static_cast<int>(max))), remaining());
    std::string out(reinterpret_cast<const char*>(data_ + at_), n);
    at_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

// A contract the target checks, beyond "no crash": a broken one is a finding like a crash.
#define FLOWGUARD_FUZZ_CHECK(condition)                                                         \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz contract broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

}  // namespace flowguard::fuzz
