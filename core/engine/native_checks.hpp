// The native field checks a rule can declare in its `fields` table (sdk/docs/rule-api.md),
// compiled per message type: check names resolved once, the fields they read gathered in one pass
// over a record's members, so a record costs one key lookup per member however many checks read it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/key_index.hpp"
#include "flowguard/lua/rule_host.hpp"

namespace flowguard::engine {

// Called once per problem: the rule (its index in the rule host), the field it is about (for pair
// checks, the second field), its value, and the message (without the spec suffix).
using FieldProblem =
    std::function<void(std::size_t rule, const std::string& field, const json::Value& value, std::string message)>;

class NativeChecks {
 public:
  NativeChecks() = default;
  // The checks of `rules[r]` for each r in `applicable`, in that order. The rules must outlive this.
  NativeChecks(const std::vector<lua::RuleInfo>& rules, const std::vector<std::size_t>& applicable);
  NativeChecks(NativeChecks&&) noexcept = default;
  NativeChecks& operator=(NativeChecks&&) noexcept = default;
  NativeChecks(const NativeChecks&) = delete;  // the index holds views of fields_
  NativeChecks& operator=(const NativeChecks&) = delete;

  bool empty() const noexcept { return checks_.empty(); }

  // Which member fills which field slot, for the last key shape (json::Value::key_shape()) met:
  // a batch's records share one, so they skip the key lookups. Per thread and per document
  // (shapes are per document): the caller keeps one across the records of one document.
  struct ShapeCache {
    const NativeChecks* owner = nullptr;
    std::uint32_t shape = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> member_slot;
  };

  // Runs every check on one record (an object). Values that are absent, empty or of another JSON
  // type are not a check's business: presence and types are the schema's job. `skip_rule(r)` says
  // whether rule r is to be left out (it failed earlier in this document).
  template <class SkipRule>
  void run(const json::Value& record, ShapeCache& cache, SkipRule&& skip_rule, const FieldProblem& problem) const {
    const json::Value* found[kMaxFields] = {};
    const json::Value** slots = found;
    std::vector<const json::Value*> many;  // more fields than the stack array holds (unusual)
    if (fields_.size() > kMaxFields) slots = (many.assign(fields_.size(), nullptr), many.data());
    const auto members = record.members();
    const std::uint32_t shape = record.key_shape();
    if (shape && cache.shape == shape && cache.owner == this) {
      for (const auto& [member, slot] : cache.member_slot) slots[slot] = &members[member].value;
    } else {
      if (shape) cache.owner = this, cache.shape = shape, cache.member_slot.clear();
      for (std::size_t k = 0; k < members.size(); ++k) {
        const std::uint32_t i = index_.find(members[k].key);
        if (i == KeyIndex::kNotFound || slots[i]) continue;  // the first of repeated keys, as find() does
        slots[i] = &members[k].value;
        if (shape) cache.member_slot.emplace_back(static_cast<std::uint32_t>(k), i);
      }
    }
    // A check whose (first) field is absent passes, whatever its kind: skipped without a call.
    // (A type's rules name fields of other types too: "MPAN" beside "Import MPAN".)
    for (const auto& c : checks_)
      if (slots[c.field] && !skip_rule(c.rule) && !passes(c, slots)) report(c, slots, problem);
  }

  enum class Kind : std::uint8_t {
    kMpan, kDateDmy, kDateIso, kTimeHhmm, kHalfHour, kDatetimeDmyHm, kMaxDecimals, kNotBefore, kPositive,  // one field each
    kTimeOrder, kDateOrder, kDatetimeOrder, kZoneSuffix,                                         // pairs
  };

 private:
  static constexpr std::size_t kMaxFields = 64;
  struct Check {
    std::size_t rule;
    Kind kind;
    std::int64_t argument;       // max_decimals: places; not_before: the day number of its date
    std::uint32_t field;         // slot of the (first) field
    std::uint32_t second = 0;    // pairs: slot of the second field
    std::string text_argument;   // not_before: the date as the rule wrote it (for messages)
  };
  // The decision alone, without wording (the hot path: most checks pass): true when the check
  // has nothing to say, also when its fields are absent or not of its kind. (run() relies on
  // every kind passing when its first field is absent.)
  static bool passes(const Check& c, const json::Value* const* slots);
  // The finding of a check that did not pass.
  void report(const Check& c, const json::Value* const* slots, const FieldProblem& problem) const;
  std::uint32_t slot_of(const std::string& field);

  std::vector<std::string> fields_;  // slot -> field name
  KeyIndex index_;                   // field name -> slot
  std::vector<Check> checks_;
};

}  // namespace flowguard::engine
