// Calls exit(0) in its entry point: without isolation a failing check would then exit 0.
#include <cstdlib>

#include "fault_common.hpp"

FG_FAULTY_DESCRIPTOR(kPlugin, "exit")

extern "C" __attribute__((visibility("default"))) const fg_plugin* flowguard_plugin_v1(void) {
  std::exit(0);
  return &kPlugin;
}
