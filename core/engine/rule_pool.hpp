// The rule hosts: the main one and one per extra record-stage job (a lua_State is single-threaded),
// the rule directories they load, the data they share, and what each call binds on them.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "call.hpp"
#include "flowguard/engine.hpp"
#include "native_checks.hpp"
#include "plugin_host.hpp"

namespace flowguard::engine {

class RulePool {
 public:
  using SharedData = std::vector<std::pair<std::string, std::shared_ptr<const json::Document>>>;

  // Load problems go to `issues` (the engine's, which outlives the pool).
  static Result<std::unique_ptr<RulePool>> create(const lua::Limits& limits, std::vector<LoadIssue>& issues);

  lua::RuleHost& main() noexcept { return *main_; }
  const std::vector<lua::RuleInfo>& rules() const { return main_->rules(); }

  // Read-only data every host sees as fg.data.<name> (the registry, run options); `engine_call`'s
  // documents are what each host starts with bound.
  void set_shared_data(SharedData data, const Call& engine_call);
  void set_rule_roots(std::vector<std::filesystem::path> roots) { rule_roots_ = std::move(roots); }

  // Loads a rule directory on the main host once; the workers follow in sync_workers().
  void load_rule_dir(const std::filesystem::path& dir, bool must_exist);
  // The rule set of a type, from every rule root (on first use).
  void ensure_rule_set(const TypeEntry& type);

  // Brings `count` workers up to the main host's directories; false when they cannot be (then the
  // stage runs on the main host alone). Their load errors are the main host's, already reported.
  bool sync_workers(std::size_t count);
  lua::RuleHost& worker(std::size_t w) noexcept { return *workers_[w]; }

  // The call's documents and state on the main host / a worker, replaced only when they differ.
  void bind_main(const Call& call) { bind(*main_, main_bound_, call); }
  void bind_worker(std::size_t w, const Call& call) { bind(*workers_[w], worker_bound_[w], call); }
  // No host keeps a call's state past the call (it lives on the caller's stack).
  void unbind_state() noexcept;

  // What the record stage runs for one type: its native checks and its Lua record rules, worked
  // out once per type (again after more rules were loaded), not once per record.
  struct TypeRules {
    bool built = false;
    std::size_t rule_count = 0;  // rules loaded when it was built
    NativeChecks native;
    std::vector<std::size_t> record_rules;  // rules with a Lua record check
  };
  const TypeRules& rules_for(const TypeEntry& type);
  // Built by rules_for() before any worker starts; read-only afterwards.
  const TypeRules& built_rules_for(const TypeEntry& type) const { return type_rules_.at(&type); }

 private:
  RulePool(const lua::Limits& limits, std::vector<LoadIssue>& issues) : limits_(limits), issues_(issues) {}

  // Which per-call documents a host has (its fg.data.options/headers), so a call replaces them only
  // when they differ: replacing costs a call into Lua, and makes kept views stale. The host holds
  // the documents, so an address cannot be reused while it is recorded here.
  struct Bound {
    const json::Document* options = nullptr;
    const json::Document* headers = nullptr;
  };
  static void bind(lua::RuleHost& host, Bound& bound, const Call& call);

  lua::Limits limits_;
  std::vector<LoadIssue>& issues_;
  std::unique_ptr<lua::RuleHost> main_;
  std::vector<std::unique_ptr<lua::RuleHost>> workers_;
  // All hosts load the same directories in the same order, so rule indexes agree across hosts.
  std::vector<std::filesystem::path> rule_roots_, rule_dir_order_;
  std::set<std::filesystem::path> loaded_rule_dirs_;
  std::set<std::string> ensured_rule_sets_;
  std::vector<std::size_t> worker_dirs_loaded_;  // how many of rule_dir_order_ each worker has loaded
  SharedData shared_data_;
  Bound initial_bound_, main_bound_;
  std::vector<Bound> worker_bound_;  // one per workers_[i]
  std::map<const TypeEntry*, TypeRules> type_rules_;
};

}  // namespace flowguard::engine
