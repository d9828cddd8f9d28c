// The checking pipeline end to end on a test plugin: recognition, schema findings with pointers and
// positions, native checks, Lua rules, rule failure isolation, caps and input errors.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "flowguard/engine.hpp"

namespace {

std::unique_ptr<flowguard::Engine> make_engine(std::size_t max_findings = 1000, unsigned jobs = 1,
                                               const char* extra_rules = nullptr) {
  flowguard::EngineOptions options;
  options.use_default_dirs = false;
  options.plugin_dirs.emplace_back(TEST_PLUGIN_DIR "/good");
  options.schema_dirs.emplace_back(TEST_DATA_DIR "/schemas");
  options.rule_dirs.emplace_back(TEST_DATA_DIR "/rules");
  if (extra_rules) options.rule_dirs.emplace_back(std::string(TEST_DATA_DIR "/") + extra_rules);
  options.lua_instructions_per_call = 100000;
  options.max_findings = max_findings;
  options.jobs = jobs;
  auto engine = flowguard::Engine::create(options);
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

const flowguard::Finding* find(const flowguard::FileReport& r, const std::string& rule, const std::string& pointer) {
  for (const auto& f : r.findings)
    if (f.rule == rule && f.pointer == pointer) return &f;
  return nullptr;
}

std::string describe(const flowguard::FileReport& r) { return flowguard::format_text({r}); }

}  // namespace

TEST_CASE("a valid document has no findings and its type is recognised from content") {
  auto engine = make_engine();
  const auto r = engine->check(R"([{"id": 1, "when": "01-02-2026", "amount": 10.5}])", "ok.json");
  INFO(describe(r));
  CHECK_FALSE(r.input_error);
  CHECK(r.type == "test.order");
  CHECK(r.type_from_content);
  CHECK(r.records == 1);
  CHECK(r.findings.empty());
  CHECK(r.errors == 0);
}

TEST_CASE("every error at once, with pointer, line and column") {
  auto engine = make_engine();
  const std::string doc =
      "[\n"
      "  {\"id\": 1, \"when\": \"31-02-2026\", \"amount\": 10.555},\n"
      "  {\"id\": 0, \"when\": \"01-02-2026\", \"amount\": 2000, \"extra\": true},\n"
      "  {\"when\": \"1-2-2026\", \"amount\": 1}\n"
      "]\n";
  const auto r = engine->check(doc, "batch.json", "test.order");
  INFO(describe(r));
  CHECK_FALSE(r.type_from_content);

  const auto* date = find(r, "TEST-WHEN-DATE", "/0/when");
  REQUIRE(date);
  CHECK(date->severity == flowguard::Severity::kError);
  CHECK(date->line == 2);
  CHECK(date->column == 21);
  CHECK_THAT(date->message, Catch::Contains("\"31-02-2026\"") && Catch::EndsWith("[test spec §1.2]"));

  const auto* decimals = find(r, "TEST-AMOUNT-DECIMALS", "/0/amount");
  REQUIRE(decimals);
  CHECK(decimals->severity == flowguard::Severity::kWarning);
  CHECK_THAT(decimals->message, Catch::Contains("3 decimal places"));

  CHECK(find(r, "schema.exclusiveMinimum", "/1/id"));
  const auto* extra = find(r, "schema.additionalProperties", "/1/extra");
  REQUIRE(extra);
  CHECK(extra->line == 3);
  CHECK(extra->column == 51);
  CHECK(find(r, "TEST-BIG-AMOUNT", "/1/amount"));
  CHECK(find(r, "schema.required", "/2"));  // missing "id": points at the object
  // A field with a schema finding gets no native-check finding on top of it.
  CHECK(find(r, "schema.minLength", "/2/when"));
  CHECK_FALSE(find(r, "TEST-WHEN-DATE", "/2/when"));
  CHECK(r.errors == 5);
  CHECK(r.warnings == 2);

  // Findings come in document order.
  CHECK(std::is_sorted(r.findings.begin(), r.findings.end(),
                       [](const auto& a, const auto& b) { return a.line < b.line; }));
}

TEST_CASE("a rule that loops yields one finding naming it, the other rules still run") {
  auto engine = make_engine();
  const auto r = engine->check(R"({"data": [{"name": "a"}, {"name": "b", "count": 2}]})", "report.json");
  INFO(describe(r));
  CHECK(r.type == "test.report");
  CHECK(r.records == 2);
  const auto loops = std::count_if(r.findings.begin(), r.findings.end(), [](const auto& f) { return f.rule == "TEST-LOOPS"; });
  CHECK(loops == 1);
  const auto* loop = find(r, "TEST-LOOPS", "/data/0");
  REQUIRE(loop);
  CHECK_THAT(loop->message, Catch::Contains("rule failed") && Catch::Contains("instruction budget"));
  const auto* info = find(r, "TEST-REPORT-COUNT", "/data");
  REQUIRE(info);
  CHECK(info->severity == flowguard::Severity::kInfo);
  CHECK_THAT(info->message, Catch::StartsWith("report has 2 records"));
}

TEST_CASE("max-findings caps what is kept but not what is counted") {
  auto engine = make_engine(2);
  std::string doc = "[";
  for (int i = 0; i < 10; ++i) doc += std::string(i ? "," : "") + R"({"id": 0, "when": "01-02-2026", "amount": 1})";
  doc += "]";
  const auto r = engine->check(doc, "many.json", "test.order");
  CHECK(r.findings.size() == 2);
  CHECK(r.findings_not_shown == 8);
  CHECK(r.errors == 10);
  CHECK_THAT(flowguard::format_text({r}), Catch::Contains("8 more findings not shown"));
}

TEST_CASE("input that is not JSON is an input error with line and column") {
  auto engine = make_engine();
  const auto r = engine->check("[\n  {\"id\": 1,}\n]", "broken.json");
  REQUIRE(r.input_error);
  CHECK(r.input_error->code == flowguard::ErrorCode::kParse);
  CHECK_THAT(r.input_error->message, Catch::StartsWith("broken.json:2:"));
  CHECK(r.findings.empty());
}

TEST_CASE("deep nesting is refused as a limit, not a crash") {
  auto engine = make_engine();
  const std::string doc(200000, '[');
  const auto r = engine->check(doc, "deep.json");
  REQUIRE(r.input_error);
  CHECK(r.input_error->code == flowguard::ErrorCode::kLimit);
}

TEST_CASE("an unrecognised document names the closest types") {
  auto engine = make_engine();
  const auto r = engine->check(R"([{"identifier": 1, "when": "x"}])", "what.json");
  INFO(describe(r));
  CHECK(r.type.empty());
  const auto* f = find(r, "type.unrecognised", "");
  REQUIRE(f);
  CHECK_THAT(f->message, Catch::Contains("closest: test.order"));
  CHECK(r.errors == 1);
}

TEST_CASE("an unknown --type is an input error naming known types") {
  auto engine = make_engine();
  const auto r = engine->check("[]", "x.json", "test.ordr");
  REQUIRE(r.input_error);
  CHECK(r.input_error->code == flowguard::ErrorCode::kUnknownType);
  CHECK_THAT(r.input_error->message, Catch::Contains("closest known types: test.order"));
}

TEST_CASE("duplicate keys are a warning at the repeated key") {
  auto engine = make_engine();
  const auto r = engine->check(R"([{"id": 1, "when": "01-02-2026", "amount": 1, "id": 2}])", "dup.json", "test.order");
  INFO(describe(r));
  const auto dup = std::find_if(r.findings.begin(), r.findings.end(), [](const auto& f) { return f.rule == "json.duplicate-key"; });
  REQUIRE(dup != r.findings.end());
  CHECK(dup->severity == flowguard::Severity::kWarning);
  CHECK(dup->column == 47);
}

TEST_CASE("the JSON report has the documented shape") {
  auto engine = make_engine();
  const auto r = engine->check(R"([{"id": 0, "when": "01-02-2026", "amount": 1}])", "a \"quoted\" name.json");
  const std::string json = flowguard::format_json({r});
  CHECK_THAT(json, Catch::StartsWith(R"({"version":1,"files":[{"path":"a \"quoted\" name.json","type":"test.order")"));
  CHECK_THAT(json, Catch::Contains(R"("rule":"schema.exclusiveMinimum","severity":"error","path":"/0/id","line":1,"column":9)"));
  CHECK_THAT(json, Catch::Contains(R"("summary":{"files":1,"records":1,"errors":1,"warnings":0)"));
}

TEST_CASE("findings are identical, byte for byte, with one job and with several") {
  std::string doc = "[";
  for (int i = 0; i < 4000; ++i) {
    const bool faulty = i % 7 == 0;
    doc += std::string(i ? ",\n" : "") + "{\"id\": " + std::to_string(faulty ? 0 : i + 1) + ", \"when\": \"" +
           (i % 11 == 0 ? "31-02-2026" : "01-02-2026") + "\", \"amount\": " + (i % 13 == 0 ? "1500.125" : "10.5") + "}";
  }
  doc += "]";
  auto one = make_engine(100000, 1);
  auto two = make_engine(100000, 2);
  const auto a = one->check(doc, "big.json", "test.order");
  const auto b = two->check(doc, "big.json", "test.order");
  CHECK(a.errors > 500);
  CHECK(a.warnings > 300);
  CHECK(flowguard::format_json({a}) == flowguard::format_json({b}));
}

TEST_CASE("document rules beside the record stage (several jobs) report what they report after it") {
  std::string doc = "[";
  for (int i = 0; i < 4000; ++i) {
    const int id = i % 500 == 7 ? 42 : i + 1;  // records 7, 507, ... repeat one another
    doc += std::string(i ? ",\n" : "") + "{\"id\": " + std::to_string(id) + ", \"when\": \"01-02-2026\", \"amount\": " +
           (id == 42 ? "7" : std::to_string(i % 97)) + "}";
  }
  doc += "]";
  auto one = make_engine(100000, 1, "rules-overlap");
  auto two = make_engine(100000, 2, "rules-overlap");
  const auto a = one->check(doc, "batch.json", "test.order");
  const auto b = two->check(doc, "batch.json", "test.order");
  INFO(describe(a));
  CHECK(flowguard::format_json({a}) == flowguard::format_json({b}));
  const auto count = [&a](const std::string& rule) {
    return std::count_if(a.findings.begin(), a.findings.end(), [&](const auto& f) { return f.rule == rule; });
  };
  CHECK(count("TEST-ORDER-REPEATS") == 9);  // eight repeats (ids 42: record 41 and every 500th from 7) and the count
  const auto* failed = find(a, "TEST-HALF-BROKEN", "/3000");
  REQUIRE(failed);
  CHECK_THAT(failed->message, Catch::Contains("record 3001 is too much"));
  CHECK(count("TEST-HALF-BROKEN") == 2);  // "id 5 seen" and the failure; the document check is dropped
  CHECK(count("TEST-EARLY-BROKEN") == 2);  // "id 50 seen" and the failure; not "id 2500 seen"
  CHECK(find(a, "TEST-EARLY-BROKEN", "/100"));
  for (unsigned jobs : {3u, 4u}) {
    auto more = make_engine(100000, jobs, "rules-overlap");
    CHECK(flowguard::format_json({a}) == flowguard::format_json({more->check(doc, "batch.json", "test.order")}));
  }
}

TEST_CASE("a streamed array gives the same report as a parsed one, NDJSON the same findings") {
  std::string array = "[\n", ndjson;
  for (int i = 0; i < 2600; ++i) {  // more than two chunks
    const bool faulty = i % 9 == 0;
    const std::string record = "{\"id\": " + std::to_string(faulty ? 0 : i + 1) + ", \"when\": \"" +
                               (i % 10 == 0 ? "31-02-2026" : "01-02-2026") + "\", \"amount\": " + (i % 13 == 0 ? "1.125" : "10.5") +
                               (i % 17 == 0 ? ", \"extra\": 1" : "") + "}";
    array += std::string(i ? ",\n  " : "  ") + record;
    ndjson += record + "\n";
  }
  array += "\n]\n";
  auto engine = make_engine(100000);
  const auto whole = engine->check(array, "batch.json", "test.order");
  std::istringstream array_in(array), ndjson_in(ndjson);
  const auto streamed = engine->check_stream(array_in, "batch.json", "test.order");
  CHECK(whole.errors > 600);
  CHECK(flowguard::format_json({whole}) == flowguard::format_json({streamed}));

  const auto lines = engine->check_stream(ndjson_in, "batch.ndjson", "test.order", true);
  REQUIRE(lines.findings.size() == whole.findings.size());
  for (std::size_t i = 0; i < lines.findings.size(); ++i) {
    CHECK(lines.findings[i].rule == whole.findings[i].rule);
    CHECK(lines.findings[i].pointer == whole.findings[i].pointer);
    CHECK(lines.findings[i].line == static_cast<std::uint32_t>(std::stoul(lines.findings[i].pointer.substr(1)) + 1));
  }
}

TEST_CASE("streaming with several jobs (read and parse ahead) gives the report of one job") {
  std::string array = "[\n", broken;
  for (int i = 0; i < 9500; ++i) {  // three chunks
    const bool faulty = i % 9 == 0;
    array += std::string(i ? ",\n  " : "  ") + "{\"id\": " + std::to_string(faulty ? 0 : i + 1) + ", \"when\": \"" +
             (i % 10 == 0 ? "31-02-2026" : "01-02-2026") + "\", \"amount\": " + (i % 13 == 0 ? "1.125" : "10.5") + "}";
  }
  broken = array + ",\n  {\"id\": 2,, \"when\": 1}\n]\n";  // a broken record in the last chunk
  array += "\n]\n";
  auto one = make_engine(100000, 1);
  auto two = make_engine(100000, 2);
  std::istringstream in1(array), in2(array);
  const auto a = one->check_stream(in1, "batch.json", "test.order");
  const auto b = two->check_stream(in2, "batch.json", "test.order");
  CHECK(a.records == 9500);
  CHECK(a.errors > 2000);
  CHECK(flowguard::format_json({a}) == flowguard::format_json({b}));

  std::istringstream bad1(broken), bad2(broken);
  const auto x = one->check_stream(bad1, "bad.json", "test.order");
  const auto y = two->check_stream(bad2, "bad.json", "test.order");
  REQUIRE(x.input_error);
  REQUIRE(y.input_error);
  CHECK_THAT(x.input_error->message, Catch::StartsWith("bad.json:9502:12: not valid JSON"));
  CHECK(x.input_error->message == y.input_error->message);
}

TEST_CASE("streaming with several jobs: many chunks parsed by either thread, a broken one midway") {
  // Ten chunks: the reader thread and the checking thread both parse chunks (whichever is free),
  // checking stays in stream order. A broken record in the sixth chunk stops the stream at the same
  // place with any number of jobs; the chunks read ahead of it are dropped.
  std::string array = "[", broken = "[";
  for (int i = 0; i < 40000; ++i) {
    const bool faulty = i % 7 == 0;
    const std::string record = "{\"id\": " + std::to_string(faulty ? 0 : i + 1) + ", \"when\": \"" +
                               (i % 11 == 0 ? "30-02-2026" : "01-02-2026") + "\", \"amount\": 10.5}";
    const std::string comma = i ? ",\n" : "";
    array += comma + record;
    broken += comma + (i == 21000 ? std::string("{\"id\": 3, \"when\": }") : record);
  }
  array += "]";
  broken += "]";
  auto one = make_engine(1000000, 1);
  std::istringstream in1(array), bad1(broken);
  const auto a = one->check_stream(in1, "batch.json", "test.order");
  const auto x = one->check_stream(bad1, "bad.json", "test.order");
  REQUIRE(a.records == 40000);
  REQUIRE(x.input_error);
  for (const unsigned jobs : {2u, 3u}) {
    INFO(jobs << " jobs");
    auto many = make_engine(1000000, jobs);
    std::istringstream in(array), bad(broken);
    CHECK(flowguard::format_json({a}) == flowguard::format_json({many->check_stream(in, "batch.json", "test.order")}));
    const auto y = many->check_stream(bad, "bad.json", "test.order");
    REQUIRE(y.input_error);
    CHECK(x.input_error->message == y.input_error->message);
  }
}

TEST_CASE("streaming with several jobs: the reader's share of the record stage changes nothing") {
  // With several jobs the reading thread takes record chunks of the chunk being checked, between
  // reads, while the checking thread runs the document rules. Three stream chunks, rules that fail
  // early and late, document rules: the same report with 1, 2 and 3 jobs.
  std::string array = "[";
  for (int i = 0; i < 12000; ++i) {
    const int id = i % 500 == 7 ? 42 : i + 1;
    array += std::string(i ? ",\n" : "") + "{\"id\": " + std::to_string(id) + ", \"when\": \"" +
             (i % 13 == 0 ? "30-02-2026" : "01-02-2026") + "\", \"amount\": " + std::to_string(i % 97) + "}";
  }
  array += "]";
  auto one = make_engine(100000, 1, "rules-overlap");
  std::istringstream in1(array);
  const auto a = one->check_stream(in1, "batch.json", "test.order");
  CHECK(a.records == 12000);
  CHECK(a.errors > 900);
  for (const unsigned jobs : {2u, 3u}) {
    INFO(jobs << " jobs");
    auto many = make_engine(100000, jobs, "rules-overlap");
    std::istringstream in(array);
    CHECK(flowguard::format_json({a}) == flowguard::format_json({many->check_stream(in, "batch.json", "test.order")}));
  }
}

TEST_CASE("streaming reports a broken record and a broken array at their place in the stream") {
  auto engine = make_engine();
  std::istringstream bad_record("[\n {\"id\": 1, \"when\": \"01-02-2026\", \"amount\": 1},\n {\"id\": 2,, \"when\": 1}\n]");
  const auto r = engine->check_stream(bad_record, "s.json", "test.order");
  REQUIRE(r.input_error);
  CHECK_THAT(r.input_error->message, Catch::StartsWith("s.json:3:11: not valid JSON"));
  std::istringstream trailing("[{\"id\": 1, \"when\": \"01-02-2026\", \"amount\": 1},]");
  const auto t = engine->check_stream(trailing, "t.json", "test.order");
  REQUIRE(t.input_error);
  CHECK_THAT(t.input_error->message, Catch::Contains("trailing commas"));
  std::istringstream not_array("{\"id\": 1}");
  const auto n = engine->check_stream(not_array, "n.json", "test.order");
  REQUIRE(n.input_error);
  CHECK_THAT(n.input_error->message, Catch::Contains("expected '['"));
}

TEST_CASE("a check reads padded bytes in place and files through them, pipes included") {
  std::string doc = "[";
  for (int i = 0; i < 300; ++i)
    doc += std::string(i ? ",\n" : "") + "{\"id\": " + std::to_string(i % 50 == 3 ? 0 : i + 1) +
           ", \"when\": \"01-02-2026\", \"amount\": 10.5}";
  doc += "]";
  auto engine = make_engine();
  const auto copied = engine->check(doc, "batch.json", "test.order");
  const auto in_place = engine->check(flowguard::PaddedBytes(doc), "batch.json", "test.order");
  CHECK(copied.errors == 6);
  CHECK(flowguard::format_json({copied}) == flowguard::format_json({in_place}));

  // A file is read into padded bytes with one read of its size; a pipe has no size and is read to
  // its end.
  const auto dir = std::filesystem::temp_directory_path() / ("fg-padded-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "batch.json", std::ios::binary) << doc;
    const auto from_file = engine->check_file(dir / "batch.json", "test.order");
    auto expected = copied;
    expected.path = (dir / "batch.json").string();
    CHECK(flowguard::format_json({from_file}) == flowguard::format_json({expected}));
  }
  const auto fifo = dir / "pipe.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << doc; });
  const auto from_pipe = engine->check_file(fifo, "test.order");
  writer.join();
  auto expected = copied;
  expected.path = fifo.string();
  CHECK(flowguard::format_json({from_pipe}) == flowguard::format_json({expected}));
  std::filesystem::remove_all(dir);
}

TEST_CASE("input that is not a regular file: refused at once when it cannot be JSON, streamed when large") {
  auto engine = make_engine();
  // /dev/zero was read without end (3.5 GB in 10 s): its first byte already says it is not JSON.
  const auto zeros = engine->check_file("/dev/zero", "test.order");
  REQUIRE(zeros.input_error);
  CHECK(zeros.input_error->code == flowguard::ErrorCode::kParse);
  CHECK_THAT(zeros.input_error->message, Catch::StartsWith("/dev/zero:1:1: not valid JSON: byte 0x00 cannot begin"));

  // A pipe carrying more than the streaming threshold: checked as a stream (as a file that large
  // is), positions those of the whole input. The padding is whitespace between records, so the
  // check itself is cheap.
  ::signal(SIGPIPE, SIG_IGN);  // the reader may stop before the writer
  const auto dir = std::filesystem::temp_directory_path() / ("fg-pipe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto fifo = dir / "large.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string head = "[\n{\"id\": 1, \"when\": \"01-02-2026\", \"amount\": 10.5},";
  const std::size_t padding = flowguard::Engine::kStreamThresholdBytes + (1u << 20);
  const std::string tail = "\n{\"id\": 0, \"when\": \"01-02-2026\", \"amount\": 1}\n]\n";
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out << head;
    const std::string spaces(1u << 20, ' ');
    for (std::size_t written = 0; written < padding; written += spaces.size()) out << spaces;
    out << tail;
  });
  std::ifstream in(fifo, std::ios::binary);
  const auto r = engine->check_input(in, "-", "test.order");
  writer.join();
  INFO(describe(r));
  CHECK_FALSE(r.input_error);
  CHECK(r.records == 2);
  const auto* id = find(r, "schema.exclusiveMinimum", "/1/id");
  REQUIRE(id);
  CHECK(id->line == 3);
  CHECK(id->column == 8);
  CHECK(r.errors == 1);

  // The same through check_file on the pipe's path, and a small input read whole as before.
  std::thread small_writer([&] { std::ofstream(fifo, std::ios::binary) << "[\n" << tail.substr(1); });
  const auto small = engine->check_file(fifo, "test.order");
  small_writer.join();
  CHECK_FALSE(small.input_error);
  CHECK(small.records == 1);
  CHECK(find(small, "schema.exclusiveMinimum", "/0/id"));
  std::filesystem::remove_all(dir);
}
