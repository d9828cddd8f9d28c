// Segfaults in its entry point.
#include "fault_common.hpp"

FG_FAULTY_DESCRIPTOR(kPlugin, "segv")

extern "C" __attribute__((visibility("default"))) const fg_plugin* flowguard_plugin_v1(void) {
  volatile int* nowhere = nullptr;
  *nowhere = 1;
  return &kPlugin;
}
