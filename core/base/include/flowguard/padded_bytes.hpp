// PaddedBytes: a byte buffer followed by kPadding zero bytes, so the JSON parser can read it in
// place. The parser scans 16 bytes at a time and stops at the NUL after the last byte; a buffer
// without that tail has to be copied into one first. A file read into PaddedBytes (or a batch kept
// in one across checks) is parsed with no copy: json::Document::parse and Engine::check borrow it.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace flowguard {

class PaddedBytes {
 public:
  static constexpr std::size_t kPadding = 80;  // zero bytes after the last byte

  PaddedBytes() { resize(0); }
  PaddedBytes(PaddedBytes&& other) noexcept : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}
  PaddedBytes& operator=(PaddedBytes&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  explicit PaddedBytes(std::string_view bytes) {
    resize(bytes.size());
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }

  // Room for `size` bytes (to fill through data()), followed by the zero padding. Drops what was
  // there before. Throws std::bad_alloc like any allocation.
  void resize(std::size_t size) {
    data_.reset(new char[size + kPadding]);
    size_ = size;
    std::memset(data_.get() + size, 0, kPadding);
  }
  // Keeps the first `size` bytes (size <= this->size()): a read that came up short.
  void truncate(std::size_t size) noexcept {
    if (size >= size_) return;
    size_ = size;
    std::memset(data_.get() + size, 0, kPadding);
  }

  char* data() noexcept { return data_.get(); }  // null after a move, until resize()
  const char* data() const noexcept { return data_ ? data_.get() : kEmpty; }
  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {data(), size_}; }

 private:
  static constexpr char kEmpty[kPadding] = {};  // a moved-from buffer reads as empty
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

}  // namespace flowguard
