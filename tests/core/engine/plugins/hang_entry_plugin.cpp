// Never returns from its entry point.
#include "fault_common.hpp"

FG_FAULTY_DESCRIPTOR(kPlugin, "hang")

extern "C" __attribute__((visibility("default"))) const fg_plugin* flowguard_plugin_v1(void) {
  volatile unsigned long spin = 0;
  for (;;) spin = spin + 1;  // volatile: the loop is not removed
  return &kPlugin;
}
