// core/json: the positional parser, line/column lookup, pointers and string writing.
// Contracts beyond "no crash": every value's offset locates to a line and column inside the text;
// the pointer built to each value resolves to it (unless a repeated key is on the way); a string written by write_json_string parses back to
// itself; the parallel parse (ParseOptions::threads) gives the serial parse's document or error.
#include <cstdint>
#include <string>
#include <vector>

#include "flowguard/json/document.hpp"
#include "fuzz_support.hpp"

using namespace flowguard;

namespace {

// `resolvable`: no repeated key on the way here (a pointer names the first of repeated keys).
void walk(const json::Document& doc, const json::Value& v, std::string& pointer, int depth, bool resolvable) {
  const auto [line, column] = doc.lines().locate(v.offset());
  FLOWGUARD_FUZZ_CHECK(line >= 1 && column >= 1);
  FLOWGUARD_FUZZ_CHECK(v.offset() < doc.source().size() || doc.source().empty());
  if (depth < 8 && resolvable) FLOWGUARD_FUZZ_CHECK(json::resolve_pointer(doc.root(), pointer) == &v);
  (void)json::preview(v);
  if (v.is_string()) {
    std::string written;
    json::write_json_string(written, v.as_string());
    auto back = json::Document::parse(written);
    // A string the parser accepted is valid UTF-8, so its JSON form parses back to it.
    FLOWGUARD_FUZZ_CHECK(back.ok() && back->root().is_string() && back->root().as_string() == v.as_string());
  }
  const std::size_t size = pointer.size();
  std::size_t index = 0;
  for (const auto& item : v.items()) {
    json::append_pointer(pointer, index++);
    walk(doc, item, pointer, depth + 1, resolvable);
    pointer.resize(size);
  }
  for (const auto& member : v.members()) {
    (void)doc.lines().locate(member.key_offset);
    json::append_pointer(pointer, member.key);
    walk(doc, member.value, pointer, depth + 1, resolvable && v.find_member(member.key) == &member);
    pointer.resize(size);
  }
}

void same(const json::Value& a, const json::Value& b) {
  FLOWGUARD_FUZZ_CHECK(a.kind() == b.kind() && a.offset() == b.offset() && a.size() == b.size());
  if (a.is_string()) FLOWGUARD_FUZZ_CHECK(a.as_string() == b.as_string());
  if (a.is_number()) FLOWGUARD_FUZZ_CHECK(a.number_text() == b.number_text());
  for (std::size_t i = 0; i < a.items().size(); ++i) same(a.items()[i], b.items()[i]);
  for (std::size_t i = 0; i < a.members().size(); ++i) {
    FLOWGUARD_FUZZ_CHECK(a.members()[i].key == b.members()[i].key);
    same(a.members()[i].value, b.members()[i].value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  json::ParseOptions options;
  options.max_depth = 64;
  json::Document doc;
  json::ParseError error;
  const bool ok = json::Document::parse(text, doc, error, options);
  if (ok) {
    std::string pointer;
    walk(doc, doc.root(), pointer, 0, true);
    (void)doc.duplicate_keys();
  } else {
    FLOWGUARD_FUZZ_CHECK(!error.message.empty() && error.line >= 1 && error.column >= 1);
  }

  // The same bytes, read in place from padded memory.
  const PaddedBytes padded(text);
  json::Document in_place;
  json::ParseError in_place_error;
  FLOWGUARD_FUZZ_CHECK(json::Document::parse(padded, in_place, in_place_error, options) == ok);
  if (ok) same(doc.root(), in_place.root());

  // The parallel parse on any size: its split and its fallback must both be invisible.
  json::ParseOptions parallel = options;
  parallel.threads = 3;
  parallel.parallel_min_bytes = 0;
  json::Document split;
  json::ParseError split_error;
  FLOWGUARD_FUZZ_CHECK(json::Document::parse(text, split, split_error, parallel) == ok);
  if (ok) {
    same(doc.root(), split.root());
    FLOWGUARD_FUZZ_CHECK(doc.duplicate_keys().size() == split.duplicate_keys().size());
  } else {
    FLOWGUARD_FUZZ_CHECK(split_error.message == error.message && split_error.offset == error.offset);
  }
  return 0;
}
