// Aborts in a static constructor: dlopen itself never returns.
#include <cstdlib>

#include "fault_common.hpp"

FG_FAULTY_DESCRIPTOR(kPlugin, "abort")

namespace {
struct AbortOnLoad {
  AbortOnLoad() { std::abort(); }
} abort_on_load;
}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
