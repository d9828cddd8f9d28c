// The DIP rules' native message filters (dip.filter) and dip.reference_repeats change which messages
// reach Lua, never what is reported: the shipped rules give the same report as the same rules with
// every filter taken out and the Lua DIP-SENDER-UNIQUE-REFERENCE-REPEATED they replaced, over
// thousands of generated messages whose identifiers, dates, DIP IDs, MPANs, recipients and
// registry participants sit around every edge the filters judge; without a registry, with the
// shipped channel table and with the dip-policy corpus registry.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// The rule before its filters: dip.each with no filter, and the Lua walk REPEATED had.
constexpr const char* kLuaRepeated = R"lua(
  {
    id = "DIP-SENDER-UNIQUE-REFERENCE-REPEATED",
    severity = "error",
    code = "MSG1006",
    description = "no senderUniqueReference is used by two messages of one document or one run",
    spec = SPEC .. ", ResponseCodes MSG1006 (Sender Unique Reference Duplicated)",
    types = { "dip.*" },
    document = function(records, report)
      local state = fg.state
      local window = state.enabled()
      local first, order = {}, {}
      for m in dip.each(records) do
        local v = m.reference
        if v and v ~= "" then
          if first[v] then
            report { record = m.index, path = PATH.reference, message = ("senderUniqueReference %s is already used by the message at %s; "
                .. "the DIP rejects a repeated reference"):format(show(v), first[v] == "" and "the document root" or first[v]) }
          else
            if window then
              local seen = state.reference_seen(v)
              if seen then
                report { record = m.index, path = PATH.reference, message = ("senderUniqueReference %s is %s; "
                    .. "the DIP rejects a repeated reference"):format(show(v), seen) }
              end
            elseif earlier_references[v] then
              report { record = m.index, path = PATH.reference, message = ("senderUniqueReference %s is already used by a message of an earlier "
                  .. "document in this run (document %d); the DIP rejects a repeated reference"):format(show(v), earlier_references[v]) }
            end
            first[v] = m.pointer
            order[#order + 1] = v
          end
        end
      end
      if window then
        for _, v in ipairs(order) do state.remember_reference(v) end
        return
      end
      documents_seen = documents_seen + 1
      for _, v in ipairs(order) do
        if not earlier_references[v] then earlier_references[v] = documents_seen end
      end
    end,
  },
)lua";

std::string unfiltered(std::string text) {
  text = std::regex_replace(text, std::regex(R"(dip\.each\(records, nil, ONLY\.[a-z_]+(, now \+ skew)?\))"), "dip.each(records)");
  text = std::regex_replace(text, std::regex(R"(dip\.each\(records, "exact", only, reg\))"), R"(dip.each(records, "exact"))");
  const auto begin = text.find("  {\n    id = \"DIP-SENDER-UNIQUE-REFERENCE-REPEATED\"");
  const auto end = text.find("  {\n    id = \"DIP-SENDER-CORRELATION-ID\"");
  if (begin != std::string::npos && end != std::string::npos) {
    text.replace(begin, end - begin, std::string(kLuaRepeated).substr(1));
    text = "local earlier_references, documents_seen = {}, 0\n" + text;
  }
  return text;
}

// Messages around the filters' edges, from a fixed seed.
class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  std::string document(std::size_t n) {
    std::string out = "[";
    for (std::size_t i = 0; i < n; ++i) {
      if (i) out += ",\n";
      const std::string m = message();
      out += chance(0.5) ? "{\"payload\": " + m + "}" : m;
    }
    return out + "]";
  }

 private:
  std::mt19937 rng_;

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_)]; }

  std::string mutate(std::string s) {
    static const std::string kAlphabet = "0123456789-ABCTIFREPSUPxyz_ +:aZ";
    const int edits = std::uniform_int_distribution<int>(0, 3)(rng_);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, s.size())(rng_);
      const char c = kAlphabet[std::uniform_int_distribution<std::size_t>(0, kAlphabet.size() - 1)(rng_)];
      const double op = std::uniform_real_distribution<double>(0, 1)(rng_);
      if (op < 0.3 && !s.empty()) s.erase(std::min(at, s.size() - 1), 1);
      else if (op < 0.6) s.insert(at, 1, c);
      else if (!s.empty()) s[std::min(at, s.size() - 1)] = c;
    }
    return s;
  }
  static std::string quoted(const std::string& s) { return s == "null" ? s : "\"" + s + "\""; }

  std::string message() {
    static const std::vector<std::string> kRefs = {"S-IF-031-0123456789-SUP-20250317-00003T", "S-031-ABCDEF0123-MSS-20240229-x9",
                                                  "S-IF-031-0123456789-SUP-20250229-1A", "S-REP-002-0123456789-SUP-20251301-1"};
    static const std::vector<std::string> kCorrelations = {"CI-20250317-1234567890072", "CI-BP09-20220401-1234567890123",
                                                          "CI-20221340-1", "my-correlation-1", "CI-A-B-20220101-1"};
    static const std::vector<std::string> kTransactions = {
        "T-IF-031-2300000018-SUP-20250317-65693C1F82CF3000", "T-REP-002-2300000018-SUP-20250317-6",
        "T-REP-002A-2300000018-SUP-20250317-6", "T-IF-019-0123456789-SUPPL-20220229-1", "TXN-42"};
    static const std::vector<std::string> kTimes = {"2025-03-17T17:08:14+00:00", "2025-02-30T17:08:14+01:00",
                                                   "2025-03-17T24:08:14+00:00", "2099-03-17T17:08:14+00:00",
                                                   "2025-09-01T10:00:00+01:00", "2024-06-01T00:00:00+00:00",
                                                   "2025-01-31T00:00:00+00:00", "2023-01-01T00:00:00Z"};
    static const std::vector<std::string> kIds = {"1009012345", "100901234X", "12-0000047", "10090123456", "null",
                                                 "2300000018", "2300000019", "2200000000", "1200000049", "1100000018",
                                                 "1400000012", "1500000023", "1500000025", "9000000002", "9000000003", "keys"};
    static const std::vector<std::string> kMpans = {"2000056535971", "2000056535972", "200005653597", "20000565359710"};
    static const std::vector<std::string> kInterfaces = {"IF-031", "IF-031", "IF-031", "REP-002A", "IF-061", "IF-062",
                                                        "IF-0611", "IF-060", "IF-006", "IF-027"};
    static const std::vector<std::string> kRoles = {"SUP", "MSS", "SDS", "MDR", "REGS", "ADS", "null", "X"};
    const std::string interface = pick(kInterfaces);
    std::string s1 = "\"senderUniqueReference\": " + quoted(mutate(pick(kRefs))) +
                     ", \"senderTimestamp\": " + quoted(chance(0.5) ? mutate(pick(kTimes)) : pick(kTimes)) +
                     ", \"senderDIPID\": " + quoted(chance(0.3) ? mutate(pick(kIds)) : pick(kIds)) +
                     ", \"senderRoleID\": " + quoted(pick(kRoles)) +
                     ", \"DIPConnectionProviderID\": " + quoted(chance(0.2) ? pick(kIds) : "null");
    if (chance(0.8)) s1 += ", \"senderCorrelationID\": " + quoted(mutate(pick(kCorrelations)));
    std::string cb = "\"S0\": {\"interfaceID\": " + quoted(interface) + ", \"schemaVersion\": \"011\", \"eventCode\": \"" +
                     (interface == "REP-002A" ? "[DUoSEmbeddedLDSOAggData]" : "[MSApp]") + "\"}, " +
                     (chance(0.1) ? "\"s1\": {" : "\"S1\": {") + s1 + "}";
    if (chance(0.5))
      cb += ", \"D0\": {\"transactionID\": " + quoted(mutate(pick(kTransactions))) + ", \"transactionTimestamp\": " +
            quoted(mutate(pick(kTimes))) + ", \"initialCorrelationID\": null}";
    if (chance(0.4)) {
      cb += ", \"M0\": {\"" + std::string(chance(0.3) ? "mpancore" : "MPANCore") + "\": " + quoted(mutate(pick(kMpans))) +
            ", \"distributorDIPID\": " + quoted(pick(kIds)) +
            (chance(0.3) ? ", \"Nested\": {\"primaryMPAN\": [" + quoted(mutate(pick(kMpans))) +
                               ", 5], \"supplierDIPID\": {\"x\": \"ABCDEFGHIJ\"}}"
                         : std::string()) +
            "}";
    }
    if (chance(0.5)) {
      std::string primary;
      for (int k = std::uniform_int_distribution<int>(0, 3)(rng_); k > 0; --k) primary += (primary.empty() ? "" : ", ") + quoted(pick(kIds));
      cb += ", \"A0\": {\"primaryRecipients\": [" + primary + "], \"secondaryRecipients\": [" + quoted(pick(kIds)) +
            ", null], \"always\": []}";
    }
    return "{\"CommonBlock\": {" + cb + "}, \"CustomBlock\": {\"B070\": {\"proposedMeteringServiceDIPID\": " +
           quoted(chance(0.3) ? mutate(pick(kIds)) : pick(kIds)) + "}}}";
  }
};

std::unique_ptr<flowguard::Engine> engine_with(const fs::path& rules, const std::string& registry) {
  flowguard::EngineOptions options;
  options.use_default_dirs = false;
  options.plugin_dirs = {fs::path(FLOWGUARD_BINARY_DIR) / "lib/flowguard/plugins"};
  options.schema_dirs = {fs::path(FLOWGUARD_BINARY_DIR) / "share/flowguard/schemas"};
  options.rule_dirs = {rules};
  options.registry = registry;
  auto engine = flowguard::Engine::create(options);
  REQUIRE(engine.ok());
  REQUIRE((*engine)->load_issues().empty());
  return std::move(engine).value();
}

// The report without the clock's reading (each engine reads its own now).
std::string without_clock(std::string json) {
  return std::regex_replace(json, std::regex(R"(is -?\d+ s in the future \(now [^,]*,)"), "is N s in the future (now T,");
}

}  // namespace

TEST_CASE("DIP rules: the native filters and reference repeats report exactly what the rules without them do") {
  const fs::path source = fs::path(FLOWGUARD_SOURCE_DIR) / "rules/dip";
  const fs::path plain = fs::path(FLOWGUARD_BINARY_DIR) / "tests/dip-unfiltered-rules";
  fs::create_directories(plain);
  std::size_t stripped = 0;
  for (const char* file : {"messages.lua", "policy.lua", "flow-appointment.lua"}) {
    const std::string text = slurp(source / file);
    const std::string plain_text = unfiltered(text);
    stripped += plain_text != text;
    CHECK(plain_text.find(", ONLY.") == std::string::npos);
    CHECK(plain_text.find("dip.reference_repeats(records") == std::string::npos);
    spit(plain / file, plain_text);
  }
  REQUIRE(stripped == 2);  // messages.lua and policy.lua have filters

  const std::string corpus_registry = (fs::path(FLOWGUARD_SOURCE_DIR) / "tests/corpus/dip-policy/registry.yaml").string();
  for (const std::string& registry : {std::string(), std::string("default"), corpus_registry}) {
    INFO("registry: " << (registry.empty() ? "none" : registry));
    auto shipped = engine_with(source, registry);
    auto reference = engine_with(plain, registry);
    Generator generator(20261203);
    std::size_t findings = 0;
    // A server's calls: one reference window per engine (judged, and told of accepted documents).
    flowguard::CheckRequest shipped_request, reference_request;
    shipped_request.now = reference_request.now = "2026-12-03T00:00:00Z";
    shipped_request.references = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
    reference_request.references = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
    for (int doc = 0; doc < 6; ++doc) {
      // The same documents twice: the second time every reference repeats an earlier document's.
      // (Generated documents have errors, so a window records none of them: request_test has the
      // window answering MSG1006 through the shipped rules.)
      const std::string text = generator.document(doc < 4 ? 600 : 40);
      for (int pass = 0; pass < 4; ++pass) {
        const bool request = pass >= 2;
        const auto a = request ? shipped->check(text, "gen.json", {}, shipped_request) : shipped->check(text, "gen.json");
        const auto b = request ? reference->check(text, "gen.json", {}, reference_request) : reference->check(text, "gen.json");
        findings += a.findings.size();
        // (a rule that fails names its file: the two folders' names aside)
        const std::string b_json = std::regex_replace(flowguard::format_json({b}), std::regex(plain.string()), source.string());
        REQUIRE(without_clock(flowguard::format_json({a})) == without_clock(b_json));
      }
    }
    CHECK(findings > 2000);
  }
}
