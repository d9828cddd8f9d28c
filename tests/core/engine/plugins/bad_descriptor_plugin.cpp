// Right ABI, but a descriptor that breaks the contract (a type without a schema).
#include "flowguard/plugin_abi.h"

namespace {
const fg_type kTypes[] = {{"bad.thing", "Bad", nullptr, nullptr, FG_SHAPE_RECORD_ARRAY, nullptr, "/items", nullptr, 0,
                           nullptr, "none"}};
const fg_plugin kPlugin = {FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, "bad", "1.0", "broken descriptor", kTypes, 1};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
