// Hand-written YAML configuration: a reader that collects every problem (not only the first) with
// its position, so a broken file is fixed in one pass, and refuses unknown keys with a "did you
// mean" (a typo such as `max_body_kbs` must not silently leave the default in force).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace flowguard::config {

struct Diagnostic {
  std::filesystem::path file;
  std::uint32_t line = 0, column = 0;  // 1-based; 0 when unknown
  std::string message;
  std::string to_string() const;       // "file:line:col: message"
};

// The closest of `names` to `key` within three edits, or empty.
std::string closest(const std::string& key, const std::vector<std::string>& names);

// Reads a config file of at most `max_bytes` (configs are small; a huge file is a mistake).
// `what` names it in messages ("the config", "the routes").
std::optional<std::string> read_text(const std::filesystem::path& file, const char* what,
                                     std::vector<Diagnostic>& errors, std::size_t max_bytes = 1 << 20);
// Parses YAML text; a syntax error or an empty document is a diagnostic and nullopt.
std::optional<YAML::Node> parse_yaml(const std::string& text, const std::filesystem::path& file, const char* what,
                                     std::vector<Diagnostic>& errors, const char* what_is_expected);

class Reader {
 public:
  Reader(std::filesystem::path file, std::vector<Diagnostic>& errors) : file_(std::move(file)), errors_(errors) {}

  const std::filesystem::path& file() const { return file_; }
  void error(const YAML::Node& at, std::string message);

  // Each key of `map` must be one of `known`; false (with a diagnostic) when `map` is not a mapping.
  bool check_keys(const YAML::Node& map, const std::string& where, const std::vector<std::string>& known);

  // Optional typed values: absent leaves `out` as it is; a wrong value is a diagnostic.
  template <typename T>
  void number(const YAML::Node& map, const char* key, T& out, long double min, long double max) {
    long long value = 0;
    if (whole_number(map[key], key, value, min, max)) out = static_cast<T>(value);
  }
  void boolean(const YAML::Node& map, const char* key, bool& out);
  void string(const YAML::Node& map, const char* key, std::string& out);
  // A string or a list of strings.
  void strings(const YAML::Node& map, const char* key, std::vector<std::string>& out);
  // Relative paths are relative to the config file's folder.
  std::filesystem::path path_of(const std::string& text) const;
  // A folder or a list of folders, each of which must exist.
  void folders(const YAML::Node& map, const char* key, std::vector<std::filesystem::path>& out);

  // `n` as a string or a list of strings: `use` gets each with its node (for positions).
  void each_string(const YAML::Node& n, const char* key,
                   const std::function<void(const YAML::Node&, const std::string&)>& use);

 private:
  bool whole_number(const YAML::Node& n, const char* key, long long& value, long double min, long double max);

  std::filesystem::path file_;
  std::vector<Diagnostic>& errors_;
};

// Sorts diagnostics into file order (stable, so one line's problems keep their order).
void sort_by_position(std::vector<Diagnostic>& errors);

}  // namespace flowguard::config
