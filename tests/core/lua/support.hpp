// Shared fixtures for the rule host tests: a temporary rule directory and a parsed document.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"

namespace fgtest {

namespace fs = std::filesystem;
using flowguard::lua::Limits;
using flowguard::lua::RuleHost;
using flowguard::lua::RuleReport;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() /
            ("flowguard-lua-" + std::to_string(stamp) + "-" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::unique_ptr<RuleHost> make_host(const Limits& limits = {}) {
  auto host = RuleHost::create(limits);
  REQUIRE(host.ok());
  return std::move(host).value();
}

inline flowguard::json::Document parse(const std::string& text) {
  auto doc = flowguard::json::Document::parse(text);
  if (!doc.ok()) FAIL("test JSON does not parse: " << doc.error().message);
  return std::move(doc).value();
}

// A rule file with one rule whose record function body is `body`.
inline std::string record_rule(const std::string& id, const std::string& body) {
  return "return {\n  id = \"" + id +
         "\", severity = \"error\", description = \"test\", spec = \"test spec\", types = { \"t.x\" },\n"
         "  record = function(rec, report)\n" +
         body + "\n  end,\n}\n";
}

inline std::size_t index_of(const RuleHost& host, const std::string& id) {
  const auto& rules = host.rules();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].id == id) return i;
  }
  FAIL("no rule " << id);
  return 0;
}

// Loads `text` as file `name` into `host`, requiring success.
inline void load_ok(RuleHost& host, const TempDir& dir, const std::string& name, const std::string& text) {
  const auto status = host.load_file(dir.write(name, text));
  INFO(name);
  if (!status.ok()) FAIL(status.error().message);
}

}  // namespace fgtest
