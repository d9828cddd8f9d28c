// The family registry and the DIP family: what the generic pipeline asks of a message family.
#include <catch2/catch.hpp>

#include <string>

#include "family.hpp"
#include "flowguard/json/writer.hpp"
#include "recognizer.hpp"

using namespace flowguard;

namespace {

json::Document parse(const std::string& text) {
  auto doc = json::Document::parse(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

engine::TypeEntry type_of(std::string plugin) {
  engine::TypeEntry t;
  t.plugin = std::move(plugin);
  return t;
}

}  // namespace

TEST_CASE("family registry: the DIP is registered by its plugin name, other plugins get the defaults") {
  const engine::Family* dip = engine::find_family("dip");
  REQUIRE(dip);
  CHECK(dip->name() == "dip");
  CHECK(&engine::family_of(type_of("dip")) == dip);
  CHECK(engine::find_family("dfs") == nullptr);

  const engine::Family& plain = engine::family_of(type_of("dfs"));
  auto doc = parse(R"({"payload":{"CommonBlock":{"S1":{"senderTimestamp":"2025-03-17T09:00:00+00:00"}}}})");
  CHECK(plain.unwrap(doc.root()).message == &doc.root());
  CHECK(plain.unwrap(doc.root()).suffix.empty());
  CHECK_FALSE(plain.ordering_key(doc.root()));
  MessageInfo info;
  plain.describe(*doc.root().find("payload"), info);
  CHECK_FALSE(info.sender_timestamp);
  std::string out;
  CHECK_FALSE(plain.append_response(out, FileReport{}, "now"));
  CHECK(out.empty());
}

TEST_CASE("DIP family: the payload envelope is unwrapped only when it is the item's one member, an object") {
  const engine::Family& dip = *engine::find_family("dip");
  auto doc = parse(R"([{"payload":{"a":1}}, {"payload":5}, {"payload":{},"x":1}, {"a":1}])");
  const auto messages = engine::locate_messages(doc.root(), dip);
  REQUIRE(messages.size() == 4);
  CHECK(messages[0].pointer() == "/0/payload");
  CHECK(messages[0].value == doc.root().items()[0].find("payload"));
  CHECK(messages[1].pointer() == "/1");
  CHECK(messages[2].pointer() == "/2");
  CHECK(messages[3].pointer() == "/3");
}

TEST_CASE("DIP family: S1 described ignoring key case, an exact key preferred, ordering by senderTimestamp") {
  const engine::Family& dip = *engine::find_family("dip");
  auto doc = parse(R"({"commonBlock":{"s1":{"SENDERTIMESTAMP":"2025-03-17T09:00:00+00:00",
      "senderUniqueReference":"S-1","SENDERUNIQUEREFERENCE":"S-2","senderDIPID":7}}})");
  MessageInfo info;
  dip.describe(doc.root(), info);
  CHECK(info.sender_timestamp == std::optional<std::string>("2025-03-17T09:00:00+00:00"));
  CHECK(info.sender_unique_reference == std::optional<std::string>("S-1"));
  CHECK_FALSE(info.sender_dip_id);  // not a string
  CHECK(dip.ordering_key(doc.root()) == std::optional<std::int64_t>(1742202000));
}

TEST_CASE("DIP family: its run options") {
  EngineOptions options;
  options.flows = true;
  options.timestamp_skew_seconds = 60;
  std::string text;
  json::Writer out(text);
  out.begin_object();
  engine::find_family("dip")->write_run_options(out, options);
  out.end_object();
  CHECK(text == R"({"flows":true,"timestamp_skew_seconds":60})");
}
