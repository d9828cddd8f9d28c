// A well-formed plugin with two types: one record array, one envelope.
#include "flowguard/plugin_abi.h"

namespace {
const char* const kOrderKeys[] = {"id", "when", "amount", nullptr};
const char* const kReportKeys[] = {"name", "count", nullptr};
const fg_type kTypes[] = {
    {"test.order", "Test order batch", "test/order.schema.json", "test", FG_SHAPE_RECORD_ARRAY, nullptr, "/items",
     nullptr, 0, kOrderKeys, "test spec §1"},
    {"test.report", "Test report", "test/report.schema.json", "test", FG_SHAPE_ENVELOPE, "/data",
     "/properties/data/items", nullptr, 0, kReportKeys, "test spec §2"},
};
const fg_plugin kPlugin = {FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, "test", "0.1", "plugin for engine tests", kTypes, 2, nullptr, FG_TYPE_SIZE};
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
