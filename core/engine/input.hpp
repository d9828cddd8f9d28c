// Input that is not a regular file (standard input, a pipe, a device): read as check_file reads
// the same bytes from a file, in bounded memory, and refused at once when it cannot be JSON.
#pragma once

#include <istream>
#include <streambuf>
#include <string_view>
#include <vector>

#include "flowguard/padded_bytes.hpp"
#include "flowguard/result.hpp"

namespace flowguard::engine {

// The first `limit` bytes of `in` (fewer when it ends first: `complete`). Fails as soon as the
// first byte after whitespace (and a UTF-8 byte order mark) cannot begin a JSON value, or when
// `limit` bytes hold nothing but whitespace, naming `name` and the line and column.
Result<PaddedBytes> read_prefix(std::istream& in, std::string_view name, std::size_t limit, bool& complete);

// `prefix`, then the rest of `rest`: the stream a large input is checked from once its first
// bytes have been read to decide how.
class PrefixedStreambuf : public std::streambuf {
 public:
  PrefixedStreambuf(const PaddedBytes& prefix, std::streambuf* rest);

 protected:
  int_type underflow() override;

 private:
  const PaddedBytes& prefix_;
  std::streambuf* rest_;
  bool prefix_served_ = false;
  std::vector<char> buffer_;
};

}  // namespace flowguard::engine
