// The browser page (docs/ui.md): GET /ui/ and its assets, served from the bytes embedded at build
// time. The page holds no data; what it checks goes through POST /v1/check like any client's.
#pragma once

#include <string_view>

#include "service.hpp"

namespace flowguard::server {

// True for / and everything under /ui: the requests ui_response() answers.
bool is_ui_path(std::string_view path);

// The answer to GET `path` (is_ui_path): the page, an asset, a redirect to /ui/ or 404.
HttpResponse ui_response(std::string_view path);

}  // namespace flowguard::server
