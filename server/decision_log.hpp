// The decision log: one JSON line per checked request (what was asked, the verdict, each
// finding's rule, code and place), for audit. Masked by default: finding messages quote the values
// they judge (MPANs, names, addresses, free text), so they are left out, and any run of six or
// more digits elsewhere (an MPAN or id inside a pointer) is replaced by '*'. `unmask: true` in the
// config logs everything as it was reported.
#pragma once

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>

#include "flowguard/engine.hpp"

namespace flowguard::server {

class DecisionLog {
 public:
  static std::unique_ptr<DecisionLog> open(const std::filesystem::path& path, bool unmask, std::string& error);
  ~DecisionLog();

  void write(std::string_view route, std::string_view target_type, unsigned status, const FileReport& report,
             double seconds);
  bool unmasked() const noexcept { return unmask_; }

 private:
  DecisionLog(std::FILE* file, bool unmask) : file_(file), unmask_(unmask) {}
  std::mutex mutex_;
  std::FILE* file_;
  bool unmask_;
};

// Every run of six or more ASCII digits replaced by as many '*'.
std::string mask_digits(std::string_view text);

}  // namespace flowguard::server
