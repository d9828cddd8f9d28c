// PaddedBytes: a byte buffer followed by kPadding zero bytes, so the JSON parser can read it in
// place. The parser scans 16 bytes at a time and stops at the NUL after the last byte; a buffer
// without that tail has to be copied into one first. A file read into PaddedBytes (or a batch kept
// in one across checks) is parsed with no copy: json::Document::parse and Engine::check borrow it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace flowguard {

class PaddedBytes {
 public:
  static constexpr std::size_t kPadding = 80;  // zero bytes after the last byte

  PaddedBytes() { reserve(0); }
  explicit PaddedBytes(std::string_view bytes) {
    resize(bytes.size());
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  PaddedBytes(PaddedBytes&& other) noexcept
      : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)), capacity_(std::exchange(other.capacity_, 0)) {}
  PaddedBytes& operator=(PaddedBytes&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  // `size` bytes to fill through data() (their content is unspecified), followed by the zero
  // padding. Throws std::bad_alloc like any allocation.
  void resize(std::size_t size) {
    reserve(size);
    size_ = size;
    std::memset(data_.get() + size, 0, kPadding);
  }
  // Keeps the first `size` bytes (size <= this->size()): a read that came up short, or clear().
  void truncate(std::size_t size) noexcept {
    if (size >= size_) return;
    size_ = size;
    std::memset(data_.get() + size, 0, kPadding);
  }
  void clear() noexcept { truncate(0); }
  // Adds bytes at the end (the buffer grows by doubling, as a std::string does).
  void append(std::string_view bytes) {
    if (size_ + bytes.size() > capacity_) grow(size_ + bytes.size());
    std::memcpy(data_.get() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
    std::memset(data_.get() + size_, 0, kPadding);
  }

  char* data() noexcept { return data_.get(); }  // null after a move, until resize()
  const char* data() const noexcept { return data_ ? data_.get() : kEmpty; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data(), size_}; }

 private:
  void reserve(std::size_t size) {
    if (data_ && size <= capacity_) return;
    data_.reset(new char[size + kPadding]);
    capacity_ = size;
    size_ = 0;
    std::memset(data_.get(), 0, kPadding);
  }
  void grow(std::size_t at_least) {
    const std::size_t capacity = std::max(at_least, capacity_ * 2);
    std::unique_ptr<char[]> grown(new char[capacity + kPadding]);
    if (size_) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

  static constexpr char kEmpty[kPadding] = {};  // a moved-from buffer reads as empty
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // bytes before the padding
};

}  // namespace flowguard
