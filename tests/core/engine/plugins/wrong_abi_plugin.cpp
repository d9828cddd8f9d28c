// Built against an imaginary future ABI major version: must be refused.
#include "flowguard/plugin_abi.h"

namespace {
const char* const kKeys[] = {"x", nullptr};
const fg_type kTypes[] = {{"future.thing", "Future", "future.schema.json", nullptr, FG_SHAPE_RECORD_ARRAY, nullptr,
                           "/items", nullptr, 0, kKeys, "none"}};
const fg_plugin kPlugin = {FG_PLUGIN_ABI_MAJOR + 1, 0, "future", "9.0", "from the future", kTypes, 1};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
