// Needs a newer minor ABI than this engine provides: must be refused with "upgrade flowguard".
#include "flowguard/plugin_abi.h"

namespace {
const char* const kKeys[] = {"x", nullptr};
const fg_type kTypes[] = {{"newer.thing", "Newer", "newer.schema.json", nullptr, FG_SHAPE_RECORD_ARRAY, nullptr,
                           "/items", nullptr, 0, kKeys, "none"}};
const fg_plugin kPlugin = {FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR + 1, "newer", "1.1", "needs newer abi", kTypes, 1};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
