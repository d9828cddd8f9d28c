#include "rule_pool.hpp"

#include "catalogue.hpp"

namespace flowguard::engine {
namespace fs = std::filesystem;

Result<std::unique_ptr<RulePool>> RulePool::create(const lua::Limits& limits, std::vector<LoadIssue>& issues) {
  std::unique_ptr<RulePool> pool(new RulePool(limits, issues));
  auto host = lua::RuleHost::create(limits);
  if (!host) return std::move(host).error();
  pool->main_ = std::move(host).value();
  return pool;
}

void RulePool::set_shared_data(SharedData data, const Call& engine_call) {
  shared_data_ = std::move(data);
  for (const auto& [name, doc] : shared_data_) main_->set_data(name, doc);
  initial_bound_ = {engine_call.options.get(), engine_call.headers.get()};
  main_bound_ = initial_bound_;
}

void RulePool::load_rule_dir(const fs::path& dir, bool must_exist) {
  const auto key = canonical_or_self(dir);
  if (!loaded_rule_dirs_.insert(key).second) return;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (must_exist) issues_.push_back({dir.string(), "rule directory does not exist"});
    return;
  }
  rule_dir_order_.push_back(dir);
  for (auto& error : main_->load_directory(dir)) issues_.push_back({dir.string(), std::move(error.message)});
}

void RulePool::ensure_rule_set(const TypeEntry& type) {
  // Once per rule set: the directory lookups resolve paths (syscalls), and a server asks on every request.
  if (type.rule_set.empty() || !ensured_rule_sets_.insert(type.rule_set).second) return;
  for (const auto& root : rule_roots_) load_rule_dir(root / type.rule_set, false);
}

bool RulePool::sync_workers(std::size_t count) {
  while (workers_.size() < count) {
    auto host = lua::RuleHost::create(limits_);
    if (!host) return false;
    for (const auto& [name, data] : shared_data_) host.value()->set_data(name, data);
    workers_.push_back(std::move(host).value());
    worker_dirs_loaded_.push_back(0);
    worker_bound_.push_back(initial_bound_);
  }
  for (std::size_t w = 0; w < count; ++w)
    for (; worker_dirs_loaded_[w] < rule_dir_order_.size(); ++worker_dirs_loaded_[w])
      workers_[w]->load_directory(rule_dir_order_[worker_dirs_loaded_[w]]);
  for (std::size_t w = 0; w < count; ++w)
    if (workers_[w]->rules().size() != main_->rules().size()) return false;
  return true;
}

void RulePool::bind(lua::RuleHost& host, Bound& bound, const Call& call) {
  if (bound.options != call.options.get()) {
    host.set_data("options", call.options);
    bound.options = call.options.get();
  }
  if (bound.headers != call.headers.get()) {
    host.set_data("headers", call.headers);
    bound.headers = call.headers.get();
  }
  host.set_call_state(call.state);
}

void RulePool::unbind_state() noexcept {
  main_->set_call_state(nullptr);
  for (auto& w : workers_) w->set_call_state(nullptr);
}

const RulePool::TypeRules& RulePool::rules_for(const TypeEntry& type) {
  const auto& all = main_->rules();
  TypeRules& entry = type_rules_[&type];
  if (entry.built && entry.rule_count == all.size()) return entry;
  std::vector<std::size_t> applicable;
  entry.record_rules.clear();
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (!all[r].applies_to(type.name)) continue;
    applicable.push_back(r);
    if (all[r].has_record) entry.record_rules.push_back(r);
  }
  entry.native = NativeChecks(all, applicable);
  entry.rule_count = all.size();
  entry.built = true;
  return entry;
}

}  // namespace flowguard::engine
