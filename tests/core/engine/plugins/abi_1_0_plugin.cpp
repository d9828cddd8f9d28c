// A plugin as built before ABI 1.1: compiled against the frozen 1.0 header (abi-1.0/), so its
// fg_plugin ends before type_size and its fg_type array has the 1.0 stride. It must load, with
// every type read right.
#include "flowguard/plugin_abi.h"

static_assert(FG_PLUGIN_ABI_MINOR == 0, "this plugin must be built against the frozen 1.0 header");

namespace {
const char* const kKeys[] = {"a", nullptr};
const fg_match kMatch[] = {{"/kind", "third"}};
const fg_type kTypes[] = {
    {"old.first", "Old first", "old/first.schema.json", "old", FG_SHAPE_RECORD_ARRAY, nullptr, "/items", nullptr, 0,
     kKeys, "old spec §1", 0, "OLD1"},
    {"old.second", "Old second", "old/second.schema.json", nullptr, FG_SHAPE_ENVELOPE, "/data",
     "/properties/data/items", nullptr, 0, nullptr, "old spec §2", FG_TYPE_CASE_INSENSITIVE_KEYS, nullptr},
    {"old.third", "Old third", "old/third.schema.json", nullptr, FG_SHAPE_MESSAGE, nullptr, "", kMatch, 1, nullptr,
     "old spec §3", 0, "OLD3"},
};
const fg_plugin kPlugin = {1u, 0u, "old", "1.0", "built against ABI 1.0", kTypes, 3, "OLDX"};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
