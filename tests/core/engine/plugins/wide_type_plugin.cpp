// A plugin whose type entries are longer than this engine's fg_type, as a plugin built for a later
// minor that adds a trailing field would have: type_size says the stride, and the engine must read
// each entry at it (reading at sizeof(fg_type) would take the extra field for the next entry's name).
#include "flowguard/plugin_abi.h"

namespace {
struct wide_type {
  fg_type base;
  const char* added_later;  // a field this engine does not know
  uint64_t more;
};
const char* const kKeys[] = {"w", nullptr};
const wide_type kTypes[] = {
    {{"wide.first", "Wide first", "wide/first.schema.json", nullptr, FG_SHAPE_RECORD_ARRAY, nullptr, "/items",
      nullptr, 0, kKeys, "wide spec §1", 0, "WIDE1"},
     "not a type name", 0xfffffffffffffffful},
    {{"wide.second", "Wide second", "wide/second.schema.json", "wide", FG_SHAPE_ENVELOPE, "/data",
      "/properties/data/items", nullptr, 0, nullptr, "wide spec §2", FG_TYPE_CASE_INSENSITIVE_KEYS, nullptr},
     "also not", 1},
};
const fg_plugin kPlugin = {FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, "wide", "1.1", "longer type entries",
                           &kTypes[0].base, 2, nullptr, sizeof(wide_type)};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
