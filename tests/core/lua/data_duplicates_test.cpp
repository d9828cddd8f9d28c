// records:duplicates() and shared read-only data (fg.data).
#include <set>

#include "support.hpp"

// White-box: the content hash behind records:duplicates() (core/lua/internal.hpp, which needs the
// Lua headers, so it is declared here rather than included).
namespace flowguard::lua::detail {
std::uint64_t content_hash(const json::Value& value) noexcept;
}

using namespace fgtest;

namespace {

std::string doc_rule(const std::string& id, const std::string& body) {
  return "return { id = \"" + id +
         "\", severity = \"warning\", description = \"d\", spec = \"s\", types = { \"t.x\" },\n"
         "  document = function(records, report, root)\n" +
         body + "\n  end }\n";
}

struct Docs {
  flowguard::json::Document doc;
  std::vector<const flowguard::json::Value*> records;
  explicit Docs(const std::string& text) : doc(parse(text)) {
    for (const auto& item : doc.root().items()) records.push_back(&item);
  }
};

// Runs DUPS on `text` (an array of records): "first>duplicate" per pair.
std::vector<std::string> duplicates(RuleHost& host, const std::string& text) {
  Docs d(text);
  std::vector<RuleReport> out;
  const auto status = host.run_document(index_of(host, "DUPS"), d.records, d.doc.root(), out);
  if (!status.ok()) FAIL(status.error().message);
  std::vector<std::string> pairs;
  for (const auto& r : out) pairs.push_back(r.message);
  return pairs;
}

const char* kDupsBody = R"(
  local d = records:duplicates()
  for i, p in ipairs(d) do report{ record = p.duplicate, message = p.first .. ">" .. p.duplicate } end
  -- agrees with fingerprints
  local seen, n = {}, 0
  for i = 1, #records do
    local fp = records[i]:fingerprint()
    if seen[fp] then n = n + 1; assert(d[n].first == seen[fp] and d[n].duplicate == i, "disagrees at " .. i) else seen[fp] = i end
  end
  assert(n == #d, "fingerprints found " .. n .. ", duplicates() " .. #d))";

const char* kRecords = R"([
  {"a": 1, "b": "x", "o": {"p": [1, 2], "q": null}},
  {"b": "x", "a": 1, "o": {"q": null, "p": [1, 2]}},
  {"a": 1, "b": "x", "o": {"p": [2, 1], "q": null}},
  {"a": 1.0, "b": "x", "o": {"p": [1, 2], "q": null}},
  {"a": "1", "b": "x", "o": {"p": [1, 2], "q": null}},
  {"a": 1, "b": "x", "o": {"p": [1, 2], "q": null}, "c": true},
  {"a": 1, "b": "x", "o": {"q": null, "p": [1, 2]}},
  [1, 2], [2, 1], [1, 2], "s", "s", 7, null, null,
  {"k": 1, "k": 2}, {"k": 2, "k": 1}, {"k": 1, "k": 2},
  {}, {}
])";

}  // namespace

TEST_CASE("records:duplicates() finds repeats with key order ignored and numbers by text", "[lua][duplicates]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "d.lua", doc_rule("DUPS", kDupsBody));
  const std::vector<std::string> expected = {"1>2", "1>7", "8>10", "11>12", "14>15", "16>18", "19>20"};
  CHECK(duplicates(*host, kRecords) == expected);
  CHECK(duplicates(*host, "[]").empty());
  CHECK(duplicates(*host, R"([{"a": 1}])").empty());
}

TEST_CASE("records:duplicates() checks content when hashes collide", "[lua][duplicates]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "d.lua", doc_rule("DUPS", kDupsBody));
  for (const std::uint64_t mask : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xF}}) {
    INFO("mask " << mask);
    host->set_duplicate_hash_mask_for_testing(mask);  // 0: every record has the same hash
    const std::vector<std::string> expected = {"1>2", "1>7", "8>10", "11>12", "14>15", "16>18", "19>20"};
    CHECK(duplicates(*host, kRecords) == expected);
    CHECK(duplicates(*host, R"([{"a": 1}, {"a": 2}, {"b": 1}, [1], "a", 1, {"a": 1}])") == std::vector<std::string>{"1>7"});
  }
}

TEST_CASE("records:duplicates() agrees with fingerprints on many records, whatever the hashes", "[lua][duplicates]") {
  // 400 records drawn from a few dozen contents, keys in either order, numbers as "n" or "n.0",
  // nested arrays; masks that make hashes collide in every way the table can see (one slot,
  // neighbouring slots, long probe runs that wrap around the end of the table).
  std::string text = "[";
  for (int i = 0; i < 400; ++i) {
    const int a = (i * 7) % 11, b = i % 3, c = i % 4;  // 132 distinct contents
    const std::string av = std::to_string(a) + (c == 3 ? ".0" : "");
    const std::string bv = "\"v" + std::to_string(b) + "\"";
    const std::string cv = "[" + std::to_string(c) + ", {\"x\": " + std::to_string(b) + "}]";
    if (i != 0) text += ",";
    text += (i % 2 == 0) ? "{\"a\": " + av + ", \"b\": " + bv + ", \"c\": " + cv + "}"
                         : "{\"c\": " + cv + ", \"b\": " + bv + ", \"a\": " + av + "}";
  }
  text += "]";
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "d.lua", doc_rule("DUPS", kDupsBody));  // asserts agreement with fingerprints
  const std::vector<std::string> expected = duplicates(*host, text);
  CHECK(expected.size() == 400 - 132);
  for (const std::uint64_t mask : {std::uint64_t{0}, std::uint64_t{0xF}, std::uint64_t{0xFFFF000000000000},
                                   std::uint64_t{0xFFFF0000000003F0}, std::uint64_t{0x00000000000003FF}}) {
    INFO("mask " << mask);
    host->set_duplicate_hash_mask_for_testing(mask);
    CHECK(duplicates(*host, text) == expected);
  }
}

TEST_CASE("the content hash reads every byte of strings of every length", "[lua][duplicates][hash]") {
  using flowguard::lua::detail::content_hash;
  // Strings of 0..70 bytes, and each of them with one byte changed at every position (to two
  // values): every length path (1-3, 4-7, 8-16 bytes, 16-byte blocks with an overlapping tail)
  // must see every byte, so all these distinct strings hash apart.
  std::string text = "[";
  std::size_t count = 0;
  auto add = [&](const std::string& s) {
    if (count++ != 0) text += ',';
    text += '"' + s + '"';
  };
  for (std::size_t n = 0; n <= 70; ++n) {
    std::string base;
    for (std::size_t i = 0; i < n; ++i) base += static_cast<char>('a' + (i * 7) % 26);
    add(base);
    for (std::size_t i = 0; i < n; ++i) {
      for (const char c : {'0', 'Z'}) {
        std::string s = base;
        s[i] = c;
        add(s);
      }
    }
  }
  text += ']';
  const auto doc = parse(text);
  std::set<std::uint64_t> hashes;
  for (const auto& item : doc.root().items()) hashes.insert(content_hash(item));
  CHECK(hashes.size() == count);

  // The same content hashes the same: key order ignored, numbers by their text, kinds apart.
  const auto same = parse(R"([{"a": 1, "b": [1, "x"]}, {"b": [1, "x"], "a": 1}])");
  CHECK(content_hash(same.root().items()[0]) == content_hash(same.root().items()[1]));
  const auto apart = parse(R"([1, 1.0, "1", [1, 2], [2, 1], {"a": 1}, {"a": "1"}, {"b": 1}, {"a": 1, "a": 1}, null,
                              false, true, "", [], {}, [[]], [{}], {"k": {}}, {"k": []}, "null", "true"])");
  std::set<std::uint64_t> distinct;
  for (const auto& item : apart.root().items()) distinct.insert(content_hash(item));
  CHECK(distinct.size() == apart.root().items().size());
}

TEST_CASE("duplicates() is a method of the records list only", "[lua][duplicates]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "r.lua", record_rule("R", "rec:duplicates()"));
  const auto doc = parse(R"({"a": 1})");
  std::vector<RuleReport> out;
  const auto status = host->run_record(0, doc.root(), 0, out);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("duplicates() works on the records of a document check"));
}

TEST_CASE("fg.data views are read-only, valid across calls, and go stale when replaced", "[lua][data]") {
  TempDir dir;
  auto host = make_host();
  auto registry = std::make_shared<const flowguard::json::Document>(parse(
      R"({"units": [{"id": "T_A-1", "fuel": "CCGT", "cap": 420.50}, {"id": "E_B-2", "fuel": "WIND"}],
          "version": 3, "name": "registry"})"));
  host->set_data("registry", registry);
  host->set_data("limit", std::make_shared<const flowguard::json::Document>(parse("5000")));
  load_ok(*host, dir, "a.lua", R"(
    local kept   -- a data view kept across calls (unlike record views)
    return { id = "DATA", severity = "error", description = "d", spec = "s", types = { "t.x" },
      record = function(rec, report)
        local r = fg.data.registry
        if kept == nil then kept = r.units end
        assert(fg.data.limit == 5000 and fg.data.absent == nil)
        assert(r:kind("units") == "array" and r:has("version") and not r:has("nope"))
        assert(#kept == 2 and kept[1].id == "T_A-1" and kept[2]:get("fuel") == "WIND")
        assert(kept[1]:raw("cap") == "420.50" and kept[1]:decimals("cap") == 2)
        local keys = table.concat(r:keys(), ",")
        assert(keys == "units,version,name", keys)
        local n = 0
        for i, u in ipairs(kept) do n = n + 1 end
        for k, v in pairs(r) do n = n + 1 end
        assert(n == 5)
        assert(kept == r.units)
        assert(not pcall(function() r.version = 4 end))
        assert(not pcall(function() fg.data.registry = 1 end))
        assert(not pcall(function() fg.data.other = 1 end))
        report("x", tostring(r.version) .. " " .. tostring(rec:index()))
      end })");
  load_ok(*host, dir, "b.lua", R"(
    local kept
    return { id = "STALE", severity = "error", description = "d", spec = "s", types = { "t.x" },
      record = function(rec, report)
        if kept == nil then kept = fg.data.registry return end
        local ok, err = pcall(function() return kept.version end)
        report("x", tostring(ok) .. " " .. tostring(err) .. " " .. tostring(fg.data.registry and fg.data.registry.version))
      end })");
  const auto rec = parse(R"({"x": 1})");
  std::vector<RuleReport> out;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto status = host->run_record(index_of(*host, "DATA"), rec.root(), i, out);
    if (!status.ok()) FAIL(status.error().message);
  }
  REQUIRE(out.size() == 3);
  CHECK(out[2].message == "3 3");
  registry.reset();  // the host keeps the document alive

  out.clear();
  REQUIRE(host->run_record(index_of(*host, "STALE"), rec.root(), 0, out).ok());
  REQUIRE(host->run_record(index_of(*host, "STALE"), rec.root(), 0, out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].message == "true 3 3");
  host->set_data("registry", std::make_shared<const flowguard::json::Document>(parse(R"({"version": 4})")));
  REQUIRE(host->run_record(index_of(*host, "STALE"), rec.root(), 0, out).ok());
  REQUIRE(out.size() == 2);
  CHECK_THAT(out[1].message, Catch::StartsWith("false ") && Catch::Contains("fg.data view used after its data was replaced or removed") &&
                                 Catch::EndsWith(" 4"));
  host->set_data("registry", nullptr);
  REQUIRE(host->run_record(index_of(*host, "STALE"), rec.root(), 0, out).ok());
  REQUIRE(out.size() == 3);
  CHECK_THAT(out[2].message, Catch::EndsWith(" nil"));
}

TEST_CASE("fg.data is visible at load time and in document checks", "[lua][data]") {
  TempDir dir;
  auto host = make_host();
  host->set_data("codes", std::make_shared<const flowguard::json::Document>(parse(R"(["RCP1008", "MSG1006"])")));
  load_ok(*host, dir, "a.lua", R"(
    local first = fg.data.codes[1]
    return { id = "DOC", severity = "error", description = "d", spec = "s", types = { "t.x" },
      document = function(records, report, root)
        report{ message = first .. " " .. fg.data.codes[2] .. " " .. #fg.data.codes }
      end })");
  Docs d("[]");
  std::vector<RuleReport> out;
  REQUIRE(host->run_document(0, d.records, d.doc.root(), out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].message == "RCP1008 MSG1006 2");
}

TEST_CASE("records:record_pointer(i) gives where each record is, when the engine says", "[lua][records]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "p.lua", doc_rule("PTRS", R"(
    for i = 1, #records do report{ record = i, message = tostring(records:record_pointer(i)) } end
    report{ message = tostring(records:record_pointer(0)) .. "," .. tostring(records:record_pointer(#records + 1)) })"));
  Docs d(R"([{"a": 1}, {"b": 2}])");
  const std::vector<std::string> pointers = {"/0/payload", "/1/payload"};
  std::vector<RuleReport> out;
  const auto status = host->run_document(0, d.records, [&](std::size_t i) { return pointers.at(i); }, d.doc.root(), out);
  INFO((status.ok() ? std::string() : status.error().message));
  REQUIRE(status.ok());
  REQUIRE(out.size() == 3);
  CHECK(out[0].message == "/0/payload");
  CHECK(out[1].message == "/1/payload");
  CHECK(out[2].message == "nil,nil");
  // Without pointers (or with the wrong number of them) the method answers nil.
  out.clear();
  REQUIRE(host->run_document(0, d.records, d.doc.root(), out).ok());
  CHECK(out[0].message == "nil");
}

TEST_CASE("records:column(key) gives each record's value of one key, nil where it has none", "[lua][records]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "c.lua", doc_rule("COLS", R"(
    local zone, name, nested = records:column("Zone"), records:column("Name"), records:column("Nested")
    for i = 1, #records do
      report{ message = i .. ":" .. tostring(zone[i]) .. "," .. tostring(name[i]) .. "," ..
                        (nested[i] ~= nil and nested[i].inner or "-") .. "," .. math.type(zone[i] or 0) }
    end
    report{ message = tostring(rawlen(zone)) })"));
  // Record 2 lacks Zone; record 3 is not an object; record 1 repeats Name (the first counts, as rec[key]).
  Docs d(R"([{"Zone": 2, "Name": "A", "Name": "B", "Nested": {"inner": "x"}}, {"Name": "C"}, [1, 2], {"Zone": 2.5}])");
  std::vector<RuleReport> out;
  const auto status = host->run_document(0, d.records, d.doc.root(), out);
  INFO((status.ok() ? std::string() : status.error().message));
  REQUIRE(status.ok());
  REQUIRE(out.size() == 5);
  CHECK(out[0].message == "1:2,A,x,integer");
  CHECK(out[1].message == "2:nil,C,-,integer");
  CHECK(out[2].message == "3:nil,nil,-,integer");
  CHECK(out[3].message == "4:2.5,nil,-,float");
}

TEST_CASE("records:duplicates() gives the same pairs when large documents are hashed on several threads", "[lua][records]") {
  std::string text = "[";
  for (int i = 0; i < 30000; ++i) {  // above the parallel-hashing threshold
    const int id = i % 9973 == 0 ? 7 : i;  // records 1, 9974, ... (id 7) repeat one another and record 8 ...
    text += std::string(i ? "," : "") + "{\"id\": " + std::to_string(id) + ", \"v\": \"x" + std::to_string(id % 5) + "\"}";
  }
  text += ",{\"v\": \"x4\", \"id\": 29999}]";  // ... and the last repeats the one before it, keys reordered
  TempDir dir;
  const std::string rule = doc_rule("DUPS", R"(
    for _, d in ipairs(records:duplicates()) do report{ message = d.first .. ">" .. d.duplicate } end)");
  std::vector<std::vector<std::string>> results;
  for (unsigned threads : {1u, 2u, 3u}) {
    Limits limits;
    limits.threads = threads;
    auto host = make_host(limits);
    load_ok(*host, dir, "dups" + std::to_string(threads) + ".lua", rule);
    results.push_back(duplicates(*host, text));
  }
  CHECK(results[0] == std::vector<std::string>{"1>8", "1>9974", "1>19947", "1>29920", "30000>30001"});
  CHECK(results[1] == results[0]);
  CHECK(results[2] == results[0]);
}
