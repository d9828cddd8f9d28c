#include "pattern.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace flowguard::schema::detail {

namespace {

constexpr std::uint32_t kInf = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kMaxProgram = 8192;  // bigger expansions ({1,5000}) go to std::regex

using Ranges = std::vector<std::pair<char32_t, char32_t>>;

void normalize(Ranges& r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (auto& x : r) {
    if (!out.empty() && x.first <= out.back().second + 1) out.back().second = std::max(out.back().second, x.second);
    else out.push_back(x);
  }
  r.swap(out);
}

Ranges complement(const Ranges& r) {  // r normalized
  Ranges out;
  char32_t next = 0;
  for (auto& x : r) {
    if (x.first > next) out.emplace_back(next, x.first - 1);
    next = x.second + 1;
  }
  if (next <= 0x10FFFF) out.emplace_back(next, 0x10FFFF);
  return out;
}

void add_digit(Ranges& r) { r.emplace_back('0', '9'); }
void add_word(Ranges& r) {
  r.emplace_back('0', '9');
  r.emplace_back('A', 'Z');
  r.emplace_back('_', '_');
  r.emplace_back('a', 'z');
}
void add_space(Ranges& r) {  // ECMAScript WhiteSpace + LineTerminator
  for (char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\u00a0', U'\u1680', U'\u2028', U'\u2029',
                     U'\u202f', U'\u205f', U'\u3000', U'\ufeff'})
    r.emplace_back(c, c);
  r.emplace_back(0x2000, 0x200a);
}

CharSet make_set(Ranges r) {
  normalize(r);
  CharSet s;
  for (auto [a, b] : r) {
    for (char32_t c = a; c <= b && c < 128; ++c) s.ascii[c >> 6] |= std::uint64_t{1} << (c & 63);
    if (b >= 128) s.high.emplace_back(std::max<char32_t>(a, 128), b);
  }
  return s;
}

bool is_word(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

struct Ast {
  enum Type { kEmpty, kChar, kSet, kBol, kEol, kWordB, kNotWordB, kConcat, kAlt, kRepeat } type = kEmpty;
  std::uint32_t value = 0;
  std::uint32_t min = 0, max = 0;
  std::vector<Ast> kids;
};

}  // namespace

bool CharSet::intersects(const CharSet& other) const noexcept {
  if ((ascii[0] & other.ascii[0]) || (ascii[1] & other.ascii[1])) return true;
  for (auto& x : high)
    for (auto& y : other.high)
      if (x.first <= y.second && y.first <= x.second) return true;
  return false;
}

char32_t decode_utf8_slow(std::string_view s, std::size_t& i) noexcept {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) { ++i; return b0; }
  int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) { ++i; return b0; }
  char32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) { ++i; return b0; }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  return cp;
}

// Recursive-descent parser for the supported ECMAScript subset.
class PatternParser {
 public:
  PatternParser(std::u32string src, NativePattern& out) : s_(std::move(src)), out_(out) {}

  // 1 = ok, 0 = unsupported (use std::regex), -1 = malformed.
  int parse(Ast& ast) {
    ast = alternation();
    if (status_ == 1 && pos_ != s_.size()) fail(s_[pos_] == ')' ? "unbalanced ')'" : "unexpected character");
    return status_;
  }
  std::string error;

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char32_t peek() const { return at_end() ? 0 : s_[pos_]; }
  void unsupported() { if (status_ == 1) status_ = 0; }
  void fail(const char* why) {
    if (status_ != -1) { status_ = -1; error = why; }
  }

  Ast alternation() {
    Ast first = sequence();
    if (peek() != '|' || at_end()) return first;
    Ast alt;
    alt.type = Ast::kAlt;
    alt.kids.push_back(std::move(first));
    while (!at_end() && peek() == '|' && status_ == 1) {
      ++pos_;
      alt.kids.push_back(sequence());
    }
    return alt;
  }

  Ast sequence() {
    Ast seq;
    seq.type = Ast::kConcat;
    while (!at_end() && status_ == 1 && peek() != '|' && peek() != ')') {
      Ast atom_ast;
      if (!atom(atom_ast)) break;
      quantifier(atom_ast);
      seq.kids.push_back(std::move(atom_ast));
    }
    return seq;
  }

  // Parses {n}, {n,}, {n,m} at pos_; false (pos_ unchanged) if not a quantifier (then '{' is literal).
  bool braces(std::uint32_t& mn, std::uint32_t& mx) {
    std::size_t p = pos_ + 1;
    auto number = [&](std::uint32_t& v) {
      std::size_t start = p;
      std::uint64_t n = 0;
      while (p < s_.size() && s_[p] >= '0' && s_[p] <= '9') {
        n = std::min<std::uint64_t>(n * 10 + (s_[p] - '0'), 1u << 30);
        ++p;
      }
      v = static_cast<std::uint32_t>(n);
      return p > start;
    };
    if (!number(mn)) return false;
    mx = mn;
    if (p < s_.size() && s_[p] == ',') {
      ++p;
      if (p < s_.size() && s_[p] == '}') mx = kInf;
      else if (!number(mx)) return false;
    }
    if (p >= s_.size() || s_[p] != '}') return false;
    pos_ = p + 1;
    return true;
  }

  void quantifier(Ast& a) {
    if (at_end()) return;
    std::uint32_t mn = 0, mx = 0;
    char32_t c = peek();
    if (c == '*') { mn = 0; mx = kInf; ++pos_; }
    else if (c == '+') { mn = 1; mx = kInf; ++pos_; }
    else if (c == '?') { mn = 0; mx = 1; ++pos_; }
    else if (c == '{') { if (!braces(mn, mx)) return; }
    else return;
    if (mx < mn) { fail("numbers out of order in {} quantifier"); return; }
    if (!at_end() && peek() == '?') ++pos_;  // lazy: same language, we only test for a match
    if (a.type == Ast::kBol || a.type == Ast::kEol || a.type == Ast::kWordB || a.type == Ast::kNotWordB) {
      fail("nothing to repeat");
      return;
    }
    if (!at_end() && (peek() == '*' || peek() == '+' || peek() == '?' ||
                      (peek() == '{' && std::isdigit(static_cast<int>(pos_ + 1 < s_.size() ? s_[pos_ + 1] : 0))))) {
      fail("nothing to repeat");
      return;
    }
    Ast r;
    r.type = Ast::kRepeat;
    r.min = mn;
    r.max = mx;
    r.kids.push_back(std::move(a));
    a = std::move(r);
  }

  std::uint32_t add_set(Ranges r) {
    out_.sets_.push_back(make_set(std::move(r)));
    return static_cast<std::uint32_t>(out_.sets_.size() - 1);
  }

  bool hex(int digits, char32_t& v) {
    if (pos_ + digits > s_.size()) return false;
    v = 0;
    for (int k = 0; k < digits; ++k) {
      char32_t c = s_[pos_ + k];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    pos_ += digits;
    return true;
  }

  // After a backslash (pos_ at the escaped char). Returns: 0 char (in `c`), 1 class (in `r`), -1 unsupported.
  int escape(bool in_class, char32_t& c, Ranges& r) {
    if (at_end()) { fail("\\ at end of pattern"); return -1; }
    char32_t e = s_[pos_++];
    switch (e) {
      case 'd': add_digit(r); return 1;
      case 'w': add_word(r); return 1;
      case 's': add_space(r); return 1;
      case 'D': add_digit(r); normalize(r); r = complement(r); return 1;
      case 'W': add_word(r); normalize(r); r = complement(r); return 1;
      case 'S': add_space(r); normalize(r); r = complement(r); return 1;
      case 't': c = '\t'; return 0;
      case 'n': c = '\n'; return 0;
      case 'v': c = '\v'; return 0;
      case 'f': c = '\f'; return 0;
      case 'r': c = '\r'; return 0;
      case 'b': if (in_class) { c = 8; return 0; } break;
      case '0':
        if (!at_end() && peek() >= '0' && peek() <= '9') { unsupported(); return -1; }
        c = 0;
        return 0;
      case 'x': if (hex(2, c)) return 0; unsupported(); return -1;
      case 'u': {
        if (!hex(4, c)) { unsupported(); return -1; }
        if (c >= 0xD800 && c <= 0xDBFF && pos_ + 6 <= s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
          std::size_t save = pos_;
          pos_ += 2;
          char32_t lo = 0;
          if (hex(4, lo) && lo >= 0xDC00 && lo <= 0xDFFF) c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
          else pos_ = save;
        }
        return 0;
      }
      case 'c':
        if (!at_end() && ((peek() >= 'a' && peek() <= 'z') || (peek() >= 'A' && peek() <= 'Z'))) {
          c = peek() % 32;
          ++pos_;
          return 0;
        }
        unsupported();
        return -1;
      default: break;
    }
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
      unsupported();  // backreferences, \p{..}, \k<..>, \B etc. in classes: leave to std::regex
      return -1;
    }
    c = e;  // identity escape of punctuation
    return 0;
  }

  bool char_class(Ast& a) {
    // pos_ is after '['
    bool negate = false;
    if (peek() == '^') { negate = true; ++pos_; }
    Ranges r;
    bool first = true;
    while (true) {
      if (at_end()) { fail("missing ]"); return false; }
      char32_t c = s_[pos_];
      if (c == ']' ) { ++pos_; break; }
      (void)first;
      first = false;
      // One class atom.
      auto class_atom = [&](char32_t& ch, Ranges& cls) -> int {
        char32_t x = s_[pos_++];
        if (x == '\\') return escape(true, ch, cls);
        ch = x;
        return 0;
      };
      char32_t lo = 0;
      Ranges cls;
      int k = class_atom(lo, cls);
      if (status_ != 1) return false;
      if (k == 1) { r.insert(r.end(), cls.begin(), cls.end()); continue; }
      if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
        ++pos_;
        char32_t hi = 0;
        Ranges cls2;
        int k2 = class_atom(hi, cls2);
        if (status_ != 1) return false;
        if (k2 == 1) {  // Annex B: [a-\d] means a, '-', \d
          r.emplace_back(lo, lo);
          r.emplace_back('-', '-');
          r.insert(r.end(), cls2.begin(), cls2.end());
          continue;
        }
        if (hi < lo) { fail("range out of order in character class"); return false; }
        r.emplace_back(lo, hi);
      } else {
        r.emplace_back(lo, lo);
      }
    }
    normalize(r);
    if (negate) r = complement(r);
    a.type = Ast::kSet;
    a.value = add_set(std::move(r));
    return true;
  }

  bool atom(Ast& a) {
    char32_t c = s_[pos_++];
    switch (c) {
      case '^': a.type = Ast::kBol; return true;
      case '$': a.type = Ast::kEol; return true;
      case '.': {
        Ranges r{{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}};
        a.type = Ast::kSet;
        a.value = add_set(complement(r));
        return true;
      }
      case '(': {
        if (peek() == '?') {
          if (pos_ + 1 < s_.size() && s_[pos_ + 1] == ':') {
            pos_ += 2;
          } else if (pos_ + 2 < s_.size() && s_[pos_ + 1] == '<' && s_[pos_ + 2] != '=' && s_[pos_ + 2] != '!') {
            pos_ += 2;  // named group: the name does not matter for a boolean match
            while (!at_end() && peek() != '>') ++pos_;
            if (at_end()) { fail("unterminated group name"); return false; }
            ++pos_;
          } else {
            unsupported();  // lookahead / lookbehind
            return false;
          }
        }
        a = alternation();
        if (status_ != 1) return false;
        if (at_end() || peek() != ')') { fail("missing )"); return false; }
        ++pos_;
        return true;
      }
      case ')': fail("unbalanced ')'"); return false;
      case '[': return char_class(a);
      case '*': case '+': case '?': fail("nothing to repeat"); return false;
      case '{': {
        --pos_;
        std::uint32_t mn, mx;
        std::size_t save = pos_;
        if (braces(mn, mx)) { pos_ = save; fail("nothing to repeat"); return false; }
        ++pos_;
        a.type = Ast::kChar;
        a.value = '{';
        return true;
      }
      case '\\': {
        if (peek() == 'b' || peek() == 'B') {
          a.type = peek() == 'b' ? Ast::kWordB : Ast::kNotWordB;
          ++pos_;
          return true;
        }
        char32_t ch = 0;
        Ranges r;
        int k = escape(false, ch, r);
        if (k < 0) return false;
        if (k == 1) {
          normalize(r);
          a.type = Ast::kSet;
          a.value = add_set(std::move(r));
        } else {
          a.type = Ast::kChar;
          a.value = ch;
        }
        return true;
      }
      default:
        a.type = Ast::kChar;
        a.value = c;
        return true;
    }
  }

  std::u32string s_;
  std::size_t pos_ = 0;
  int status_ = 1;
  NativePattern& out_;
};

namespace {

struct CodeGen {
  std::vector<NativePattern::Inst>& prog;
  bool overflow = false;

  std::uint32_t emit(NativePattern::Op op, std::uint32_t a = 0, std::uint32_t b = 0) {
    prog.push_back({op, a, b});
    if (prog.size() > kMaxProgram) overflow = true;
    return static_cast<std::uint32_t>(prog.size() - 1);
  }
  std::uint32_t here() const { return static_cast<std::uint32_t>(prog.size()); }

  void gen(const Ast& a) {
    using Op = NativePattern::Op;
    if (overflow) return;
    switch (a.type) {
      case Ast::kEmpty: break;
      case Ast::kChar: emit(Op::kChar, a.value); break;
      case Ast::kSet: emit(Op::kSet, a.value); break;
      case Ast::kBol: emit(Op::kBol); break;
      case Ast::kEol: emit(Op::kEol); break;
      case Ast::kWordB: emit(Op::kWordB); break;
      case Ast::kNotWordB: emit(Op::kNotWordB); break;
      case Ast::kConcat: for (auto& k : a.kids) gen(k); break;
      case Ast::kAlt: {
        std::vector<std::uint32_t> jumps;
        for (std::size_t i = 0; i < a.kids.size(); ++i) {
          if (i + 1 < a.kids.size()) {
            std::uint32_t split = emit(Op::kSplit);
            prog[split].a = here();
            gen(a.kids[i]);
            jumps.push_back(emit(Op::kJmp));
            prog[split].b = here();
          } else {
            gen(a.kids[i]);
          }
          if (overflow) return;
        }
        for (auto j : jumps) prog[j].a = here();
        break;
      }
      case Ast::kRepeat: {
        const Ast& body = a.kids[0];
        for (std::uint32_t i = 0; i < a.min && !overflow; ++i) gen(body);
        if (a.max == kInf) {
          std::uint32_t split = emit(Op::kSplit);
          prog[split].a = here();
          gen(body);
          emit(Op::kJmp, split);
          prog[split].b = here();
        } else {
          std::vector<std::uint32_t> splits;
          for (std::uint32_t i = a.min; i < a.max && !overflow; ++i) {
            std::uint32_t split = emit(Op::kSplit);
            prog[split].a = here();
            splits.push_back(split);
            gen(body);
          }
          for (auto s : splits) prog[s].b = here();
        }
        break;
      }
    }
  }
};

// The single character or set a repeat repeats ("[0-9]{4}", "(a)+"), else nullptr.
const Ast* repeated_atom(const Ast& repeat) {
  if (repeat.kids.empty()) return nullptr;
  const Ast* body = &repeat.kids[0];
  while (body->type == Ast::kConcat && body->kids.size() == 1) body = &body->kids[0];
  return body->type == Ast::kChar || body->type == Ast::kSet ? body : nullptr;
}

// Flattens an alternative into simple-scanner items; false if it is not of that shape.
bool flatten(const Ast& a, std::vector<NativePattern::Elem>& out) {
  switch (a.type) {
    case Ast::kEmpty: return true;
    case Ast::kChar: out.push_back({false, a.value, 1, 1}); return true;
    case Ast::kSet: out.push_back({true, a.value, 1, 1}); return true;
    case Ast::kConcat:
      for (auto& k : a.kids)
        if (!flatten(k, out)) return false;
      return true;
    case Ast::kRepeat: {
      const Ast* body = repeated_atom(a);
      if (body == nullptr) return false;
      out.push_back({body->type == Ast::kSet, body->value, a.min, a.max});
      return true;
    }
    default: return false;
  }
}

// The pattern as alternatives, each a sequence of atoms (a character, a set, a repeat of one of
// those, ^, $), with alternations and optional groups multiplied out: "^S-((IF|REP)-)?\d+$" is
// ^S-IF-\d+$ | ^S-REP-\d+$ | ^S-\d+$. For a pattern anchored at both ends (without
// backreferences or lookarounds) that is the same set of strings. False for any other shape (a
// repeated group, \b, ...) or more than kMaxAlternatives alternatives.
constexpr std::size_t kMaxAlternatives = 16;
using AtomSeq = std::vector<const Ast*>;

bool expand(const Ast& a, std::vector<AtomSeq>& out) {
  auto append_all = [&out](std::vector<AtomSeq>& part) {
    for (auto& p : part) {
      if (out.size() >= kMaxAlternatives) return false;
      out.push_back(std::move(p));
    }
    return true;
  };
  switch (a.type) {
    case Ast::kEmpty: out = {AtomSeq{}}; return true;
    case Ast::kChar:
    case Ast::kSet:
    case Ast::kBol:
    case Ast::kEol: out = {AtomSeq{&a}}; return true;
    case Ast::kConcat: {
      std::vector<AtomSeq> acc{AtomSeq{}};
      for (const auto& k : a.kids) {
        std::vector<AtomSeq> part, next;
        if (!expand(k, part)) return false;
        for (const auto& x : acc)
          for (const auto& y : part) {
            if (next.size() >= kMaxAlternatives) return false;
            AtomSeq joined = x;
            joined.insert(joined.end(), y.begin(), y.end());
            next.push_back(std::move(joined));
          }
        acc = std::move(next);
      }
      out = std::move(acc);
      return true;
    }
    case Ast::kAlt:
      out.clear();
      for (const auto& k : a.kids) {
        std::vector<AtomSeq> part;
        if (!expand(k, part) || !append_all(part)) return false;
      }
      return true;
    case Ast::kRepeat: {
      if (a.kids.empty()) return false;
      if (repeated_atom(a) != nullptr) {
        out = {AtomSeq{&a}};
        return true;
      }
      if (a.min == 1 && a.max == 1) return expand(a.kids[0], out);
      if (a.min != 0 || a.max != 1) return false;
      std::vector<AtomSeq> part;  // optional: absent, or once
      if (!expand(a.kids[0], part)) return false;
      out = {AtomSeq{}};
      return append_all(part);
    }
    default: return false;
  }
}

bool starts_anchored(const Ast& a) {
  switch (a.type) {
    case Ast::kBol: return true;
    case Ast::kConcat: return !a.kids.empty() && starts_anchored(a.kids[0]);
    case Ast::kAlt:
      for (auto& k : a.kids)
        if (!starts_anchored(k)) return false;
      return true;
    default: return false;
  }
}

}  // namespace

std::unique_ptr<NativePattern> NativePattern::compile(std::string_view source, std::string* error) {
  std::u32string cps;
  for (std::size_t i = 0; i < source.size();) cps.push_back(decode_utf8(source, i));
  auto out = std::make_unique<NativePattern>();
  PatternParser parser(std::move(cps), *out);
  Ast ast;
  int status = parser.parse(ast);
  if (status < 0) {
    if (error) *error = parser.error;
    return nullptr;
  }
  if (status == 0) return nullptr;

  CodeGen gen{out->prog_};
  gen.gen(ast);
  gen.emit(Op::kMatch);
  if (gen.overflow) return nullptr;
  out->anchored_start_ = starts_anchored(ast);

  // Simple scanner: every alternative is ^ item* $ and a variable-length item cannot overlap
  // anything that may follow it before the next mandatory item, so greedy scanning is exact.
  std::vector<AtomSeq> alts;
  bool simple = expand(ast, alts) && !alts.empty();
  for (const AtomSeq& alt : alts) {
    if (!simple) break;
    if (alt.size() < 2 || alt.front()->type != Ast::kBol || alt.back()->type != Ast::kEol) { simple = false; break; }
    std::vector<Elem> elems;
    for (std::size_t i = 1; i + 1 < alt.size() && simple; ++i)
      simple = alt[i]->type != Ast::kBol && alt[i]->type != Ast::kEol && flatten(*alt[i], elems);
    if (!simple) break;
    for (std::size_t i = 0; i < elems.size() && simple; ++i) {
      if (elems[i].min == elems[i].max) continue;
      for (std::size_t j = i + 1; j < elems.size(); ++j) {
        const Elem& x = elems[i];
        const Elem& y = elems[j];
        bool overlap;
        if (x.is_set && y.is_set) overlap = out->sets_[x.value].intersects(out->sets_[y.value]);
        else if (x.is_set) overlap = out->sets_[x.value].contains(y.value);
        else if (y.is_set) overlap = out->sets_[y.value].contains(x.value);
        else overlap = x.value == y.value;
        if (overlap) { simple = false; break; }
        if (y.min > 0) break;
      }
    }
    out->alternatives_.push_back(std::move(elems));
  }
  out->simple_ = simple;
  if (!simple) out->alternatives_.clear();
  // ASCII bytes are matched against a bitmap in the element itself, without decoding UTF-8.
  for (auto& elems : out->alternatives_)
    for (Elem& e : elems)
      for (char32_t c = 0; c < 128; ++c)
        if (out->elem_matches(e, c)) e.ascii[c >> 6] |= std::uint64_t{1} << (c & 63);
  constexpr std::size_t kMaxFixedLength = 64;
  for (const auto& elems : out->alternatives_) {
    FixedShape shape;
    shape.fixed = true;
    for (const Elem& e : elems) {
      const bool ascii_only = e.is_set ? out->sets_[e.value].high.empty() : e.value < 128;
      if (e.min != e.max || !ascii_only || shape.masks.size() + e.min > kMaxFixedLength) {
        shape.fixed = false;
        break;
      }
      shape.masks.insert(shape.masks.end(), e.min, {e.ascii[0], e.ascii[1]});
    }
    if (!shape.fixed) shape.masks.clear();
    shape.ranges = shape.fixed;
    for (const auto& mask : shape.masks) {
      // The set bits of the 128-bit mask must be one contiguous run.
      int first = -1, last = -1;
      for (int c = 0; c < 128; ++c)
        if ((mask[c >> 6] >> (c & 63)) & 1u) {
          if (first < 0) first = c;
          else if (last != c - 1) first = 128;  // a gap: not one range
          last = c;
        }
      if (first < 0 || first >= 128) { shape.ranges = false; break; }
      shape.lo.push_back(static_cast<unsigned char>(first));
      shape.span.push_back(static_cast<unsigned char>(last - first));
    }
    if (!shape.ranges) shape.lo.clear(), shape.span.clear();
    const std::size_t n = shape.lo.size();
    if (shape.ranges && n >= 4 && n <= 16) {
      shape.wide = true;
      shape.span16.fill(0xFF);  // unused lanes (texts of 4 to 7 bytes) accept anything
      const std::size_t half = n >= 8 ? 8 : 4;
      for (std::size_t i = 0; i < half; ++i) {
        shape.lo16[i] = shape.lo[i], shape.span16[i] = shape.span[i];
        shape.lo16[half + i] = shape.lo[n - half + i], shape.span16[half + i] = shape.span[n - half + i];
      }
    }
    out->fixed_.push_back(std::move(shape));
  }
  out->wide_or_empty_ = !out->fixed_.empty() && std::all_of(out->fixed_.begin(), out->fixed_.end(), [](const FixedShape& f) {
    return f.wide || (f.fixed && f.masks.empty());
  });
  return out;
}

#if defined(__SSE2__)
// A text of the shape's length against a wide ranges shape. The head and tail loads stay inside
// the text. Per byte: (byte - lo) <= span, unsigned (max(x, span) == span); non-ASCII bytes are
// above every range.
inline bool NativePattern::wide_match(const FixedShape& shape, std::string_view text) noexcept {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::uint64_t head, tail = 0;
  if (n >= 8) {
    std::memcpy(&head, p, 8);
    std::memcpy(&tail, p + n - 8, 8);
  } else {
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    head = a | std::uint64_t{b} << 32;
  }
  const __m128i v = _mm_set_epi64x(static_cast<long long>(tail), static_cast<long long>(head));
  const __m128i span = _mm_load_si128(reinterpret_cast<const __m128i*>(shape.span16.data()));
  const __m128i x = _mm_sub_epi8(v, _mm_load_si128(reinterpret_cast<const __m128i*>(shape.lo16.data())));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, span), span)) == 0xFFFF;
}
#endif

bool NativePattern::match_wide_or_empty(std::string_view text) const noexcept {
#if defined(__SSE2__)
  for (const FixedShape& shape : fixed_)
    if (text.size() == shape.lo.size() && (text.empty() || wide_match(shape, text))) return true;
  return false;
#else
  return match_simple(text);
#endif
}

bool NativePattern::match_simple(std::string_view text) const noexcept {
  for (std::size_t a = 0; a < alternatives_.size(); ++a) {
    if (const FixedShape& shape = fixed_[a]; shape.fixed) {
      if (text.size() != shape.masks.size()) continue;
#if defined(__SSE2__)
      if (shape.wide) {
        if (wide_match(shape, text)) return true;
        continue;
      }
#endif
      if (shape.ranges) {
        // Bytes of 0x80 and above are above every range (ranges lie within ASCII).
        unsigned bad = 0;
        const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
        for (std::size_t i = 0; i < text.size(); ++i)
          bad |= static_cast<unsigned char>(bytes[i] - shape.lo[i]) > shape.span[i];
        if (!bad) return true;
        continue;
      }
      bool ok = true;
      for (std::size_t i = 0; i < text.size() && ok; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        ok = byte < 0x80 && ((shape.masks[i][byte >> 6] >> (byte & 63)) & 1u);
      }
      if (ok) return true;
      continue;
    }
    const auto& elems = alternatives_[a];
    std::size_t pos = 0;
    bool ok = true;
    for (const Elem& e : elems) {
      std::uint32_t count = 0;
      while (count < e.max && pos < text.size()) {
        const auto byte = static_cast<unsigned char>(text[pos]);
        if (byte < 0x80) {
          if (!((e.ascii[byte >> 6] >> (byte & 63)) & 1u)) break;
          ++pos;
        } else {
          std::size_t next = pos;
          char32_t cp = decode_utf8(text, next);
          if (!elem_matches(e, cp)) break;
          pos = next;
        }
        ++count;
      }
      if (count < e.min) { ok = false; break; }
    }
    if (ok && pos == text.size()) return true;
  }
  return false;
}

namespace {
// Sparse set of program counters, reused across matches (per thread) so matching does not allocate.
struct ThreadList {
  std::vector<std::uint32_t> dense, sparse;
  std::uint32_t n = 0;
  void reset(std::size_t size) {
    if (sparse.size() < size) { sparse.resize(size); dense.resize(size); }
    n = 0;
  }
  bool contains(std::uint32_t pc) const { return sparse[pc] < n && dense[sparse[pc]] == pc; }
  void add(std::uint32_t pc) { sparse[pc] = n; dense[n++] = pc; }
};
struct Scratch {
  ThreadList a, b;
  std::vector<std::uint32_t> stack;
};
}  // namespace

bool NativePattern::match_nfa(std::string_view text) const noexcept {
  thread_local Scratch scratch;
  ThreadList* clist = &scratch.a;
  ThreadList* nlist = &scratch.b;
  auto& stack = scratch.stack;
  const std::size_t size = prog_.size();
  clist->reset(size);
  nlist->reset(size);
  if (stack.capacity() < size * 2 + 4) stack.reserve(size * 2 + 4);

  char32_t prev = 0;  // code point before pos (0 = none)
  bool have_prev = false;
  // Adds the epsilon closure of pc at the current position; true when Match is reachable.
  auto add = [&](ThreadList* list, std::uint32_t start, std::size_t pos, char32_t next_cp, bool have_next) {
    stack.clear();
    stack.push_back(start);
    while (!stack.empty()) {
      std::uint32_t pc = stack.back();
      stack.pop_back();
      if (list->contains(pc)) continue;
      list->add(pc);
      const Inst& in = prog_[pc];
      switch (in.op) {
        case Op::kMatch: return true;
        case Op::kJmp: stack.push_back(in.a); break;
        case Op::kSplit: stack.push_back(in.b); stack.push_back(in.a); break;
        case Op::kBol: if (pos == 0) stack.push_back(pc + 1); break;
        case Op::kEol: if (pos == text.size()) stack.push_back(pc + 1); break;
        case Op::kWordB:
        case Op::kNotWordB: {
          bool boundary = (have_prev && is_word(prev)) != (have_next && is_word(next_cp));
          if (boundary == (in.op == Op::kWordB)) stack.push_back(pc + 1);
          break;
        }
        default: break;
      }
    }
    return false;
  };

  std::size_t pos = 0;
  while (true) {
    std::size_t next = pos;
    char32_t cp = 0;
    bool have_next = pos < text.size();
    if (have_next) cp = decode_utf8(text, next);
    if (pos == 0 || !anchored_start_) {
      if (add(clist, 0, pos, cp, have_next)) return true;
    }
    if (!have_next || (clist->n == 0 && anchored_start_)) return false;
    // Step: consume cp.
    nlist->n = 0;
    char32_t after = 0;
    bool have_after = next < text.size();
    if (have_after) { std::size_t t = next; after = decode_utf8(text, t); }
    prev = cp;
    have_prev = true;
    for (std::uint32_t i = 0; i < clist->n; ++i) {
      const Inst& in = prog_[clist->dense[i]];
      bool ok = (in.op == Op::kChar && cp == in.a) || (in.op == Op::kSet && sets_[in.a].contains(cp));
      if (ok && add(nlist, clist->dense[i] + 1, next, after, have_after)) return true;
    }
    std::swap(clist, nlist);
    pos = next;
  }
}


Result<Pattern> Pattern::compile(std::string_view source) {
  Pattern p;
  p.source_ = std::string(source);
  std::string error;
  auto native = NativePattern::compile(source, &error);
  if (native) {
    p.native_ = std::move(native);
    return p;
  }
  if (!error.empty())
    return make_error(ErrorCode::kSchema, "invalid pattern \"" + p.source_ + "\": " + error);
  try {
    p.regex_ = std::make_shared<const std::regex>(p.source_, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kSchema, "invalid or unsupported pattern \"" + p.source_ + "\": " + e.what());
  }
  return p;
}

bool Pattern::search_regex(std::string_view text) const noexcept {
  if (!regex_) return true;
  try {
    return std::regex_search(text.begin(), text.end(), *regex_);
  } catch (...) {
    return false;  // e.g. regex_error(complexity): treat as a non-match rather than escaping
  }
}

}  // namespace flowguard::schema::detail
