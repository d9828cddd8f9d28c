// Closes every descriptor it did not open (the probe's pipe among them), then never returns: the
// pipe's end does not mean the child is gone, and waiting for it must still be bounded.
#include <unistd.h>

#include "fault_common.hpp"

FG_FAULTY_DESCRIPTOR(kPlugin, "closes")

extern "C" __attribute__((visibility("default"))) const fg_plugin* flowguard_plugin_v1(void) {
  ::close_range(3, ~0u, 0);
  volatile unsigned long spin = 0;
  for (;;) spin = spin + 1;
  return &kPlugin;
}
