// What the sink tests share: a temporary directory, reading files back, making messages.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/sinks/sink.hpp"

namespace flowguard::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fg-sinks-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(text.substr(start, nl - start));
  if (start < text.size()) lines.push_back(text.substr(start) + "<no newline>");
  return lines;
}

// A DIP-shaped element, {"payload":{"n":N,"pad":"xxx…"}}, of exactly `size` bytes when size allows.
inline sinks::Delivery message(int n, std::size_t size = 0) {
  sinks::Delivery d;
  d.id = "id-" + std::to_string(n);
  d.reference = "ref-" + std::to_string(n);
  d.type = "dip.IF-001.InitialRegistration";
  const std::string head = R"({"payload":{"n":)" + std::to_string(n) + R"(,"pad":")";
  const std::string tail = R"("}})";
  const std::size_t fixed = head.size() + tail.size();
  d.body = head + std::string(size > fixed ? size - fixed : 1, 'x') + tail;
  return d;
}

// The "n" of a message element (or -1).
inline long message_number(const json::Value& element) {
  const json::Value* payload = element.find("payload");
  const json::Value* n = payload ? payload->find("n") : nullptr;
  return n && n->is_number() ? std::stol(std::string(n->number_text())) : -1;
}

}  // namespace flowguard::test
