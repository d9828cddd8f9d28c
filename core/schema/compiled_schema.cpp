// CompiledSchema: draft-07 compiled into a flat vector of nodes (one per subschema), each holding
// pre-decoded constraints (type bitmask, bounds, sorted property table, compiled patterns, child
// node indices). Evaluation is one function template instantiated twice: a boolean fast path that
// never allocates on valid input and stops at the first failure, and a diagnostic path that builds
// pointers and messages.
//
// Supported: every draft-07 validation keyword (type, enum, const, string/number/array/object
// bounds, pattern, items/additionalItems, contains, uniqueItems, properties/patternProperties/
// additionalProperties, required, propertyNames, dependencies, allOf/anyOf/oneOf/not,
// if/then/else, boolean schemas, definitions) and "$ref" to "#", "#/json/pointer" and relative
// files ("common.schema.json#/definitions/x"). "format" is checked for "date", "date-time" and
// "time" (RFC 3339) only; other formats are annotations. "$ref" resolves as draft-07 says: against
// the base URI that "$id"s make (RFC 3986), to "$id" resources, plain-name anchors ("#foo") and
// URNs, and to documents that are local files or under a SchemaSources URI folder (never the
// network). A "$ref" to a URI found nowhere is delegated to valijson (fully_compiled() == false).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "flowguard/domain/checks.hpp"
#include "flowguard/ascii.hpp"
#include "flowguard/key_index.hpp"
#include "flowguard/utf8.hpp"
#include "flowguard/schema/validator.hpp"
#include "pattern.hpp"
#include "uri.hpp"
#include "valijson_fallback.hpp"

namespace flowguard::schema {

// Types shared by the compiler and the evaluator live in `detail` (not an anonymous namespace)
// because CompiledSchema::Impl, which has external linkage, is built from them.
namespace detail {

constexpr std::uint32_t kNone = 0xFFFFFFFFu;

enum TypeBit : std::uint8_t {
  kTNull = 1,
  kTBool = 2,
  kTInt = 4,  // integral numbers (draft-07: 1.0 is an integer)
  kTNum = 8,  // non-integral numbers
  kTStr = 16,
  kTArr = 32,
  kTObj = 64,
};

enum class Format : std::uint8_t { kNone, kDate, kDateTime, kTime };

struct Prop {
  std::string_view key;
  std::uint32_t node;
  // `node` with its "$ref" chain followed (a draft-07 "$ref" ignores its siblings): the accept
  // path jumps straight there. The diagnostic path walks the chain for the x-spec on the way.
  std::uint32_t target = kNone;
};

struct Dependency {
  std::string_view key;
  std::vector<std::string_view> required;  // array form
  std::uint32_t node = kNone;              // schema form
};

struct Node {
  // What the accept path reads for every value comes first, so a leaf costs one or two cache
  // lines; the rest (object, array and combinator keywords, diagnostics) follows.
  bool is_bool = false;
  bool bool_value = true;
  std::uint8_t types = 0;  // 0 = no "type"
  Format format = Format::kNone;
  bool string_checks = false, number_checks = false, array_checks = false, object_checks = false,
       combinators = false;
  bool has_structure = false;    // any of object_checks, array_checks, combinators
  bool enum_of_strings = false;  // every enum value is a string: membership by string_enum
  // What the accept path does for a leaf of one of the common kinds, without the general walk of
  // value_checks (see Evaluator::accept_value).
  enum class Leaf : std::uint8_t { kGeneral, kBoolean, kStringEnum, kString } leaf = Leaf::kGeneral;
  std::uint32_t ref = kNone;
  std::uint32_t pattern = kNone;
  std::int64_t min_length = -1, max_length = -1;
  const json::Value* const_value = nullptr;
  const json::Value* enum_values = nullptr;  // array
  const json::Value *minimum = nullptr, *maximum = nullptr, *ex_minimum = nullptr, *ex_maximum = nullptr,
                    *multiple_of = nullptr;
  KeyIndex string_enum;

  std::uint32_t doc = 0;
  std::string pointer;  // where it was first reached (for the valijson fallback of subschema())

  std::int64_t min_items = -1, max_items = -1;
  std::uint32_t items = kNone;
  bool tuple_form = false;
  std::vector<std::uint32_t> tuple;
  std::uint32_t additional_items = kNone;
  bool unique_items = false;
  std::uint32_t contains = kNone;

  std::int64_t min_props = -1, max_props = -1;
  std::vector<Prop> props;  // in declaration order
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pattern_props;  // (pattern, node)
  std::uint32_t additional = kNone;
  std::vector<std::string_view> required;
  // For each required key, its index in `props` (or -1 when not declared there): the fast path
  // marks declared properties as it meets them and checks required ones by bit, not by search.
  std::vector<int> required_prop;
  // The same as one mask: the accept path tests every required property in one compare, and
  // walks `required` only when that fails or some required key is not among the first 64 props.
  std::uint64_t required_mask = 0;
  bool required_beyond_mask = false;
  std::uint32_t property_names = kNone;
  std::vector<Dependency> dependencies;

  std::vector<std::uint32_t> all_of, any_of, one_of;
  std::uint32_t not_ = kNone, if_ = kNone, then_ = kNone, else_ = kNone;

  std::string_view spec, expected;
  std::vector<std::pair<std::string_view, std::string_view>> did_you_mean;

  KeyIndex prop_index;  // over props' keys, built when props are final

  void index_props() {
    std::vector<std::string_view> keys;
    keys.reserve(props.size());
    for (const auto& p : props) keys.push_back(p.key);
    prop_index = KeyIndex(keys);
  }

  const Prop* find_prop(std::string_view key) const noexcept {
    const std::uint32_t i = prop_index.find(key);
    return i == KeyIndex::kNotFound ? nullptr : &props[i];
  }
  // The declared property equal to `key` ignoring ASCII case (after an exact lookup failed).
  const Prop* find_prop_ci(std::string_view key) const noexcept;
};

// Membership in an enum whose values are all strings (Node::enum_of_strings).
bool in_string_enum(const Node& n, const json::Value& v) noexcept {
  return v.is_string() && n.string_enum.find(v.as_string()) != KeyIndex::kNotFound;
}

const Prop* Node::find_prop_ci(std::string_view key) const noexcept {
  for (const auto& p : props)
    if (ascii_iequal(p.key, key)) return &p;
  return nullptr;
}

bool is_false_node(const Node& n) { return n.is_bool && !n.bool_value; }

struct Program {
  std::vector<std::unique_ptr<json::Document>> docs;  // [0] = the schema itself, then $ref'd files
  std::vector<std::filesystem::path> doc_paths;
  std::vector<std::string> doc_uris;  // each document's retrieval URI (file://..., or the remote URI)
  // Schema resources by absolute URI without fragment (each document's, each "$id"'s) and
  // plain-name anchors ("uri#name", from a "$id" of "#name"): what "$ref" resolves against.
  struct Resource {
    std::uint32_t doc;
    const json::Value* value;
    std::string pointer;
  };
  std::unordered_map<std::string, Resource> resources;
  std::unordered_map<const json::Value*, std::string> ref_base;  // the base URI at each object with "$ref"
  SchemaSources sources;
  std::vector<Node> nodes;
  std::vector<Pattern> patterns;
  std::unordered_map<const json::Value*, std::uint32_t> by_value;
  bool fully_compiled = true;

  // valijson fallback, per root node, built on first use (the whole-schema one eagerly).
  mutable std::mutex fallback_mutex;
  mutable std::unordered_map<std::uint32_t, std::shared_ptr<ValijsonSchema>> fallbacks;
  mutable std::unordered_map<std::uint32_t, std::string> fallback_errors;

  std::shared_ptr<ValijsonSchema> fallback_for(std::uint32_t root, std::string* error = nullptr) const {
    std::lock_guard lock(fallback_mutex);
    if (auto it = fallbacks.find(root); it != fallbacks.end()) {
      if (error && !it->second) *error = fallback_errors[root];
      return it->second;
    }
    const Node& n = nodes[root];
    auto built = ValijsonSchema::build(*docs[n.doc], doc_paths[n.doc], n.pointer);
    std::shared_ptr<ValijsonSchema> result = built ? built.value() : nullptr;
    if (!built) {
      fallback_errors[root] = built.error().message;
      if (error) *error = built.error().message;
    }
    fallbacks.emplace(root, result);
    return result;
  }
};

}  // namespace detail

using namespace detail;

namespace {

// ---- JSON helpers ----------------------------------------------------------------------------

bool json_equal(const json::Value& a, const json::Value& b) noexcept {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::Kind::kNull:
    case json::Kind::kTrue:
    case json::Kind::kFalse: return true;
    case json::Kind::kNumber: return a.as_double() == b.as_double();
    case json::Kind::kString: return a.as_string() == b.as_string();
    case json::Kind::kArray: {
      auto x = a.items(), y = b.items();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!json_equal(x[i], y[i])) return false;
      return true;
    }
    case json::Kind::kObject: {
      if (a.size() != b.size()) return false;
      for (const auto& m : a.members()) {
        const json::Value* o = b.find(m.key);
        if (!o || !json_equal(m.value, *o)) return false;
      }
      return true;
    }
  }
  return false;
}

std::size_t json_hash(const json::Value& v) noexcept {
  std::size_t h = static_cast<std::size_t>(v.kind()) * 0x9E3779B97F4A7C15ull;
  switch (v.kind()) {
    case json::Kind::kNumber: {
      double d = v.as_double();
      if (d == 0) d = 0;  // -0 == 0
      h ^= std::hash<double>{}(d);
      break;
    }
    case json::Kind::kString: h ^= std::hash<std::string_view>{}(v.as_string()); break;
    case json::Kind::kArray:
      for (const auto& i : v.items()) h = h * 31 + json_hash(i);
      break;
    case json::Kind::kObject:
      for (const auto& m : v.members()) h += std::hash<std::string_view>{}(m.key) ^ (json_hash(m.value) * 7);
      break;
    default: break;
  }
  return h;
}

bool is_integral(const json::Value& v) noexcept {
  if (v.is_integer_text()) return true;
  double d = v.as_double();
  return std::isfinite(d) && std::floor(d) == d;
}

std::uint8_t type_bit(const json::Value& v) noexcept {
  switch (v.kind()) {
    case json::Kind::kNull: return kTNull;
    case json::Kind::kTrue:
    case json::Kind::kFalse: return kTBool;
    case json::Kind::kNumber: return is_integral(v) ? kTInt : kTNum;
    case json::Kind::kString: return kTStr;
    case json::Kind::kArray: return kTArr;
    case json::Kind::kObject: return kTObj;
  }
  return 0;
}

// A string value's length as minLength/maxLength count it: code points, which for a string the
// parser met as plain ASCII are its bytes.
std::int64_t string_length(const json::Value& v) noexcept {
  const std::string_view s = v.as_string();
  return static_cast<std::int64_t>(v.is_plain_ascii() ? s.size() : utf8_code_points(s));
}

__extension__ typedef __int128 i128;  // exact decimal arithmetic for multipleOf

// Exact decimal "a is a multiple of b" from the source texts when both fit; nullopt otherwise.
std::optional<bool> decimal_multiple(std::string_view a, std::string_view b) {
  auto parse = [](std::string_view t, i128& mant, int& exp) {
    std::size_t i = 0;
    bool neg = false;
    if (i < t.size() && t[i] == '-') { neg = true; ++i; }
    mant = 0;
    exp = 0;
    int digits = 0;
    bool frac = false;
    for (; i < t.size(); ++i) {
      char c = t[i];
      if (c >= '0' && c <= '9') {
        if (mant != 0 || c != '0') ++digits;
        if (digits > 30) return false;
        mant = mant * 10 + (c - '0');
        if (frac) --exp;
      } else if (c == '.') {
        frac = true;
      } else if (c == 'e' || c == 'E') {
        long e = std::strtol(std::string(t.substr(i + 1)).c_str(), nullptr, 10);
        if (e > 30 || e < -30) return false;
        exp += static_cast<int>(e);
        break;
      } else {
        return false;
      }
    }
    if (neg) mant = -mant;
    return true;
  };
  i128 ma, mb;
  int ea, eb;
  if (!parse(a, ma, ea) || !parse(b, mb, eb) || mb == 0) return std::nullopt;
  int e = std::min(ea, eb);
  auto scale = [](i128& m, int by) {
    for (int k = 0; k < by; ++k) {
      if (m > (i128(1) << 120) / 10 || m < -((i128(1) << 120) / 10)) return false;
      m *= 10;
    }
    return true;
  };
  if (!scale(ma, ea - e) || !scale(mb, eb - e)) return std::nullopt;
  return ma % mb == 0;
}

bool is_multiple(const json::Value& v, const json::Value& divisor) {
  if (auto exact = decimal_multiple(v.number_text(), divisor.number_text())) return *exact;
  double q = v.as_double() / divisor.as_double();
  if (!std::isfinite(q)) return false;
  return std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

// ---- formats (RFC 3339) ----------------------------------------------------------------------

bool digits_at(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool valid_full_date(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits_at(s, 0, 4, y) || !digits_at(s, 5, 2, m) ||
      !digits_at(s, 8, 2, d))
    return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool valid_full_time(std::string_view s) {
  int h, mi, sec;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':' || !digits_at(s, 0, 2, h) || !digits_at(s, 3, 2, mi) ||
      !digits_at(s, 6, 2, sec))
    return false;
  std::size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int off_h = 0, off_m = 0, sign = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) return false;
  } else if (s[i] == '+' || s[i] == '-') {
    sign = s[i] == '+' ? 1 : -1;
    if (s.size() != i + 6 || s[i + 3] != ':' || !digits_at(s, i + 1, 2, off_h) || !digits_at(s, i + 4, 2, off_m))
      return false;
    if (off_h > 23 || off_m > 59) return false;
  } else {
    return false;
  }
  if (h > 23 || mi > 59 || sec > 60) return false;
  if (sec == 60) {  // leap second: only at 23:59:60 UTC
    int utc = ((h * 60 + mi - sign * (off_h * 60 + off_m)) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59) return false;
  }
  return true;
}

bool valid_format(Format f, std::string_view s) {
  switch (f) {
    case Format::kNone: return true;
    case Format::kDate: return valid_full_date(s);
    case Format::kTime: return valid_full_time(s);
    case Format::kDateTime:
      return s.size() > 11 && (s[10] == 'T' || s[10] == 't') && valid_full_date(s.substr(0, 10)) &&
             valid_full_time(s.substr(11));
  }
  return true;
}

const char* format_wording(Format f) {
  switch (f) {
    case Format::kDate: return "a valid date (yyyy-mm-dd)";
    case Format::kDateTime: return "a valid date-time (RFC 3339, e.g. 2024-03-18T17:30:00Z)";
    case Format::kTime: return "a valid time (RFC 3339, e.g. 17:30:00Z)";
    default: return "a valid value";
  }
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The retrieval URI of a local schema file.
std::string file_uri(const std::filesystem::path& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return "file://" + (ec ? path : absolute).lexically_normal().generic_string();
}

Result<std::unique_ptr<json::Document>> read_document(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, "cannot read schema file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIo, "cannot read schema file " + file.string());
  auto doc = std::make_unique<json::Document>();
  json::ParseError error;
  if (!json::Document::parse(ss.str(), *doc, error)) {
    return make_error(error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
                      file.string() + ":" + std::to_string(error.line) + ":" + std::to_string(error.column) +
                          ": schema is not valid JSON: " + error.message);
  }
  return doc;
}

}  // namespace

// ---- the compiled program ----------------------------------------------------------------------

struct CompiledSchema::Impl : detail::Program {};

namespace {

class Compiler {
 public:
  explicit Compiler(Program& impl) : im_(impl) {}
  std::optional<Error> error;

  std::uint32_t compile(std::uint32_t doc, const json::Value& v, const std::string& pointer) {
    if (error) return 0;
    if (auto it = im_.by_value.find(&v); it != im_.by_value.end()) return it->second;
    auto index = static_cast<std::uint32_t>(im_.nodes.size());
    im_.nodes.emplace_back();
    im_.by_value.emplace(&v, index);
    Node n;
    n.doc = doc;
    n.pointer = pointer;
    fill(n, doc, v, pointer);
    im_.nodes[index] = std::move(n);
    return index;
  }

  std::uint32_t load_doc(const std::filesystem::path& path, std::string uri = {}) {
    auto normal = path.lexically_normal();
    for (std::size_t i = 0; i < im_.doc_paths.size(); ++i)
      if (im_.doc_paths[i] == normal) return static_cast<std::uint32_t>(i);
    auto doc = read_document(normal);
    if (!doc) {
      fail(doc.error().code, doc.error().message);
      return kNone;
    }
    im_.docs.push_back(std::move(doc).value());
    im_.doc_paths.push_back(normal);
    im_.doc_uris.push_back(uri.empty() ? file_uri(normal) : std::move(uri));
    const auto index = static_cast<std::uint32_t>(im_.docs.size() - 1);
    index_document(index);
    return index;
  }

  // Registers the document's resources: itself under its retrieval URI, every "$id" in a schema
  // position (not inside "enum", "const" or other values) with the base URI it makes, and the base
  // URI in force at each "$ref".
  void index_document(std::uint32_t doc) {
    const json::Value& root = im_.docs[doc]->root();
    const std::string& uri = im_.doc_uris[doc];
    index_schema(doc, root, std::string(uri::without_fragment(uri)), "");
    im_.resources.try_emplace(std::string(uri::without_fragment(uri)), Program::Resource{doc, &root, ""});
  }

 private:
  void index_schema(std::uint32_t doc, const json::Value& v, std::string base, const std::string& pointer) {
    if (!v.is_object()) return;
    const auto* ref = v.find("$ref");
    if (ref && ref->is_string()) {
      im_.ref_base[&v] = base;  // draft-07: a sibling "$id" is ignored with the rest
    } else if (const auto* id = v.find("$id"); id && id->is_string()) {
      const std::string target = uri::resolve(base, id->as_string());
      const std::string absolute(uri::without_fragment(target));
      const std::string_view fragment =
          target.size() > absolute.size() ? std::string_view(target).substr(absolute.size() + 1) : std::string_view{};
      if (absolute != base) {
        im_.resources.try_emplace(absolute, Program::Resource{doc, &v, pointer});
        base = absolute;
      }
      if (!fragment.empty() && fragment.front() != '/')
        im_.resources.try_emplace(absolute + "#" + std::string(fragment), Program::Resource{doc, &v, pointer});
    }
    auto sub = [&](const json::Value& c, std::string_view k1, const std::string_view* k2 = nullptr) {
      std::string p = pointer;
      json::append_pointer(p, k1);
      if (k2) json::append_pointer(p, *k2);  // a key may be "" ({"properties": {"": ...}})
      index_schema(doc, c, base, p);
    };
    for (const auto& m : v.members()) {
      const std::string_view k = m.key;
      const json::Value& x = m.value;
      if (k == "properties" || k == "patternProperties" || k == "definitions" || k == "dependencies") {
        if (x.is_object())
          for (const auto& e : x.members()) {
            const std::string_view key = e.key;
            sub(e.value, k, &key);
          }
      } else if (k == "items" || k == "allOf" || k == "anyOf" || k == "oneOf") {
        if (x.is_array())
          for (std::size_t i = 0; i < x.size(); ++i) {
            const std::string index = std::to_string(i);
            const std::string_view token = index;
            sub(x.items()[i], k, &token);
          }
        else sub(x, k);
      } else if (k == "additionalItems" || k == "additionalProperties" || k == "contains" || k == "propertyNames" ||
                 k == "if" || k == "then" || k == "else" || k == "not") {
        sub(x, k);
      }
    }
  }

  // The resource at `absolute` (no fragment): known, or loaded now from a file:// URI, from the
  // sources' URI folders, or (a relative reference from a file whose "$id" is a URI) from the
  // file next to the referring one, as it is deployed. nullptr when nowhere to be found.
  const Program::Resource* resource(const std::string& absolute, std::uint32_t doc, std::string_view ref) {
    if (auto it = im_.resources.find(absolute); it != im_.resources.end()) return &it->second;
    std::optional<std::filesystem::path> file;
    std::error_code ec;
    if (absolute.rfind("file://", 0) == 0) {
      file = std::filesystem::path(absolute.substr(7));
    } else {
      for (const auto& [prefix, dir] : im_.sources.uri_dirs) {
        if (absolute.rfind(prefix, 0) != 0) continue;
        const std::filesystem::path rest(absolute.substr(prefix.size()));
        const auto normal = rest.lexically_normal();
        if (normal.empty() || normal.is_absolute() || *normal.begin() == "..") continue;  // stays under dir
        file = dir / normal;
        break;
      }
      const std::string_view ref_file = uri::without_fragment(ref);
      if (!file && !ref_file.empty() && !uri::split(ref_file).has_scheme && ref_file.front() != '/') {
        auto local = im_.doc_paths[doc].parent_path() / std::filesystem::path(std::string(ref_file));
        if (std::filesystem::is_regular_file(local, ec)) file = local;
      }
    }
    if (!file) return nullptr;
    if (!std::filesystem::is_regular_file(*file, ec)) {  // a local file or a served URI that is not there
      fail(ErrorCode::kIo, "cannot read schema file " + file->string() + " (for " + absolute + ")");
      return nullptr;
    }
    const std::uint32_t loaded = load_doc(*file, absolute);
    if (loaded == kNone) return nullptr;
    if (auto it = im_.resources.find(absolute); it != im_.resources.end()) return &it->second;
    // The same file already loaded under another URI: this URI names it too.
    return &im_.resources.try_emplace(absolute, Program::Resource{loaded, &im_.docs[loaded]->root(), ""}).first->second;
  }

 public:
  // Cycles that never consume instance data ({"$ref": "#"} at the root, allOf loops) would recurse
  // forever at validation time: refuse them here.
  void check_cycles() {
    std::vector<std::uint8_t> state(im_.nodes.size(), 0);
    for (std::uint32_t i = 0; i < im_.nodes.size() && !error; ++i) visit(i, state);
  }

 private:
  void fail(ErrorCode code, std::string message) {
    if (!error) error = Error{code, std::move(message)};
  }
  void schema_error(std::uint32_t doc, const std::string& pointer, const std::string& what) {
    fail(ErrorCode::kSchema, im_.doc_paths[doc].string() + ": invalid schema at \"" + (pointer.empty() ? "#" : pointer) +
                                 "\": " + what);
  }

  void visit(std::uint32_t i, std::vector<std::uint8_t>& state) {
    if (state[i] == 2 || error) return;
    if (state[i] == 1) {
      const Node& n = im_.nodes[i];
      schema_error(n.doc, n.pointer, "\"$ref\" cycle that never reaches instance data (infinite recursion)");
      return;
    }
    state[i] = 1;
    const Node& n = im_.nodes[i];
    auto go = [&](std::uint32_t c) {
      if (c != kNone) visit(c, state);
    };
    go(n.ref);
    for (auto c : n.all_of) go(c);
    for (auto c : n.any_of) go(c);
    for (auto c : n.one_of) go(c);
    go(n.not_);
    go(n.if_);
    go(n.then_);
    go(n.else_);
    for (const auto& d : n.dependencies) go(d.node);
    state[i] = 2;
  }

  std::uint32_t child(std::uint32_t doc, const json::Value& v, const std::string& pointer, std::string_view token) {
    std::string p = pointer;
    json::append_pointer(p, token);
    if (!v.is_object() && !v.is_bool()) {
      schema_error(doc, p, "a schema must be an object or a boolean");
      return kNone;
    }
    return compile(doc, v, p);
  }

  std::int64_t count(std::uint32_t doc, const json::Value& v, const std::string& pointer, std::string_view key) {
    if (!v.is_number() || !is_integral(v) || v.as_double() < 0) {
      schema_error(doc, pointer, "\"" + std::string(key) + "\" must be a non-negative integer");
      return -1;
    }
    return static_cast<std::int64_t>(std::min(v.as_double(), 9.0e18));
  }

  const json::Value* number(std::uint32_t doc, const json::Value& v, const std::string& pointer, std::string_view key) {
    if (!v.is_number()) {
      schema_error(doc, pointer, "\"" + std::string(key) + "\" must be a number");
      return nullptr;
    }
    return &v;
  }

  std::uint32_t resolve_ref(std::uint32_t doc, const json::Value& at, std::string_view ref, const std::string& pointer) {
    const auto base_it = im_.ref_base.find(&at);
    const std::string base = base_it != im_.ref_base.end() ? base_it->second : std::string(uri::without_fragment(im_.doc_uris[doc]));
    const std::string target = uri::resolve(base, ref);
    const std::string absolute(uri::without_fragment(target));
    const std::string raw_fragment = target.size() > absolute.size() ? target.substr(absolute.size() + 1) : std::string();
    const Program::Resource* res = resource(absolute, doc, ref);
    if (error) {
      error->message = "$ref \"" + std::string(ref) + "\" at " + im_.doc_paths[doc].string() + "#" + pointer + ": " +
                       error->message;
      return kNone;
    }
    if (!res) {
      im_.fully_compiled = false;  // a URI with no local document (no network access): valijson is asked
      return kNone;
    }
    const json::Value* value = res->value;
    std::string target_pointer = res->pointer;
    if (!raw_fragment.empty() && raw_fragment.front() != '/') {  // a plain-name anchor ("#foo")
      auto it = im_.resources.find(absolute + "#" + raw_fragment);
      if (it == im_.resources.end()) {
        schema_error(doc, pointer, "\"$ref\": \"" + std::string(ref) + "\" names no \"$id\" anchor (resolved to " + target + ")");
        return kNone;
      }
      res = &it->second;
      value = res->value;
      target_pointer = res->pointer;
    } else if (!raw_fragment.empty()) {
      const std::string fragment = percent_decode(raw_fragment);
      value = json::resolve_pointer(*value, fragment);
      target_pointer += fragment;
    }
    if (!value) {
      schema_error(doc, pointer, "\"$ref\": \"" + std::string(ref) + "\" does not resolve");
      return kNone;
    }
    if (!value->is_object() && !value->is_bool()) {
      schema_error(doc, pointer, "\"$ref\": \"" + std::string(ref) + "\" does not point at a schema");
      return kNone;
    }
    return compile(res->doc, *value, target_pointer);
  }

  std::vector<std::uint32_t> schema_array(std::uint32_t doc, const json::Value& v, const std::string& pointer,
                                          std::string_view key) {
    std::vector<std::uint32_t> out;
    std::string p = pointer;
    json::append_pointer(p, key);
    if (!v.is_array() || v.size() == 0) {
      schema_error(doc, p, "must be a non-empty array of schemas");
      return out;
    }
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(child(doc, v.items()[i], p, std::to_string(i)));
    return out;
  }

  void fill(Node& n, std::uint32_t doc, const json::Value& v, const std::string& pointer) {
    if (v.is_bool()) {
      n.is_bool = true;
      n.bool_value = v.as_bool();
      return;
    }
    if (!v.is_object()) {
      schema_error(doc, pointer, "a schema must be an object or a boolean");
      return;
    }
    // Annotations first (they apply even next to "$ref").
    if (const auto* s = v.find("x-spec"); s && s->is_string()) n.spec = s->as_string();
    if (const auto* s = v.find("x-expected"); s && s->is_string()) n.expected = s->as_string();
    if (const auto* s = v.find("x-did-you-mean"); s && s->is_object())
      for (const auto& m : s->members())
        if (m.value.is_string()) n.did_you_mean.emplace_back(m.key, m.value.as_string());
    // "definitions" are compiled eagerly so subschema("/definitions/x") works.
    if (const auto* defs = v.find("definitions"); defs && defs->is_object()) {
      std::string p = pointer + "/definitions";
      for (const auto& m : defs->members()) child(doc, m.value, p, m.key);
    }
    if (const auto* ref = v.find("$ref"); ref && ref->is_string()) {
      // draft-07: "$ref" makes sibling keywords irrelevant.
      n.ref = resolve_ref(doc, v, ref->as_string(), pointer);
      if (n.ref == kNone && !error) n.is_bool = true;  // delegated; the node itself is never evaluated
      return;
    }

    for (const auto& m : v.members()) {
      if (error) return;
      std::string_view k = m.key;
      const json::Value& x = m.value;
      if (k == "type") {
        auto bit = [&](std::string_view t) -> std::uint8_t {
          if (t == "null") return kTNull;
          if (t == "boolean") return kTBool;
          if (t == "integer") return kTInt;
          if (t == "number") return kTInt | kTNum;
          if (t == "string") return kTStr;
          if (t == "array") return kTArr;
          if (t == "object") return kTObj;
          schema_error(doc, pointer, "unknown type \"" + std::string(t) + "\"");
          return 0;
        };
        if (x.is_string()) n.types = bit(x.as_string());
        else if (x.is_array())
          for (const auto& t : x.items()) {
            if (!t.is_string()) schema_error(doc, pointer, "\"type\" entries must be strings");
            else n.types |= bit(t.as_string());
          }
        else schema_error(doc, pointer, "\"type\" must be a string or an array");
        if (n.types == 0 && x.is_array()) n.types = 0x80;  // "type": [] allows nothing
      } else if (k == "enum") {
        if (!x.is_array()) schema_error(doc, pointer, "\"enum\" must be an array");
        n.enum_values = &x;
      } else if (k == "const") {
        n.const_value = &x;
      } else if (k == "minLength") {
        n.min_length = count(doc, x, pointer, k);
      } else if (k == "maxLength") {
        n.max_length = count(doc, x, pointer, k);
      } else if (k == "pattern") {
        if (!x.is_string()) { schema_error(doc, pointer, "\"pattern\" must be a string"); continue; }
        n.pattern = add_pattern(doc, pointer, x.as_string());
      } else if (k == "format") {
        if (x.is_string()) {
          auto f = x.as_string();
          n.format = f == "date" ? Format::kDate : f == "date-time" ? Format::kDateTime : f == "time" ? Format::kTime : Format::kNone;
        }
      } else if (k == "minimum") {
        n.minimum = number(doc, x, pointer, k);
      } else if (k == "maximum") {
        n.maximum = number(doc, x, pointer, k);
      } else if (k == "exclusiveMinimum") {
        n.ex_minimum = number(doc, x, pointer, k);
      } else if (k == "exclusiveMaximum") {
        n.ex_maximum = number(doc, x, pointer, k);
      } else if (k == "multipleOf") {
        n.multiple_of = number(doc, x, pointer, k);
        if (n.multiple_of && !(x.as_double() > 0)) schema_error(doc, pointer, "\"multipleOf\" must be greater than 0");
      } else if (k == "minItems") {
        n.min_items = count(doc, x, pointer, k);
      } else if (k == "maxItems") {
        n.max_items = count(doc, x, pointer, k);
      } else if (k == "items") {
        if (x.is_array()) {
          n.tuple_form = true;
          std::string p = pointer + "/items";
          for (std::size_t i = 0; i < x.size(); ++i) n.tuple.push_back(child(doc, x.items()[i], p, std::to_string(i)));
        } else {
          n.items = child(doc, x, pointer, k);
        }
      } else if (k == "additionalItems") {
        n.additional_items = child(doc, x, pointer, k);
      } else if (k == "uniqueItems") {
        n.unique_items = x.as_bool();
      } else if (k == "contains") {
        n.contains = child(doc, x, pointer, k);
      } else if (k == "minProperties") {
        n.min_props = count(doc, x, pointer, k);
      } else if (k == "maxProperties") {
        n.max_props = count(doc, x, pointer, k);
      } else if (k == "properties") {
        if (!x.is_object()) { schema_error(doc, pointer, "\"properties\" must be an object"); continue; }
        std::string p = pointer + "/properties";
        for (const auto& pm : x.members()) n.props.push_back({pm.key, child(doc, pm.value, p, pm.key)});
        std::stable_sort(n.props.begin(), n.props.end(), [](const Prop& a, const Prop& b) { return a.key < b.key; });
      } else if (k == "patternProperties") {
        if (!x.is_object()) { schema_error(doc, pointer, "\"patternProperties\" must be an object"); continue; }
        std::string p = pointer + "/patternProperties";
        for (const auto& pm : x.members()) {
          std::uint32_t pat = add_pattern(doc, p, pm.key);
          n.pattern_props.emplace_back(pat, child(doc, pm.value, p, pm.key));
        }
      } else if (k == "additionalProperties") {
        n.additional = child(doc, x, pointer, k);
      } else if (k == "required") {
        if (!x.is_array()) { schema_error(doc, pointer, "\"required\" must be an array"); continue; }
        for (const auto& r : x.items()) {
          if (!r.is_string()) schema_error(doc, pointer, "\"required\" entries must be strings");
          else n.required.push_back(r.as_string());
        }
      } else if (k == "propertyNames") {
        n.property_names = child(doc, x, pointer, k);
      } else if (k == "dependencies") {
        if (!x.is_object()) { schema_error(doc, pointer, "\"dependencies\" must be an object"); continue; }
        std::string p = pointer + "/dependencies";
        for (const auto& dm : x.members()) {
          Dependency d;
          d.key = dm.key;
          if (dm.value.is_array()) {
            for (const auto& r : dm.value.items())
              if (r.is_string()) d.required.push_back(r.as_string());
          } else {
            d.node = child(doc, dm.value, p, dm.key);
          }
          n.dependencies.push_back(std::move(d));
        }
      } else if (k == "allOf") {
        n.all_of = schema_array(doc, x, pointer, k);
      } else if (k == "anyOf") {
        n.any_of = schema_array(doc, x, pointer, k);
      } else if (k == "oneOf") {
        n.one_of = schema_array(doc, x, pointer, k);
      } else if (k == "not") {
        n.not_ = child(doc, x, pointer, k);
      } else if (k == "if") {
        n.if_ = child(doc, x, pointer, k);
      } else if (k == "then") {
        n.then_ = child(doc, x, pointer, k);
      } else if (k == "else") {
        n.else_ = child(doc, x, pointer, k);
      }
      // Everything else ("$schema", "$id", "title", "default", "x-*", unknown keywords) is annotation.
    }
    if (n.if_ == kNone) n.then_ = n.else_ = kNone;  // then/else without if do nothing
    n.string_checks = n.min_length >= 0 || n.max_length >= 0 || n.pattern != kNone || n.format != Format::kNone;
    n.number_checks = n.minimum || n.maximum || n.ex_minimum || n.ex_maximum || n.multiple_of;
    n.array_checks = n.min_items >= 0 || n.max_items >= 0 || n.items != kNone || n.tuple_form || n.unique_items ||
                     n.contains != kNone;
    n.object_checks = n.min_props >= 0 || n.max_props >= 0 || !n.props.empty() || !n.pattern_props.empty() ||
                      n.additional != kNone || !n.required.empty() || n.property_names != kNone ||
                      !n.dependencies.empty();
    n.combinators = !n.all_of.empty() || !n.any_of.empty() || !n.one_of.empty() || n.not_ != kNone || n.if_ != kNone;
    n.has_structure = n.object_checks || n.array_checks || n.combinators;
    n.index_props();
    if (n.enum_values && n.enum_values->is_array() && n.enum_values->size() > 0) {
      std::vector<std::string_view> strings;
      for (const auto& e : n.enum_values->items())
        if (e.is_string()) strings.push_back(e.as_string());
      n.enum_of_strings = strings.size() == n.enum_values->size();
      if (n.enum_of_strings) n.string_enum = KeyIndex(strings);
    }
    n.leaf = leaf_kind(n);
    n.required_prop.clear();
    n.required_mask = 0;
    n.required_beyond_mask = false;
    for (auto r : n.required) {
      const Prop* p = n.props.size() <= 64 ? n.find_prop(r) : nullptr;
      n.required_prop.push_back(p ? static_cast<int>(p - n.props.data()) : -1);
      if (p) n.required_mask |= std::uint64_t{1} << (p - n.props.data());
      else n.required_beyond_mask = true;
    }
  }

  // A leaf with exactly one of these shapes: "type": "boolean" alone; strings from an enum;
  // "type": "string" with lengths and a pattern, or either, or neither. Anything more (const,
  // format, numbers, other types) takes value_checks.
  static Node::Leaf leaf_kind(const Node& n) {
    if (n.is_bool || n.ref != kNone || n.has_structure || n.const_value || n.number_checks) return Node::Leaf::kGeneral;
    if (n.types == kTBool && !n.enum_values && !n.string_checks) return Node::Leaf::kBoolean;
    const bool string_or_any = n.types == kTStr || n.types == 0;
    if (n.enum_values && n.enum_of_strings && string_or_any && !n.string_checks) return Node::Leaf::kStringEnum;
    if (!n.enum_values && n.types == kTStr && n.format == Format::kNone) return Node::Leaf::kString;
    return Node::Leaf::kGeneral;
  }

  std::uint32_t add_pattern(std::uint32_t doc, const std::string& pointer, std::string_view source) {
    auto compiled = Pattern::compile(source);
    if (!compiled) {
      schema_error(doc, pointer, compiled.error().message);
      return kNone;
    }
    im_.patterns.push_back(std::move(compiled).value());
    return static_cast<std::uint32_t>(im_.patterns.size() - 1);
  }

  Program& im_;
};

// ---- evaluation --------------------------------------------------------------------------------

bool is_value_level(std::string_view keyword) {
  static const std::string_view kinds[] = {"type",    "const",   "enum",    "minLength", "maxLength",
                                           "pattern", "format",  "minimum", "maximum",   "exclusiveMinimum",
                                           "exclusiveMaximum", "multipleOf", "anyOf", "oneOf", "not", "false"};
  return std::find(std::begin(kinds), std::end(kinds), keyword) != std::end(kinds);
}

struct Ctx {
  std::vector<Violation>* out = nullptr;
  std::size_t max = 0;
  std::size_t added = 0;
  std::string pointer;
  std::unordered_set<std::string> value_flagged;  // one value-level message per location
  bool full() const { return added >= max; }
};

std::string unescape_token(std::string_view t) {
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '~' && i + 1 < t.size()) {
      out.push_back(t[i + 1] == '1' ? '/' : '~');
      ++i;
    } else {
      out.push_back(t[i]);
    }
  }
  return out;
}

// "\"Delivery Date\"", "item 3", or "the value" (root).
std::string field_name(std::string_view pointer) {
  if (pointer.empty()) return "the value";
  auto slash = pointer.rfind('/');
  std::string token = unescape_token(pointer.substr(slash + 1));
  bool digits = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) return "item " + token;
  std::string out;
  json::write_json_string(out, token);
  return out;
}

std::string quoted(std::string_view s) {
  std::string out;
  json::write_json_string(out, s);
  return out;
}

std::string describe_kind(const json::Value& v) {
  switch (v.kind()) {
    case json::Kind::kNull: return "null";
    case json::Kind::kTrue:
    case json::Kind::kFalse: return std::string("a boolean (") + (v.as_bool() ? "true" : "false") + ")";
    case json::Kind::kNumber: return "a number (" + std::string(v.number_text()) + ")";
    case json::Kind::kString: return "a string (" + json::preview(v) + ")";
    case json::Kind::kArray: return "an array (" + std::to_string(v.size()) + (v.size() == 1 ? " item)" : " items)");
    case json::Kind::kObject: return "an object";
  }
  return "a value";
}

std::string describe_types(std::uint8_t types) {
  std::vector<std::string> names;
  if (types & kTObj) names.push_back("an object");
  if (types & kTArr) names.push_back("an array");
  if (types & kTStr) names.push_back("a string");
  if ((types & kTNum) && (types & kTInt)) names.push_back("a number");
  else if (types & kTInt) names.push_back("an integer");
  if (types & kTBool) names.push_back("a boolean");
  if (types & kTNull) names.push_back("null");
  if (names.empty()) return "nothing (no type is allowed)";
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::string plural(std::int64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// Suggestions pairing unknown keys with declared-but-absent keys in one object.
struct NearMiss {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;  // (found key, intended key)
  std::string_view intended_for(std::string_view found) const {
    for (auto& p : pairs)
      if (p.first == found) return p.second;
    return {};
  }
  std::string_view found_for(std::string_view intended) const {
    for (auto& p : pairs)
      if (p.second == intended) return p.first;
    return {};
  }
};

std::string normalize_key(std::string_view k) {
  std::string out;
  for (char c : k) {
    if (c == ' ' || c == '_' || c == '-') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace

// Plans by (program, node, key shape) in an open-addressing table: a batch has a handful.
struct KeyShapeMemo::Impl {
  struct Plan {
    const void* program = nullptr;  // nullptr: a free slot
    std::uint32_t node = 0, shape = 0;
    std::uint32_t first = 0;  // targets[first, first + members): each member's property target
    std::uint64_t seen = 0;   // the declared properties met, as the member loop marks them
  };
  static constexpr std::size_t kMaxPlans = 4096;  // beyond: no more plans (correct, just slower)
  std::vector<Plan> slots = std::vector<Plan>(16);
  std::vector<std::uint32_t> targets;
  std::size_t used = 0;

  static std::size_t slot_of(const void* program, std::uint32_t node, std::uint32_t shape, std::size_t mask) {
    std::uint64_t h = (reinterpret_cast<std::uintptr_t>(program) >> 4) ^ (std::uint64_t{node} << 32) ^ shape;
    h *= 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(h >> 40) & mask;
  }
  const Plan* find(const void* program, std::uint32_t node, std::uint32_t shape) const noexcept {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = slot_of(program, node, shape, mask);; i = (i + 1) & mask) {
      const Plan& p = slots[i];
      if (!p.program) return nullptr;
      if (p.program == program && p.node == node && p.shape == shape) return &p;
    }
  }
  void add(const void* program, std::uint32_t node, std::uint32_t shape, const std::uint32_t* member_targets,
           std::size_t members, std::uint64_t seen) {
    if (used >= kMaxPlans) return;
    if ((used + 1) * 2 > slots.size()) {
      std::vector<Plan> old(slots.size() * 2);
      old.swap(slots);
      for (const Plan& p : old)
        if (p.program) place(p);
    }
    Plan plan{program, node, shape, static_cast<std::uint32_t>(targets.size()), seen};
    targets.insert(targets.end(), member_targets, member_targets + members);
    place(plan);
    ++used;
  }
  void place(const Plan& plan) {
    const std::size_t mask = slots.size() - 1;
    std::size_t i = slot_of(plan.program, plan.node, plan.shape, mask);
    while (slots[i].program) i = (i + 1) & mask;
    slots[i] = plan;
  }
};

KeyShapeMemo::KeyShapeMemo() : impl_(std::make_unique<Impl>()) {}
KeyShapeMemo::~KeyShapeMemo() = default;
void KeyShapeMemo::clear() noexcept {
  std::fill(impl_->slots.begin(), impl_->slots.end(), Impl::Plan{});
  impl_->targets.clear();
  impl_->used = 0;
}

namespace {

class Evaluator {
 public:
  explicit Evaluator(const Program& im, bool case_insensitive_keys = false)
      : im_(im), ci_(case_insensitive_keys) {}

  // A key matched a declared property only ignoring case (set in any mode, even inside
  // combinator branches: accepts() then defers to validate(), which says what it is).
  bool case_deviation() const noexcept { return case_deviation_; }
  // The items of this array are validated by the caller (ValidateOptions::skip_root_items).
  void skip_items_of(const json::Value* array) noexcept { skip_items_of_ = array; }
  // The accept path reuses property matches per key shape (ValidateOptions::key_shapes).
  void use_memo(KeyShapeMemo* memo) noexcept { memo_ = memo ? &memo->impl() : nullptr; }
  // The diagnostic walk descends only into property values and items the accept path refuses
  // (ValidateOptions::skip_valid_subtrees).
  void skip_valid_subtrees(bool on) noexcept { prune_ = on; }

  template <bool D>
  bool run(std::uint32_t ni, const json::Value& v, Ctx* c, std::string_view spec) const {
    const Node& n = im_.nodes[ni];
    if constexpr (D) {
      if (!n.spec.empty()) spec = n.spec;
    }
    if (n.is_bool) {
      if (n.bool_value) return true;
      if constexpr (D) report(c, "false", v.offset(), field_name(c->pointer) + " is not allowed here", spec);
      return false;
    }
    if (n.ref != kNone) return run<D>(n.ref, v, c, spec);

    // Value-level keywords: the first failure only.
    if (!value_checks<D>(n, v, c, spec)) {
      if constexpr (!D) return false;
      if (n.types && !(n.types & type_bit(v))) return false;  // wrong kind: nothing else is meaningful
      if (c->full()) return false;
      bool rest = structure<D>(n, v, c, spec);
      (void)rest;
      return false;
    }
    if (!n.has_structure) return true;  // a leaf: no call
    return structure<D>(n, v, c, spec);
  }

 private:
  // Accept path for a property value: a leaf (the common case) is checked here, without a call.
  bool accept_value(std::uint32_t target, const json::Value& value, Ctx* c, std::string_view spec) const {
    const Node& leaf = im_.nodes[target];
    switch (leaf.leaf) {
      case Node::Leaf::kBoolean: return value.is_bool();
      case Node::Leaf::kStringEnum:
        return in_string_enum(leaf, value);
      case Node::Leaf::kString: {
        if (!value.is_string()) return false;
        const std::string_view s = value.as_string();
        if (leaf.min_length >= 0 || leaf.max_length >= 0) {
          const std::int64_t len = string_length(value);
          if ((leaf.min_length >= 0 && len < leaf.min_length) || (leaf.max_length >= 0 && len > leaf.max_length))
            return false;
        }
        return leaf.pattern == kNone || im_.patterns[leaf.pattern].search(s);
      }
      case Node::Leaf::kGeneral: break;
    }
    return !leaf.is_bool && leaf.ref == kNone && !leaf.has_structure ? value_checks<false>(leaf, value, c, spec)
                                                                     : run<false>(target, value, c, spec);
  }

  template <bool D>
  bool structure(const Node& n, const json::Value& v, Ctx* c, std::string_view spec) const {
    bool ok = true;
    if (n.object_checks && v.is_object()) {
      ok = object_checks<D>(n, v, c, spec);
      if constexpr (!D) {
        if (!ok) return false;
      }
    }
    if (n.array_checks && v.is_array()) {
      bool r = array_checks<D>(n, v, c, spec);
      if constexpr (!D) {
        if (!r) return false;
      }
      ok = ok && r;
    }
    if (n.combinators) {
      bool r = combinators<D>(n, v, c, spec);
      ok = ok && r;
    }
    return ok;
  }

  void report(Ctx* c, std::string_view keyword, std::uint32_t offset, std::string message, std::string_view spec,
              std::string_view extra_token = {}, bool has_extra = false) const {
    if (c->full()) return;
    std::string pointer = c->pointer;
    if (has_extra) json::append_pointer(pointer, extra_token);
    if (is_value_level(keyword) && !c->value_flagged.insert(pointer).second) return;
    if (!spec.empty()) {
      message += " [";
      message += spec;
      message += "]";
    }
    c->out->push_back(Violation{std::string(keyword), std::move(pointer), offset, std::move(message)});
    ++c->added;
  }

  template <bool D>
  bool value_checks(const Node& n, const json::Value& v, Ctx* c, std::string_view spec) const {
    if (n.types && !(n.types & type_bit(v))) {
      if constexpr (D) {
        report(c, "type", v.offset(),
               field_name(c->pointer) + " is " + describe_kind(v) + "; expected " + describe_types(n.types), spec);
      }
      return false;
    }
    if (n.const_value && !json_equal(*n.const_value, v)) {
      if constexpr (D) {
        report(c, "const", v.offset(),
               field_name(c->pointer) + " is " + json::preview(v) + "; expected " + json::preview(*n.const_value), spec);
      }
      return false;
    }
    if (n.enum_values) {
      bool found = false;
      if (n.enum_of_strings) {
        found = in_string_enum(n, v);
      } else {
        for (const auto& e : n.enum_values->items())
          if (json_equal(e, v)) { found = true; break; }
      }
      if (!found) {
        if constexpr (D) {
          std::string list;
          auto items = n.enum_values->items();
          for (std::size_t i = 0; i < items.size() && i < 12; ++i) list += (i ? ", " : "") + json::preview(items[i]);
          if (items.size() > 12) list += ", … (" + std::to_string(items.size()) + " values)";
          report(c, "enum", v.offset(),
                 field_name(c->pointer) + " is " + json::preview(v) + "; expected " +
                     (items.size() == 1 ? list : "one of " + list),
                 spec);
        }
        return false;
      }
    }
    if (n.string_checks && v.is_string()) {
      std::string_view s = v.as_string();
      if (n.min_length >= 0 || n.max_length >= 0) {
        const std::int64_t len = string_length(v);
        bool too_short = n.min_length >= 0 && len < n.min_length;
        bool too_long = n.max_length >= 0 && len > n.max_length;
        if (too_short || too_long) {
          if constexpr (D) {
            std::string bound;
            if (n.min_length >= 0 && n.max_length >= 0)
              bound = n.min_length == n.max_length ? "exactly " + plural(n.min_length, "character")
                                                   : "between " + std::to_string(n.min_length) + " and " +
                                                         plural(n.max_length, "character");
            else if (n.min_length >= 0) bound = "at least " + plural(n.min_length, "character");
            else bound = "at most " + plural(n.max_length, "character");
            std::string msg = field_name(c->pointer) + " is " + json::preview(v) + " (" + plural(len, "character") +
                              "); expected " + bound;
            if (!n.expected.empty()) msg += ": " + std::string(n.expected);
            report(c, too_short ? "minLength" : "maxLength", v.offset(), std::move(msg), spec);
          }
          return false;
        }
      }
      if (n.pattern != kNone && !im_.patterns[n.pattern].search(s)) {
        if constexpr (D) {
          std::string want = n.expected.empty() ? "a string matching the pattern " + im_.patterns[n.pattern].source()
                                                : std::string(n.expected);
          report(c, "pattern", v.offset(), field_name(c->pointer) + " is " + json::preview(v) + "; expected " + want,
                 spec);
        }
        return false;
      }
      if (n.format != Format::kNone && !valid_format(n.format, s)) {
        if constexpr (D) {
          std::string want = n.expected.empty() ? format_wording(n.format) : std::string(n.expected);
          report(c, "format", v.offset(), field_name(c->pointer) + " is " + json::preview(v) + "; expected " + want,
                 spec);
        }
        return false;
      }
    }
    if (n.number_checks && v.is_number()) {
      double d = v.as_double();
      const char* keyword = nullptr;
      const char* relation = nullptr;
      const json::Value* bound = nullptr;
      if (n.minimum && d < n.minimum->as_double()) {
        keyword = "minimum", relation = "greater than or equal to ", bound = n.minimum;
      } else if (n.ex_minimum && d <= n.ex_minimum->as_double()) {
        keyword = "exclusiveMinimum", relation = "greater than ", bound = n.ex_minimum;
      } else if (n.maximum && d > n.maximum->as_double()) {
        keyword = "maximum", relation = "less than or equal to ", bound = n.maximum;
      } else if (n.ex_maximum && d >= n.ex_maximum->as_double()) {
        keyword = "exclusiveMaximum", relation = "less than ", bound = n.ex_maximum;
      } else if (n.multiple_of && !is_multiple(v, *n.multiple_of)) {
        keyword = "multipleOf", relation = "a multiple of ", bound = n.multiple_of;
      }
      if (keyword) {
        if constexpr (D) {
          std::string msg = field_name(c->pointer) + " is " + std::string(v.number_text()) + "; expected " +
                            (std::strcmp(keyword, "multipleOf") == 0 ? "" : "a number ") + relation +
                            std::string(bound->number_text());
          if (!n.expected.empty()) msg += ": " + std::string(n.expected);
          report(c, keyword, v.offset(), std::move(msg), spec);
        }
        return false;
      }
    }
    return true;
  }

  NearMiss near_misses(const Node& n, const json::Value& v) const {
    NearMiss nm;
    std::vector<std::string_view> absent;  // declared/required keys missing from the instance
    for (const auto& p : n.props)
      if (!find_key(v, p.key)) absent.push_back(p.key);
    for (auto r : n.required)
      if (!find_key(v, r) && std::find(absent.begin(), absent.end(), r) == absent.end()) absent.push_back(r);
    if (absent.empty()) return nm;
    std::vector<bool> used(absent.size(), false);
    for (const auto& m : v.members()) {
      if (n.find_prop(m.key) || (ci_ && n.find_prop_ci(m.key))) continue;
      std::size_t best = SIZE_MAX, best_score = SIZE_MAX;
      for (const auto& [from, to] : n.did_you_mean) {
        if (from != m.key) continue;
        for (std::size_t i = 0; i < absent.size(); ++i)
          if (!used[i] && absent[i] == to) { best = i; best_score = 0; }
      }
      if (best == SIZE_MAX) {
        for (std::size_t i = 0; i < absent.size(); ++i) {
          if (used[i]) continue;
          std::size_t score;
          if (domain::loosely_equal_keys(m.key, absent[i])) {
            score = 0;
          } else {
            std::size_t limit = std::max<std::size_t>(2, absent[i].size() / 4);
            std::size_t d = std::min(domain::edit_distance(m.key, absent[i], limit + 1),
                                     domain::edit_distance(normalize_key(m.key), normalize_key(absent[i]), limit + 1));
            if (d > limit) continue;
            score = d;
          }
          if (score < best_score) { best_score = score; best = i; }
        }
      }
      if (best != SIZE_MAX) {
        used[best] = true;
        nm.pairs.emplace_back(m.key, absent[best]);
      }
    }
    return nm;
  }

  // The member of `v` for key `k`: exact, else (case-insensitive mode) equal ignoring case.
  const json::Value* find_key(const json::Value& v, std::string_view k) const {
    if (!ci_) return v.find(k);
    const json::Member* m = v.find_member_ignoring_case(k);
    return m ? &m->value : nullptr;
  }

  // For the diagnostic walk: true when `v` passes `node` on the accept path with no key that
  // matches only ignoring case (a keyCase warning is a violation the walk must still report).
  bool quietly_accepts(std::uint32_t node, const json::Value& v) const {
    const bool saved = case_deviation_;
    case_deviation_ = false;
    const bool ok = run<false>(node, v, nullptr, {});
    const bool deviated = case_deviation_;
    case_deviation_ = saved || deviated;
    return ok && !deviated;
  }

  bool accepts_key(std::uint32_t node, std::string_view key) const {
    // propertyNames validates keys as strings; our DOM cannot make a string Value without a parse.
    std::string text;
    json::write_json_string(text, key);
    auto doc = json::Document::parse(text);
    return doc && run<false>(node, doc.value().root(), nullptr, {});
  }

  template <bool D>
  bool object_checks(const Node& n, const json::Value& v, Ctx* c, std::string_view spec) const {
    bool ok = true;
    std::optional<NearMiss> nm;
    auto near = [&]() -> const NearMiss& {
      if (!nm) nm = near_misses(n, v);
      return *nm;
    };
    std::uint64_t seen = 0;  // declared properties met, by index (props.size() <= 64)
    // Accept path over a key shape met before: each member's property is known.
    const std::uint32_t shape = D || !memo_ || !n.pattern_props.empty() ? 0 : v.key_shape();
    const auto node_index = static_cast<std::uint32_t>(&n - im_.nodes.data());
    bool planned = false;
    if constexpr (!D) {
      if (shape) {
        if (const auto* plan = memo_->find(&im_, node_index, shape)) {
          // Copied out, and targets read by index: checking a member can add plans for nested
          // objects, which may move the memo's storage.
          const std::uint32_t first = plan->first;
          seen = plan->seen;
          std::size_t i = first;
          for (const auto& m : v.members())
            if (!accept_value(memo_->targets[i++], m.value, c, spec)) return false;
          planned = true;
        }
      }
    }
    // Otherwise, when the shape can be remembered: each member's target, while every member
    // matches a declared property exactly (a key shape never exceeds 64 members).
    std::uint32_t targets[64];
    bool plannable = shape != 0 && !planned && !n.props.empty() && v.size() <= 64;
    if (!planned && (!n.props.empty() || !n.pattern_props.empty() || n.additional != kNone)) {
      for (const auto& m : v.members()) {
        if constexpr (D) {
          if (c->full()) return false;
        }
        bool matched = false;
        std::size_t mark = 0;
        if constexpr (D) {
          mark = c->pointer.size();
        }
        const Prop* p = n.find_prop(m.key);
        if constexpr (!D) {
          if (plannable) {
            if (p) targets[&m - v.members().data()] = p->target;
            else plannable = false;
          }
        }
        if (!p && ci_ && (p = n.find_prop_ci(m.key)) != nullptr) {
          case_deviation_ = true;
          if constexpr (D) {
            report(c, "keyCase", m.key_offset,
                   "key " + quoted(m.key) + " differs in case from the published " + quoted(p->key) +
                       "; it is accepted on ingress, where keys match ignoring case, but " + quoted(p->key) +
                       " is the published spelling and receivers may enforce it",
                   spec, m.key, true);
          }
        }
        if (p) {
          matched = true;
          if (const auto index = static_cast<std::size_t>(p - n.props.data()); index < 64) seen |= std::uint64_t{1} << index;
          bool r;
          if constexpr (!D) {
            r = accept_value(p->target, m.value, c, spec);
          } else if (prune_ && quietly_accepts(p->target, m.value)) {
            r = true;  // nothing to report below here: no pointer, no diagnostic walk
          } else {
            json::append_pointer(c->pointer, m.key);
            r = run<D>(p->node, m.value, c, spec);
            c->pointer.resize(mark);
          }
          if (!r) {
            if constexpr (!D) return false;
            ok = false;
          }
        }
        for (const auto& [pat, node] : n.pattern_props) {
          if (!im_.patterns[pat].search(m.key)) continue;
          matched = true;
          if constexpr (D) json::append_pointer(c->pointer, m.key);
          bool r = run<D>(node, m.value, c, spec);
          if constexpr (D) c->pointer.resize(mark);
          if (!r) {
            if constexpr (!D) return false;
            ok = false;
          }
        }
        if (!matched && n.additional != kNone) {
          const Node& add = im_.nodes[n.additional];
          if (is_false_node(add)) {
            if constexpr (!D) return false;
            ok = false;
            std::string msg = "unknown property " + quoted(m.key);
            if (auto to = near().intended_for(m.key); !to.empty()) msg += "; did you mean " + quoted(to) + "?";
            report(c, "additionalProperties", m.key_offset, std::move(msg), spec, m.key, true);
          } else {
            if constexpr (D) json::append_pointer(c->pointer, m.key);
            bool r = run<D>(n.additional, m.value, c, spec);
            if constexpr (D) c->pointer.resize(mark);
            if (!r) {
              if constexpr (!D) return false;
              ok = false;
            }
          }
        }
      }
    }
    if constexpr (!D) {
      if (plannable) memo_->add(&im_, node_index, shape, targets, v.size(), seen);
    }
    // Accept path: every required property met, by one compare.
    const bool all_required = !n.required_beyond_mask && (seen & n.required_mask) == n.required_mask;
    for (std::size_t i = 0; i < n.required.size() && (D || !all_required); ++i) {
      const std::string_view r = n.required[i];
      const int index = n.required_prop[i];
      if (index >= 0 ? ((seen >> index) & 1) != 0 : find_key(v, r) != nullptr) continue;
      if constexpr (!D) return false;
      ok = false;
      std::string msg = "missing required property " + quoted(r);
      if (auto found = near().found_for(r); !found.empty())
        msg += " (found " + quoted(found) + " \xE2\x80\x94 did you mean " + quoted(r) + "?)";
      report(c, "required", v.offset(), std::move(msg), spec);
    }
    auto count = static_cast<std::int64_t>(v.size());
    if (n.min_props >= 0 && count < n.min_props) {
      if constexpr (!D) return false;
      ok = false;
      report(c, "minProperties", v.offset(),
             field_name(c->pointer) + " has " + std::to_string(count) + (count == 1 ? " property" : " properties") +
                 "; expected at least " + std::to_string(n.min_props),
             spec);
    }
    if (n.max_props >= 0 && count > n.max_props) {
      if constexpr (!D) return false;
      ok = false;
      report(c, "maxProperties", v.offset(),
             field_name(c->pointer) + " has " + std::to_string(count) + " properties; expected at most " +
                 std::to_string(n.max_props),
             spec);
    }
    if (n.property_names != kNone) {
      for (const auto& m : v.members()) {
        if (accepts_key(n.property_names, m.key)) continue;
        if constexpr (!D) return false;
        ok = false;
        report(c, "propertyNames", m.key_offset, "property name " + quoted(m.key) + " is not allowed by \"propertyNames\"",
               spec, m.key, true);
      }
    }
    for (const auto& dep : n.dependencies) {
      if (!find_key(v, dep.key)) continue;
      for (auto r : dep.required) {
        if (find_key(v, r)) continue;
        if constexpr (!D) return false;
        ok = false;
        report(c, "dependencies", v.offset(),
               "missing property " + quoted(r) + " (required when " + quoted(dep.key) + " is present)", spec);
      }
      if (dep.node != kNone && !run<D>(dep.node, v, c, spec)) {
        if constexpr (!D) return false;
        ok = false;
      }
    }
    return ok;
  }

  template <bool D>
  bool array_checks(const Node& n, const json::Value& v, Ctx* c, std::string_view spec) const {
    bool ok = true;
    auto items = v.items();
    auto each = [&](std::size_t i, std::uint32_t node) {
      if constexpr (D) {
        if (prune_ && quietly_accepts(node, items[i])) return true;
        std::size_t mark = c->pointer.size();
        json::append_pointer(c->pointer, i);
        bool r = run<D>(node, items[i], c, spec);
        c->pointer.resize(mark);
        return r;
      } else {
        return run<D>(node, items[i], c, spec);
      }
    };
    if (n.tuple_form) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        if constexpr (D) {
          if (c->full()) return false;
        }
        if (i < n.tuple.size()) {
          if (!each(i, n.tuple[i])) {
            if constexpr (!D) return false;
            ok = false;
          }
        } else if (n.additional_items != kNone) {
          if (is_false_node(im_.nodes[n.additional_items])) {
            if constexpr (!D) return false;
            ok = false;
            report(c, "additionalItems", items[i].offset(),
                   field_name(c->pointer) + " has " + plural(static_cast<std::int64_t>(items.size()), "item") +
                       "; expected at most " + plural(static_cast<std::int64_t>(n.tuple.size()), "item"),
                   spec, std::to_string(i), true);
            break;
          }
          if (!each(i, n.additional_items)) {
            if constexpr (!D) return false;
            ok = false;
          }
        }
      }
    } else if (n.items != kNone && &v != skip_items_of_) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        if constexpr (D) {
          if (c->full()) return false;
          // The diagnostic walk only for items that fail the fast path: in a batch where a few
          // records are wrong, the others cost what valid input costs. A key-case deviation passes
          // the fast path but must still be reported, so it sends the item down the walk too.
          const bool deviation_before = case_deviation_;
          case_deviation_ = false;
          const bool clean = run<false>(n.items, items[i], nullptr, spec) && !case_deviation_;
          case_deviation_ = deviation_before || case_deviation_;
          if (clean) continue;
        }
        if (!each(i, n.items)) {
          if constexpr (!D) return false;
          ok = false;
        }
      }
    }
    auto count = static_cast<std::int64_t>(items.size());
    if (n.min_items >= 0 && count < n.min_items) {
      if constexpr (!D) return false;
      ok = false;
      report(c, "minItems", v.offset(),
             field_name(c->pointer) + " has " + plural(count, "item") + "; expected at least " +
                 plural(n.min_items, "item"),
             spec);
    }
    if (n.max_items >= 0 && count > n.max_items) {
      if constexpr (!D) return false;
      ok = false;
      report(c, "maxItems", v.offset(),
             field_name(c->pointer) + " has " + plural(count, "item") + "; expected at most " +
                 plural(n.max_items, "item"),
             spec);
    }
    if (n.unique_items) {
      std::size_t a = 0, b = 0;
      if (find_duplicate(items, a, b)) {
        if constexpr (!D) return false;
        ok = false;
        report(c, "uniqueItems", v.offset(),
               field_name(c->pointer) + " has duplicate items (item " + std::to_string(a) + " and item " +
                   std::to_string(b) + " are equal); expected unique items",
               spec);
      }
    }
    if (n.contains != kNone) {
      bool any = false;
      for (const auto& item : items)
        if (run<false>(n.contains, item, nullptr, {})) { any = true; break; }
      if (!any) {
        if constexpr (!D) return false;
        ok = false;
        report(c, "contains", v.offset(),
               field_name(c->pointer) + " has no item matching the \"contains\" schema", spec);
      }
    }
    return ok;
  }

  static bool find_duplicate(std::span<const json::Value> items, std::size_t& a, std::size_t& b) {
    if (items.size() <= 16) {
      for (std::size_t i = 0; i < items.size(); ++i)
        for (std::size_t j = i + 1; j < items.size(); ++j)
          if (json_equal(items[i], items[j])) { a = i; b = j; return true; }
      return false;
    }
    std::vector<std::pair<std::size_t, std::size_t>> hashed;  // (hash, index)
    hashed.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) hashed.emplace_back(json_hash(items[i]), i);
    std::sort(hashed.begin(), hashed.end());
    for (std::size_t i = 0; i < hashed.size(); ++i)
      for (std::size_t j = i + 1; j < hashed.size() && hashed[j].first == hashed[i].first; ++j)
        if (json_equal(items[hashed[i].second], items[hashed[j].second])) {
          a = std::min(hashed[i].second, hashed[j].second);
          b = std::max(hashed[i].second, hashed[j].second);
          return true;
        }
    return false;
  }

  // The branch of anyOf/oneOf the instance was clearly meant for, or kNone.
  std::uint32_t meant_branch(const std::vector<std::uint32_t>& branches, const json::Value& v) const {
    auto resolve = [&](std::uint32_t i) {
      for (int guard = 0; guard < 64 && im_.nodes[i].ref != kNone; ++guard) i = im_.nodes[i].ref;
      return i;
    };
    // 1. A discriminator: a property whose const/enum in the branch matches the instance.
    if (v.is_object()) {
      for (auto b : branches) {
        const Node& n = im_.nodes[resolve(b)];
        for (const auto& p : n.props) {
          const Node& pn = im_.nodes[resolve(p.node)];
          if (!pn.const_value && !pn.enum_values) continue;
          const json::Value* x = find_key(v, p.key);
          if (!x) continue;
          bool match = pn.const_value ? json_equal(*pn.const_value, *x) : false;
          if (pn.enum_values)
            for (const auto& e : pn.enum_values->items()) match = match || json_equal(e, *x);
          if (match) return b;
        }
      }
    }
    // 2. Only one branch admits the instance's kind.
    std::uint32_t only = kNone;
    std::size_t admitting = 0;
    for (auto b : branches) {
      const Node& n = im_.nodes[resolve(b)];
      if (n.is_bool && !n.bool_value) continue;
      if (n.types == 0 || (n.types & type_bit(v))) {
        ++admitting;
        only = b;
      }
    }
    return admitting == 1 ? only : kNone;
  }

  template <bool D>
  bool combinators(const Node& n, const json::Value& v, Ctx* c, std::string_view spec) const {
    bool ok = true;
    for (auto s : n.all_of) {
      if (!run<D>(s, v, c, spec)) {
        if constexpr (!D) return false;
        ok = false;
      }
    }
    if (!n.any_of.empty()) {
      bool any = false;
      for (auto s : n.any_of)
        if (run<false>(s, v, nullptr, {})) { any = true; break; }
      if (!any) {
        if constexpr (!D) return false;
        ok = false;
        std::uint32_t meant = meant_branch(n.any_of, v);
        if (meant != kNone) run<D>(meant, v, c, spec);
        else
          report(c, "anyOf", v.offset(),
                 field_name(c->pointer) + " is " + json::preview(v) + "; matches none of the " +
                     std::to_string(n.any_of.size()) + " alternatives",
                 spec);
      }
    }
    if (!n.one_of.empty()) {
      std::size_t matches = 0;
      for (auto s : n.one_of) {
        if (run<false>(s, v, nullptr, {}) && ++matches > 1) break;
      }
      if (matches != 1) {
        if constexpr (!D) return false;
        ok = false;
        std::uint32_t meant = matches == 0 ? meant_branch(n.one_of, v) : kNone;
        if (meant != kNone) {
          run<D>(meant, v, c, spec);
        } else if (matches == 0) {
          report(c, "oneOf", v.offset(),
                 field_name(c->pointer) + " is " + json::preview(v) + "; matches none of the " +
                     std::to_string(n.one_of.size()) + " alternatives",
                 spec);
        } else {
          std::size_t all = 0;
          for (auto s : n.one_of) all += run<false>(s, v, nullptr, {});
          report(c, "oneOf", v.offset(),
                 field_name(c->pointer) + " is " + json::preview(v) + "; matches " + std::to_string(all) +
                     " alternatives, expected exactly one",
                 spec);
        }
      }
    }
    if (n.not_ != kNone && run<false>(n.not_, v, nullptr, {})) {
      if constexpr (!D) return false;
      ok = false;
      report(c, "not", v.offset(), field_name(c->pointer) + " is " + json::preview(v) + "; expected it not to match the \"not\" schema", spec);
    }
    if (n.if_ != kNone) {
      std::uint32_t next = run<false>(n.if_, v, nullptr, {}) ? n.then_ : n.else_;
      if (next != kNone && !run<D>(next, v, c, spec)) {
        if constexpr (!D) return false;
        ok = false;
      }
    }
    return ok;
  }

  const Program& im_;
  bool ci_ = false;
  bool prune_ = false;
  mutable bool case_deviation_ = false;
  const json::Value* skip_items_of_ = nullptr;
  KeyShapeMemo::Impl* memo_ = nullptr;
};

// Compiles docs[0] of `program` (already pushed by the caller); errors as values.
Status build_program(Program& program) {
  Compiler compiler(program);
  compiler.index_document(0);
  compiler.compile(0, program.docs[0]->root(), "");
  if (!compiler.error) compiler.check_cycles();
  if (compiler.error) return std::move(*compiler.error);
  for (Node& n : program.nodes)
    for (Prop& p : n.props) {
      p.target = p.node;
      // check_cycles refused "$ref" cycles; the bound is a second guard.
      for (std::size_t steps = 0; program.nodes[p.target].ref != kNone && steps < program.nodes.size(); ++steps)
        p.target = program.nodes[p.target].ref;
    }
  if (!program.fully_compiled) {
    auto fb = ValijsonSchema::build(*program.docs[0], program.doc_paths[0], "");
    if (!fb) return std::move(fb).error();
    program.fallbacks.emplace(0, fb.value());
  }
  return Ok{};
}

void add_document(Program& program, std::unique_ptr<json::Document> doc, const std::filesystem::path& path) {
  program.docs.push_back(std::move(doc));
  program.doc_paths.push_back(path.lexically_normal());
  program.doc_uris.push_back(file_uri(path));
}

}  // namespace

// ---- public API --------------------------------------------------------------------------------

CompiledSchema::CompiledSchema(std::shared_ptr<Impl> impl, std::uint32_t root, std::string_view inherited_spec)
    : impl_(std::move(impl)), root_(root), inherited_spec_(inherited_spec) {}
CompiledSchema::CompiledSchema(const CompiledSchema&) = default;
CompiledSchema& CompiledSchema::operator=(const CompiledSchema&) = default;
CompiledSchema::CompiledSchema(CompiledSchema&&) noexcept = default;
CompiledSchema& CompiledSchema::operator=(CompiledSchema&&) noexcept = default;
CompiledSchema::~CompiledSchema() = default;

Result<CompiledSchema> CompiledSchema::load_file(const std::filesystem::path& file) {
  auto doc = read_document(file);
  if (!doc) return std::move(doc).error();
  auto impl = std::make_shared<Impl>();
  add_document(*impl, std::move(doc).value(), file);
  if (auto built = build_program(*impl); !built) return std::move(built).error();
  return CompiledSchema(std::move(impl), 0);
}

Result<CompiledSchema> CompiledSchema::compile(const json::Document& schema, const std::filesystem::path& origin) {
  return compile(schema, origin, SchemaSources{});
}

Result<CompiledSchema> CompiledSchema::compile(const json::Document& schema, const std::filesystem::path& origin,
                                               const SchemaSources& sources) {
  // Values point into their document; we keep our own copy so the caller's may go away.
  auto doc = std::make_unique<json::Document>();
  json::ParseError error;
  if (!json::Document::parse(schema.source(), *doc, error))
    return make_error(ErrorCode::kParse, origin.string() + ":" + std::to_string(error.line) + ":" +
                                             std::to_string(error.column) + ": schema is not valid JSON: " +
                                             error.message);
  auto impl = std::make_shared<Impl>();
  impl->sources = sources;
  add_document(*impl, std::move(doc), origin);
  if (auto built = build_program(*impl); !built) return std::move(built).error();
  return CompiledSchema(std::move(impl), 0);
}

bool CompiledSchema::fully_compiled() const noexcept { return impl_ && impl_->fully_compiled; }

std::optional<CompiledSchema> CompiledSchema::subschema(std::string_view schema_pointer) const {
  if (!impl_) return std::nullopt;
  const json::Value* v = json::resolve_pointer(impl_->docs[0]->root(), schema_pointer);
  if (!v) return std::nullopt;
  auto it = impl_->by_value.find(v);
  if (it == impl_->by_value.end()) return std::nullopt;
  return CompiledSchema(impl_, it->second);
}

std::optional<CompiledSchema> CompiledSchema::root_items_schema() const {
  if (!impl_ || !impl_->fully_compiled) return std::nullopt;
  std::uint32_t i = root_;
  std::string_view spec = inherited_spec_;  // as Evaluator::run passes it down a $ref chain
  for (int guard = 0; guard < 64; ++guard) {
    const Node& n = impl_->nodes[i];
    if (!n.spec.empty()) spec = n.spec;
    if (n.is_bool || n.ref == kNone) break;
    i = n.ref;
  }
  const Node& n = impl_->nodes[i];
  if (n.is_bool || n.ref != kNone || n.items == kNone || n.tuple_form || n.contains != kNone || n.unique_items ||
      n.combinators)
    return std::nullopt;
  return CompiledSchema(impl_, n.items, spec);
}

bool CompiledSchema::accepts(const json::Value& instance, const ValidateOptions& options) const {
  if (!impl_) return false;
  if (!impl_->fully_compiled) {
    auto fb = impl_->fallback_for(root_);
    return fb && fb->accepts(instance);
  }
  Evaluator evaluator(*impl_, options.case_insensitive_keys);
  if (options.skip_root_items) evaluator.skip_items_of(&instance);
  evaluator.use_memo(options.key_shapes);
  return evaluator.run<false>(root_, instance, nullptr, inherited_spec_) && !evaluator.case_deviation();
}

void CompiledSchema::validate(const json::Value& instance, std::string_view pointer_prefix,
                              std::vector<Violation>& out, std::size_t max_violations,
                              const ValidateOptions& options) const {
  if (!impl_ || max_violations == 0) return;
  if (!impl_->fully_compiled) {
    std::string error;
    if (auto fb = impl_->fallback_for(root_, &error)) fb->validate(instance, pointer_prefix, out, max_violations);
    else out.push_back({"valijson", std::string(pointer_prefix), instance.offset(), "the schema could not be used: " + error});
    return;
  }
  Ctx ctx;
  ctx.out = &out;
  ctx.max = max_violations;
  ctx.pointer.assign(pointer_prefix);
  Evaluator evaluator(*impl_, options.case_insensitive_keys);
  if (options.skip_root_items) evaluator.skip_items_of(&instance);
  evaluator.skip_valid_subtrees(options.skip_valid_subtrees);
  evaluator.run<true>(root_, instance, &ctx, inherited_spec_);
}

std::vector<std::string> CompiledSchema::declared_properties() const {
  std::vector<std::string> out;
  if (!impl_) return out;
  std::uint32_t i = root_;
  for (int guard = 0; guard < 64 && impl_->nodes[i].ref != kNone; ++guard) i = impl_->nodes[i].ref;
  auto add = [&](const Node& n) {
    for (const auto& p : n.props)
      if (std::find(out.begin(), out.end(), p.key) == out.end()) out.emplace_back(p.key);
  };
  add(impl_->nodes[i]);
  for (auto a : impl_->nodes[i].all_of) {
    std::uint32_t j = a;
    for (int guard = 0; guard < 64 && impl_->nodes[j].ref != kNone; ++guard) j = impl_->nodes[j].ref;
    add(impl_->nodes[j]);
  }
  return out;
}

}  // namespace flowguard::schema
