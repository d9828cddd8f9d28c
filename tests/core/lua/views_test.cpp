// Record, object, array and records views.
#include "support.hpp"

using namespace fgtest;

namespace {

const char* kDocument = R"({
  "records": [
    {"Event ID": "E1", "Zone": "Z", "n": 12, "neg": -7, "f": 25.110, "big": 123456789012345678901,
     "exp": 1e3, "t": true, "fl": false, "z": null, "o": {"k": [1, 2, {"q": 3}], "s": "x"},
     "arr": [10, 20.5, "s"], "keys": "a field named keys", "utf": "żółw\u0000end"},
    {"Zone": "Z", "Event ID": "E1", "n": 12, "neg": -7, "f": 25.110, "big": 123456789012345678901,
     "exp": 1e3, "t": true, "fl": false, "z": null, "o": {"s": "x", "k": [1, 2, {"q": 3}]},
     "arr": [10, 20.5, "s"], "keys": "a field named keys", "utf": "żółw\u0000end"},
    {"Zone": "Z", "Event ID": "E1", "n": 12.0}
  ],
  "pagination": {"currentPage": 1}
})";

struct Fixture {
  TempDir dir;
  std::unique_ptr<RuleHost> host = make_host();
  flowguard::json::Document doc = parse(kDocument);
  std::vector<const flowguard::json::Value*> records;
  std::vector<RuleReport> out;

  Fixture() {
    for (const auto& item : doc.root().find("records")->items()) records.push_back(&item);
  }
  flowguard::Status run(const std::string& id, std::size_t record) {
    return host->run_record(index_of(*host, id), *records[record], record, out);
  }
  flowguard::Status run_doc(const std::string& id) { return host->run_document(index_of(*host, id), records, doc.root(), out); }
};

}  // namespace

TEST_CASE("record views expose fields, methods and nested views", "[lua][views]") {
  Fixture f;
  load_ok(*f.host, f.dir, "views.lua", record_rule("VIEWS", R"(
    assert(rec["Event ID"] == "E1" and rec.Zone == "Z")
    assert(rec.absent == nil and rec[1] == nil)
    assert(math.type(rec.n) == "integer" and rec.n == 12)
    assert(math.type(rec.neg) == "integer" and rec.neg == -7)
    assert(math.type(rec.f) == "float" and rec.f == 25.11)
    assert(math.type(rec.big) == "float" and rec.big > 1e20)
    assert(math.type(rec.exp) == "float" and rec.exp == 1000)
    assert(rec.t == true and rec.fl == false)
    assert(rec.z == fg.null and rec.z ~= nil)
    assert(rec.utf == "żółw\0end" and #rec.utf == 11)
    assert(#rec == 0)
    -- methods
    assert(rec:has("z") and rec:has("Zone") and not rec:has("absent"))
    assert(rec:raw("f") == "25.110" and rec:raw("big") == "123456789012345678901" and rec:raw("Zone") == nil)
    assert(rec:raw("absent") == nil)
    assert(rec:decimals("f") == 3 and rec:decimals("n") == 0 and rec:decimals("Zone") == nil)
    assert(rec:kind("Zone") == "string" and rec:kind("n") == "number" and rec:kind("t") == "boolean"
       and rec:kind("z") == "null" and rec:kind("o") == "object" and rec:kind("arr") == "array"
       and rec:kind("absent") == nil)
    local keys = rec:keys()
    assert(#keys == 14 and keys[1] == "Event ID" and keys[2] == "Zone" and keys[14] == "utf")
    assert(rec:index() == 1)
    assert(type(rec.keys) == "function" and rec:get("keys") == "a field named keys")
    assert(rec:get("Zone") == "Z" and rec:get("absent") == nil)
    -- nested views
    local o = rec.o
    assert(type(o) == "userdata" and #o == 0 and o.s == "x")
    assert(o:index() == nil and o:kind("k") == "array")
    local k = o.k
    assert(#k == 3 and k[1] == 1 and k[2] == 2 and k[4] == nil and k[0] == nil and k.x == nil)
    assert(k[3].q == 3 and k:kind(3) == "object" and k:has(3) and not k:has(4) and k:raw(1) == "1")
    assert(#k:keys() == 0)
    local arr = rec.arr
    assert(#arr == 3 and math.type(arr[1]) == "integer" and math.type(arr[2]) == "float" and arr[3] == "s")
    assert(arr:decimals(2) == 1)
    assert(rec.o == rec.o and rec.o ~= rec.arr)
    -- iteration
    local n = 0
    for key, value in pairs(rec) do n = n + 1 end
    assert(n == 14)
    local sum = 0
    for i, v in ipairs(k) do if type(v) == "number" then sum = sum + v end end
    assert(sum == 3)
    local seen = {}
    for i, v in pairs(arr) do seen[#seen + 1] = i end
    assert(#seen == 3 and seen[3] == 3)
    -- read-only
    local ok, err = pcall(function() rec.Zone = "Y" end)
    assert(not ok and err:find("read%-only"), err)
    assert(tostring(rec):find("record view #1"))
    report("Zone", rec:fingerprint())
  )"));
  const auto status = f.run("VIEWS", 0);
  if (!status.ok()) FAIL(status.error().message);
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].message ==
        R"({"Event ID":"E1","Zone":"Z","arr":[10,20.5,"s"],"big":123456789012345678901,"exp":1e3,"f":25.110,)"
        R"("fl":false,"keys":"a field named keys","n":12,"neg":-7,"o":{"k":[1,2,{"q":3}],"s":"x"},"t":true,)"
        R"("utf":"żółw\u0000end","z":null})");
}

TEST_CASE("fingerprint ignores key order but not number text", "[lua][views]") {
  Fixture f;
  load_ok(*f.host, f.dir, "fp.lua", record_rule("FP", "report(nil, rec:fingerprint())"));
  for (std::size_t i = 0; i < 3; ++i) REQUIRE(f.run("FP", i).ok());
  REQUIRE(f.out.size() == 3);
  CHECK(f.out[0].message == f.out[1].message);
  CHECK(f.out[2].message == R"({"Event ID":"E1","Zone":"Z","n":12.0})");
}

TEST_CASE("document checks get a records view and the root", "[lua][views]") {
  Fixture f;
  load_ok(*f.host, f.dir, "doc.lua", R"(
    return { id = "DOC", severity = "info", description = "d", spec = "s", types = { "t" },
      document = function(records, report, root)
        assert(#records == 3)
        assert(records[1]:index() == 1 and records[3]:index() == 3 and records[4] == nil)
        assert(records[2]["Event ID"] == "E1")
        assert(root.pagination.currentPage == 1 and #root.records == 3)
        assert(root:kind("records") == "array" and root:index() == nil)
        local fps, dups = {}, 0
        for i, r in ipairs(records) do
          local fp = r:fingerprint()
          if fps[fp] then dups = dups + 1 end
          fps[fp] = true
        end
        assert(dups == 1, "dups " .. dups)
        assert(records:fingerprint():sub(1, 2) == "[{")
        report{ record = 2, field = "Zone", message = "duplicate of record 1" }
        report{ pointer = "/pagination/currentPage", message = "page", severity = "warning" }
        report{ message = "whole document" }
      end }
  )");
  const auto status = f.run_doc("DOC");
  if (!status.ok()) FAIL(status.error().message);
  REQUIRE(f.out.size() == 3);
  CHECK(f.out[0].record == std::optional<std::size_t>(1));
  CHECK(f.out[0].field == "Zone");
  CHECK_FALSE(f.out[0].pointer);
  CHECK_FALSE(f.out[1].record);
  CHECK(f.out[1].pointer == std::optional<std::string>("/pagination/currentPage"));
  CHECK(f.out[1].severity == std::optional<flowguard::Severity>(flowguard::Severity::kWarning));
  CHECK_FALSE(f.out[2].record);
  CHECK_FALSE(f.out[2].pointer);
  CHECK(f.out[2].message == "whole document");
}

TEST_CASE("a view kept past its call raises an error", "[lua][views]") {
  Fixture f;
  load_ok(*f.host, f.dir, "stale.lua", R"(
    local kept, kept_nested, kept_records
    return {
      { id = "KEEP", severity = "info", description = "d", spec = "s", types = { "t" },
        record = function(rec, report)
          if kept then
            local ok, err = pcall(function() return kept.Zone end)
            report(nil, tostring(err))
            local ok2, err2 = pcall(function() return kept_nested.s end)
            report(nil, tostring(err2))
          end
          kept, kept_nested = rec, rec.o
        end,
        document = function(records, report, root)
          if kept_records then return kept_records[1].Zone end
          kept_records = records
          return kept:has("Zone")
        end },
    }
  )");
  REQUIRE(f.run("KEEP", 0).ok());
  REQUIRE(f.run("KEEP", 1).ok());
  REQUIRE(f.out.size() == 2);
  CHECK_THAT(f.out[0].message, Catch::Contains("record view used outside its rule call"));
  CHECK_THAT(f.out[1].message, Catch::Contains("record view used outside its rule call"));
  auto status = f.run_doc("KEEP");
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("rule KEEP"));
  CHECK_THAT(status.error().message, Catch::Contains("stale.lua:"));
  CHECK_THAT(status.error().message, Catch::Contains("record view used outside its rule call"));
  f.out.clear();
  // Second document call: the kept records view from the first is stale too.
  status = f.run_doc("KEEP");
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("record view used outside its rule call"));
}

TEST_CASE("a runtime error names the rule, file and line", "[lua][views]") {
  Fixture f;
  load_ok(*f.host, f.dir, "err.lua", record_rule("ERR", "local x = rec.absent\n    return x.field"));
  const auto status = f.run("ERR", 0);
  REQUIRE_FALSE(status.ok());
  const std::string& msg = status.error().message;
  CHECK(status.error().code == flowguard::ErrorCode::kRule);
  CHECK_THAT(msg, Catch::StartsWith("rule ERR ("));
  CHECK_THAT(msg, Catch::Contains((f.dir.path() / "err.lua").string() + ":5: attempt to index a nil value"));
  load_ok(*f.host, f.dir, "err2.lua", record_rule("ERR2", "error({})"));
  const auto status2 = f.run("ERR2", 0);
  REQUIRE_FALSE(status2.ok());
  CHECK_THAT(status2.error().message, Catch::Contains("error object is a table value"));
  // The host still works.
  load_ok(*f.host, f.dir, "ok.lua", record_rule("OK", "report('Zone', rec.Zone)"));
  REQUIRE(f.run("OK", 2).ok());
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].record == std::optional<std::size_t>(2));
}

TEST_CASE("many record calls are cheap", "[lua][views][perf]") {
  Fixture f;
  load_ok(*f.host, f.dir, "perf.lua", record_rule("PERF", R"(
    local from = fg.parse_time(rec.From)
    if rec.Zone ~= "Z" or not from then report("Zone", "bad") end
  )"));
  const auto doc = parse(R"({"Zone": "Z", "From": "10:30", "Price": 1.25})");
  const auto start = std::chrono::steady_clock::now();
  constexpr int kCalls = 200'000;
  for (int i = 0; i < kCalls; ++i) {
    if (!f.host->run_record(0, doc.root(), static_cast<std::size_t>(i), f.out).ok()) FAIL("call failed");
  }
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("run_record: " << (elapsed / kCalls * 1e9) << " ns per call");
  CHECK(f.out.empty());
  CHECK(elapsed < 10.0);
}

namespace {

// Runs the host's first rule (a record check) on `record`; the messages it reported, in order.
std::vector<std::string> report_messages(RuleHost& host, const flowguard::json::Value& record) {
  std::vector<RuleReport> out;
  const auto status = host.run_record(0, record, 0, out);
  INFO((status.ok() ? std::string() : status.error().message));
  REQUIRE(status.ok());
  std::vector<std::string> messages;
  for (const auto& r : out) messages.push_back(r.message);
  return messages;
}

}  // namespace

TEST_CASE("view:find_keys finds members by key at any depth, ignoring ASCII case", "[lua][views]") {
  TempDir dir;
  auto host = make_host();
  // A message-like record: keys in any case, a match inside an array, an array-valued match (one
  // entry per item), a match whose object value is not searched further, a key needing escapes.
  const auto doc = parse(R"({"CommonBlock": {"S0": {"MPANCore": "1", "x": [{"mpancore": "2"}, {"y": 3}]},
    "a/b": {"MPANCORE": ["4", "5"]}, "MpanCore": {"mpancore": "6"}, "other": null, "empty": []}})");
  load_ok(*host, dir, "fk.lua", record_rule("FK", R"(
    for _, hit in ipairs(rec:find_keys("/0/payload", { mpancore = true })) do
      local v = hit.value
      report(nil, hit.key .. "@" .. hit.pointer .. "=" .. (type(v) == "string" and v or type(v)))
    end
    report(nil, "none:" .. #rec:find_keys("", { absent = true }))
    local ok, err = pcall(function() return rec:find_keys("", "not a table") end)
    report(nil, tostring(ok)))"));
  const std::vector<std::string> got = report_messages(*host, doc.root());
  CHECK(got == std::vector<std::string>{
                   "MPANCore@/0/payload/CommonBlock/S0/MPANCore=1",
                   "mpancore@/0/payload/CommonBlock/S0/x/0/mpancore=2",
                   "MPANCORE@/0/payload/CommonBlock/a~1b/MPANCORE/0=4",
                   "MPANCORE@/0/payload/CommonBlock/a~1b/MPANCORE/1=5",
                   "MpanCore@/0/payload/CommonBlock/MpanCore=userdata",
                   "none:0",
                   "false",
               });
}

TEST_CASE("view:find_keys takes only string keys with a true value, and keys of any length", "[lua][views]") {
  TempDir dir;
  auto host = make_host();
  const std::string long_key(80, 'K');
  const auto doc = parse(R"({"a": {"mpancore": "1"}, ")" + long_key + R"(": "long"})");
  load_ok(*host, dir, "fk2.lua", record_rule("FK2", R"(
    report(nil, "false:" .. #rec:find_keys("", { mpancore = false }))
    report(nil, "array:" .. #rec:find_keys("", { "mpancore" }))
    local long = string.rep("k", 80)
    local hits = rec:find_keys("", { [long] = true, mpancore = 1 })
    for _, hit in ipairs(hits) do report(nil, hit.pointer .. "=" .. hit.value) end)"));
  const std::vector<std::string> got = report_messages(*host, doc.root());
  CHECK(got == std::vector<std::string>{"false:0", "array:0", "/a/mpancore=1", "/" + long_key + "=long"});
}

TEST_CASE("view:dig follows object keys, exact first, else ignoring ASCII case", "[lua][views]") {
  TempDir dir;
  auto host = make_host();
  const auto doc = parse(R"({"commonblock": {"S1": {"senderUniqueReference": "R1", "SENDERUNIQUEREFERENCE": "R2"},
    "s1": {"x": 1}, "arr": [{"k": 1}]}})");
  load_ok(*host, dir, "dig.lua", record_rule("DIG", R"(
    local v, a, b, c = rec:dig("CommonBlock", "S1", "senderUniqueReference")
    report(nil, tostring(v) .. " " .. a .. "/" .. b .. "/" .. c)
    local w, _, d = rec:dig("CommonBlock", "s1")   -- exact "s1" wins over the earlier "S1"
    report(nil, w.x .. " " .. d)
    local u, _, e, f = rec:dig("CommonBlock", "S1", "SENDERuniqueREFERENCE")  -- no exact: the first ignoring case
    report(nil, u .. " " .. f)
    report(nil, tostring((rec:dig("CommonBlock", "arr", "k"))) .. " " .. tostring((rec:dig("CommonBlock", "absent"))) ..
                " " .. tostring((rec:dig("CommonBlock", "S1", "senderUniqueReference", "deeper"))))
    local ok = pcall(function() return rec:dig("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q") end)
    report(nil, tostring(ok)))"));
  const std::vector<std::string> got = report_messages(*host, doc.root());
  CHECK(got == std::vector<std::string>{"R1 commonblock/S1/senderUniqueReference", "1 s1", "R1 senderUniqueReference",
                                        "nil nil nil", "false"});
}
