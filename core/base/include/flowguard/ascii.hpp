// ASCII case folding for keys: the DIP matches field names ignoring letter case on ingress, and
// only ASCII letters fold (as Lua's string.lower does in the C locale).
#pragma once

#include <string_view>

namespace flowguard {

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

constexpr bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace flowguard
