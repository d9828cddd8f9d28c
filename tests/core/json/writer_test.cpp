// json::Writer places commas for the caller and writes what it is told, compactly.
#include <catch2/catch.hpp>

#include <string>

#include "flowguard/json/writer.hpp"

using flowguard::json::Writer;

TEST_CASE("Writer: commas between values and members, none after a key or an opening") {
  std::string text;
  Writer out(text);
  out.begin_object().member("a", 1).member("b", "x\"y").key("c").begin_array();
  out.number(-2).boolean(false).null().begin_object().end_object().begin_array().end_array();
  out.end_array().member("d", true).key("e").raw("1.50").end_object();
  CHECK(text == R"({"a":1,"b":"x\"y","c":[-2,false,null,{},[]],"d":true,"e":1.50})");
}

TEST_CASE("Writer: appends to text already there, as a fresh value") {
  std::string text = "[";
  Writer out(text);
  out.begin_object().member("k", std::string("v")).end_object();
  CHECK(text == R"([{"k":"v"})");
}

TEST_CASE("Writer: string_or_null") {
  std::string text;
  const std::string s = "s";
  Writer(text).begin_array().string_or_null(&s).string_or_null(nullptr).end_array();
  CHECK(text == R"(["s",null])");
}
