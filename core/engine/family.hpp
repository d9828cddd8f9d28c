// A message family's own behaviour, behind one small interface: what the generic pipeline asks a
// family (the DIP) instead of knowing its message layout.
//
// The contract:
// - A family is registered once, by name, before any Engine is created (a static registrar in
//   the family's library, linked whole into libflowguard). Its name is the plugin name of its
//   types (TypeEntry::plugin, "dip"); the plugin's C descriptor stays plain data.
// - Every method is const and thread-safe: one family object serves every engine and thread.
// - Methods that look at a message take the parsed DOM and must not keep pointers into it.
// - Types whose plugin has no registered family get the defaults below (no envelope, nothing
//   described, no ordering key, no response format, no data or options of their own).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"

namespace flowguard::engine {

struct RecordRef;
struct TypeEntry;

class Family {
 public:
  virtual ~Family() = default;

  // The plugin name of the family's types ("dip").
  virtual std::string_view name() const noexcept = 0;

  // Envelope: the message inside one submission item and the pointer suffix from the item to it
  // ("/payload"). The suffix must have static storage (records keep it). Default: the item itself.
  struct Unwrapped {
    const json::Value* message;
    std::string_view suffix;
  };
  virtual Unwrapped unwrap(const json::Value& item) const { return {&item, {}}; }

  // Identity: fills what a message says about itself into `info` (FileReport::messages); the
  // engine has set its pointer and type. Default: nothing more.
  virtual void describe(const json::Value& message, MessageInfo& info) const {
    (void)message;
    (void)info;
  }

  // Ordering (--flows): the instant (unix seconds) files are checked in the order of, from a
  // file's first message; nullopt: none (such files keep their place after those with one).
  virtual std::optional<std::int64_t> ordering_key(const json::Value& message) const {
    (void)message;
    return std::nullopt;
  }

  // Report format: one report as the family's own response object (the DIP's StandardResponse),
  // `now` its timestamp. false: the family has none.
  virtual bool append_response(std::string& out, const FileReport& report, const std::string& now) const {
    (void)out, (void)report, (void)now;
    return false;
  }

  // Family options: members the family adds to fg.data.options (before the engine's "now").
  virtual void write_run_options(json::Writer& options, const EngineOptions& engine_options) const {
    (void)options, (void)engine_options;
  }
  // Data documents the family's rules read as fg.data.<name> (the DIP market registry), from the
  // engine's options; `schema_dirs` are the engine's. A usage error fails Engine::create.
  using RuleData = std::vector<std::pair<std::string, std::shared_ptr<const json::Document>>>;
  virtual Status add_rule_data(const EngineOptions& engine_options, const std::vector<std::filesystem::path>& schema_dirs,
                               RuleData& data) const {
    (void)engine_options, (void)schema_dirs, (void)data;
    return Ok{};
  }
};

// Registers `family` (an object of static storage) under its name; the first registration of a
// name stays. Returns true, so a family's library can register with a namespace-scope `const bool`.
bool register_family(const Family& family);
// The family registered under `name`, or nullptr.
const Family* find_family(std::string_view name);
// Every registered family, in name order.
std::vector<const Family*> families();
// The family of a type's plugin; the defaults when none is registered.
const Family& family_of(const TypeEntry& type);

// The messages of a document of FG_SHAPE_MESSAGE types: the document itself, or each item of an
// array, each unwrapped by `family`.
std::vector<RecordRef> locate_messages(const json::Value& root, const Family& family);

// `files` stably ordered by `family`'s ordering key of their first message; files without one
// (unreadable, not JSON, no key) keep their place after those with one.
std::vector<std::string> order_by_family_key(const std::vector<std::string>& files, const Family& family);

// The reports as a JSON array of `family`'s responses, one per report, and a newline.
std::string format_responses(const Family& family, const std::vector<FileReport>& reports, const std::string& now);

}  // namespace flowguard::engine
