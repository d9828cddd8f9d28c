// URI references as draft-07 "$id" and "$ref" use them: RFC 3986 §5.2 resolution of a reference
// against a base, and the split into the part before '#' and the fragment. No percent-decoding or
// case normalisation beyond what §5.2 does: identifiers compare as the schema spells them.
#pragma once

#include <string>
#include <string_view>

namespace flowguard::schema::uri {

struct Parts {
  std::string_view scheme, authority, path, query, fragment;
  bool has_scheme = false, has_authority = false, has_query = false, has_fragment = false;
};

inline Parts split(std::string_view s) {
  Parts p;
  if (auto hash = s.find('#'); hash != std::string_view::npos) {
    p.fragment = s.substr(hash + 1);
    p.has_fragment = true;
    s = s.substr(0, hash);
  }
  if (auto q = s.find('?'); q != std::string_view::npos) {
    p.query = s.substr(q + 1);
    p.has_query = true;
    s = s.substr(0, q);
  }
  // A scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) before the first ':' (and before any '/').
  if (auto colon = s.find(':'); colon != std::string_view::npos && colon > 0) {
    bool scheme = true;
    for (std::size_t i = 0; i < colon && scheme; ++i) {
      const char c = s[i];
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      scheme = alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    }
    if (scheme) {
      p.scheme = s.substr(0, colon);
      p.has_scheme = true;
      s = s.substr(colon + 1);
    }
  }
  if (s.substr(0, 2) == "//") {
    s = s.substr(2);
    const auto end = s.find('/');
    p.authority = s.substr(0, end);
    p.has_authority = true;
    s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
  }
  p.path = s;
  return p;
}

// RFC 3986 §5.2.4.
inline std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") in.remove_prefix(3);
    else if (in.substr(0, 2) == "./") in.remove_prefix(2);
    else if (in.substr(0, 3) == "/./") in.remove_prefix(2);
    else if (in == "/.") in = "/";
    else if (in.substr(0, 4) == "/../" || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', in.front() == '/' ? 1 : 0);
      out.append(in.substr(0, next));
      in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
    }
  }
  return out;
}

inline std::string compose(const Parts& p, std::string_view path) {
  std::string out;
  if (p.has_scheme) out.append(p.scheme).append(":");
  if (p.has_authority) out.append("//").append(p.authority);
  out.append(path);
  if (p.has_query) out.append("?").append(p.query);
  if (p.has_fragment) out.append("#").append(p.fragment);
  return out;
}

// The target of `ref` against the absolute `base` (RFC 3986 §5.2.2, strict).
inline std::string resolve(std::string_view base, std::string_view ref) {
  const Parts r = split(ref);
  Parts b = split(base);
  Parts t;
  std::string path;
  if (r.has_scheme) {
    t = r;
    path = remove_dot_segments(r.path);
  } else {
    t.scheme = b.scheme;
    t.has_scheme = b.has_scheme;
    if (r.has_authority) {
      t.authority = r.authority;
      t.has_authority = true;
      path = remove_dot_segments(r.path);
      t.query = r.query;
      t.has_query = r.has_query;
    } else {
      t.authority = b.authority;
      t.has_authority = b.has_authority;
      if (r.path.empty()) {
        path = std::string(b.path);
        t.query = r.has_query ? r.query : b.query;
        t.has_query = r.has_query || b.has_query;
      } else {
        if (r.path.front() == '/') {
          path = remove_dot_segments(r.path);
        } else {  // §5.2.3 merge
          std::string merged;
          if (b.has_authority && b.path.empty()) merged = "/" + std::string(r.path);
          else {
            const auto slash = b.path.rfind('/');
            merged = (slash == std::string_view::npos ? std::string() : std::string(b.path.substr(0, slash + 1))) +
                     std::string(r.path);
          }
          path = remove_dot_segments(merged);
        }
        t.query = r.query;
        t.has_query = r.has_query;
      }
    }
  }
  t.fragment = r.fragment;
  t.has_fragment = r.has_fragment;
  return compose(t, path);
}

// `s` without its fragment.
inline std::string_view without_fragment(std::string_view s) { return s.substr(0, s.find('#')); }

}  // namespace flowguard::schema::uri
