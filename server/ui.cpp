#include "ui.hpp"

#include <cstring>

#include "ui_assets.hpp"

namespace flowguard::server {
namespace {

// Everything the page uses comes from this server: no CDN, no inline script or style, no frames.
// connect-src 'self' is what lets its fetch() reach /v1/check and nothing else.
constexpr const char* kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const char* content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const ui_assets::Asset* find_asset(std::string_view name) {
  for (std::size_t i = 0; i < ui_assets::kAssetCount; ++i)
    if (name == ui_assets::kAssets[i].name) return &ui_assets::kAssets[i];
  return nullptr;
}

}  // namespace

bool is_ui_path(std::string_view path) { return path == "/" || path == "/ui" || path.rfind("/ui/", 0) == 0; }

HttpResponse ui_response(std::string_view path) {
  HttpResponse r;
  if (path == "/" || path == "/ui") {
    // One address for the page, so its relative asset links resolve the same way from anywhere.
    r.status = 308;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "the checker page is at /ui/\n";
    r.headers.emplace_back("Location", "/ui/");
    return r;
  }
  std::string_view name = path.substr(std::strlen("/ui/"));
  if (name.empty()) name = "index.html";
  // Only the embedded names answer: a path is looked up, never opened, so ../ leads nowhere.
  const ui_assets::Asset* asset = find_asset(name);
  if (!asset)
    return error_response(404, "not-found",
                          "no such file of the checker page: " + std::string(path) + "; the page is at /ui/");
  r.content_type = content_type_of(name);
  r.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
  r.headers.emplace_back("Content-Security-Policy", kPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  // The bytes change only with the binary; revalidating is cheap and never shows a stale page.
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace flowguard::server
