// Declares a type_size smaller than ABI 1.1's fg_type: must be refused, not read.
#include "flowguard/plugin_abi.h"

namespace {
const fg_type kTypes[] = {{"short.thing", "Short", "short.schema.json", nullptr, FG_SHAPE_RECORD_ARRAY, nullptr,
                           "/items", nullptr, 0, nullptr, "none", 0, nullptr}};
const fg_plugin kPlugin = {FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, "short", "1.1", "type_size too small", kTypes,
                           1, nullptr, sizeof(fg_type) - 16};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
