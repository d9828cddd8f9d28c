// The browser page's files (server/ui/), embedded at build time by server/ui/embed.cmake.
#pragma once

#include <cstddef>

namespace flowguard::server::ui_assets {

struct Asset {
  const char* name;  // the file name under server/ui/, e.g. "app.js"
  const unsigned char* data;
  std::size_t size;
};
extern const Asset kAssets[];
extern const std::size_t kAssetCount;

}  // namespace flowguard::server::ui_assets
