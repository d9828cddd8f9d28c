// Shared by the journal's tests: a temporary folder per test and a message to journal.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "flowguard/journal/journal.hpp"

namespace flowguard::journal::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("flowguard-journal-tests-" + std::to_string(::getpid())) / name) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A body that can be told from every other one, so a test can see it came back intact.
inline std::string body_for(const std::string& reference) {
  return "{\"payload\":{\"reference\":\"" + reference + "\",\"padding\":\"" + std::string(200, 'p') + "\"}}";
}

inline NewMessage message(const std::string& reference, std::vector<std::string> sinks) {
  NewMessage m;
  m.reference = reference;
  m.type = "dip.test";
  m.body = body_for(reference);
  m.findings_json = "[]";
  m.sinks = std::move(sinks);
  return m;
}

}  // namespace flowguard::journal::testing
