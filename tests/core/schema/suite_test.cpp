// The official JSON-Schema-Test-Suite (draft-07) through CompiledSchema (accepts() and validate())
// and through valijson. The suite is reference material outside the repository: absent -> skipped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"

namespace fs = std::filesystem;
using flowguard::json::Document;
using flowguard::json::Value;
using flowguard::schema::CompiledSchema;

namespace {

// Serializes a value back to JSON text (numbers keep their source text).
void write(std::string& out, const Value& v) {
  switch (v.kind()) {
    case flowguard::json::Kind::kNull: out += "null"; break;
    case flowguard::json::Kind::kTrue: out += "true"; break;
    case flowguard::json::Kind::kFalse: out += "false"; break;
    case flowguard::json::Kind::kNumber: out += v.number_text(); break;
    case flowguard::json::Kind::kString: flowguard::json::write_json_string(out, v.as_string()); break;
    case flowguard::json::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const auto& i : v.items()) {
        if (!first) out += ',';
        first = false;
        write(out, i);
      }
      out += ']';
      break;
    }
    case flowguard::json::Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out += ',';
        first = false;
        flowguard::json::write_json_string(out, m.key);
        out += ':';
        write(out, m.value);
      }
      out += '}';
      break;
    }
  }
}

Document reparse(const Value& v) {
  std::string text;
  write(text, v);
  auto doc = Document::parse(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Cases CompiledSchema is expected NOT to pass, each argued in docs/hardening.md ("draft-07
// conformance"): both need the draft-07 meta-schema (http://json-schema.org/draft-07/schema), a
// document neither the suite's remotes/ nor flowguard ships. The test fails if one of them passes,
// so the list cannot outlive its reason.
const std::set<std::string> kExpectedCompiledFailures = {
    "definitions.json / validate definition against metaschema",
    "ref.json / remote ref, containing refs itself",
};

// Not run through valijson 1.0 (the reference the compiler is compared with): what it cannot do,
// "$id"-based resolution (base-URI changes, plain-name "#foo" anchors, URNs) and remote documents
// (refRemote.json is not run through it at all), and its own deviations from draft-07.
const std::set<std::string> kSkippedValijson = {
    "definitions.json / validate definition against metaschema",
    "ref.json / $ref prevents a sibling $id from changing the base uri",
    "ref.json / remote ref, containing refs itself",
    "ref.json / Recursive references between schemas",
    "ref.json / Location-independent identifier",
    "ref.json / Reference an anchor with a non-relative URI",
    "ref.json / Location-independent identifier with base URI change in subschema",
    "ref.json / refs with relative uris and defs",
    "ref.json / relative refs with absolute uris and defs",
    "ref.json / $id must be resolved against nearest parent, not just immediate parent",
    "ref.json / simple URN base URI with $ref via the URN",
    "ref.json / URN base URI with URN and JSON pointer ref",
    "ref.json / URN base URI with URN and anchor ref",
    "ref.json / ref to if", "ref.json / ref to then", "ref.json / ref to else",
    "ref.json / ref with absolute-path-reference",
    // valijson applies "format" to non-strings
    "format.json / date format", "format.json / date-time format", "format.json / time format",
    // valijson converts 1e-8 to an integer divisor check and fails
    "multipleOf.json / small multiple of large integer",
    // valijson rejects empty reference tokens ("#/definitions//definitions/")
    "ref.json / empty tokens in $ref json-pointer",
};

bool skipped(const std::set<std::string>& set, const std::string& group_id, const std::string& id) {
  return set.count(group_id) || set.count(id);
}

struct Counts {
  int compiled_passed = 0, compiled_failed = 0, expected_failures = 0, delegated = 0;
  int required = 0, required_passed = 0;  // the cases outside optional/
  int valijson_passed = 0, valijson_failed = 0, valijson_skipped = 0;
};

void run_file(const fs::path& file, const std::string& label, bool run_valijson, bool required,
              const flowguard::schema::SchemaSources& sources, Counts& counts,
              std::vector<std::string>& compiled_failures, std::vector<std::string>& valijson_failures) {
  auto parsed = Document::parse(read(file));
  REQUIRE(parsed.ok());
  const Value& groups = parsed.value().root();
  for (const auto& group : groups.items()) {
    std::string gdesc(group.find("description")->as_string());
    Document schema_doc = reparse(*group.find("schema"));
    auto compiled = CompiledSchema::compile(schema_doc, file, sources);
    for (const auto& test : group.find("tests")->items()) {
      std::string group_id = label + " / " + gdesc;
      std::string id = group_id + " / " + std::string(test.find("description")->as_string());
      bool expected = test.find("valid")->as_bool();
      Document instance = reparse(*test.find("data"));

      if (required) ++counts.required;
      std::string failure;
      if (!compiled.ok()) {
        failure = id + " (compile: " + compiled.error().message + ")";
      } else {
        if (!compiled.value().fully_compiled()) ++counts.delegated;
        bool accepted = compiled.value().accepts(instance.root());
        std::vector<flowguard::schema::Violation> violations;
        compiled.value().validate(instance.root(), "", violations);
        if (accepted != expected || violations.empty() != expected)
          failure = id + " (accepts=" + (accepted ? "true" : "false") + ", violations=" + std::to_string(violations.size()) + ")";
      }
      const bool expected_failure = skipped(kExpectedCompiledFailures, group_id, id);
      if (failure.empty()) {
        ++counts.compiled_passed;
        if (required) ++counts.required_passed;
        if (expected_failure) compiled_failures.push_back(id + " passes: remove it from kExpectedCompiledFailures");
      } else if (expected_failure) {
        ++counts.expected_failures;
      } else {
        ++counts.compiled_failed;
        compiled_failures.push_back(failure);
      }

      if (!run_valijson || skipped(kSkippedValijson, group_id, id)) {
        ++counts.valijson_skipped;
        continue;
      }
      auto vj = flowguard::schema::validate_with_valijson(schema_doc, file, instance.root());
      if (vj.ok() && vj.value().empty() == expected) {
        ++counts.valijson_passed;
      } else {
        ++counts.valijson_failed;
        valijson_failures.push_back(id + (vj.ok() ? "" : " (" + vj.error().message + ")"));
      }
    }
  }
}

}  // namespace

TEST_CASE("JSON-Schema-Test-Suite draft-07: CompiledSchema and valijson agree with the suite", "[schema][suite]") {
  const fs::path dir = fs::path(FLOWGUARD_SHARED_DIR) / "specs/JSON-Schema-Test-Suite/tests/draft7";
  if (!fs::is_directory(dir)) {
    WARN("JSON-Schema-Test-Suite skipped: " << dir.string() << " absent");
    return;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());

  // The suite's remote documents, served from its remotes/ folder as the suite's own server would
  // serve them at http://localhost:1234/: an in-process loader, no network.
  flowguard::schema::SchemaSources sources;
  sources.uri_dirs.emplace_back("http://localhost:1234/", dir.parent_path().parent_path() / "remotes");

  Counts counts;
  std::vector<std::string> compiled_failures, valijson_failures;
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    // valijson 1.0 cannot fetch remotes: refRemote.json runs through CompiledSchema only.
    run_file(f, name, name != "refRemote.json", true, sources, counts, compiled_failures, valijson_failures);
  }
  // The formats we implement (optional in the suite); valijson's format support is not under test.
  for (const char* name : {"date.json", "date-time.json", "time.json"}) {
    fs::path f = dir / "optional/format" / name;
    if (fs::exists(f))
      run_file(f, std::string("optional/format/") + name, false, false, sources, counts, compiled_failures,
               valijson_failures);
  }

  std::ostringstream summary;
  summary << "draft-07 suite: CompiledSchema " << counts.required_passed << " of " << counts.required
          << " required cases passed, " << counts.expected_failures << " expected failures (kExpectedCompiledFailures), "
          << counts.compiled_failed << " unexpected failures; " << counts.compiled_passed << " passed with optional/format ("
          << counts.delegated << " delegated to valijson); valijson " << counts.valijson_passed << " passed, "
          << counts.valijson_failed << " failed, " << counts.valijson_skipped << " skipped";
  std::cout << summary.str() << "\n";
  for (const auto& f : compiled_failures) std::cout << "  compiled FAIL: " << f << "\n";
  for (const auto& f : valijson_failures) std::cout << "  valijson FAIL: " << f << "\n";
  // The suite at the commit in its SOURCE file: 927 required cases (refRemote.json's 23 included),
  // all passing but the 4 of kExpectedCompiledFailures.
  CHECK(counts.required == 927);
  CHECK(counts.expected_failures == 4);
  CHECK(counts.required_passed == counts.required - counts.expected_failures);
  CHECK(counts.delegated == 0);
  CHECK(compiled_failures.empty());
  CHECK(valijson_failures.empty());
}
