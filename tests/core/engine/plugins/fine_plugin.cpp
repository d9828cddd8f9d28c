// A well-formed plugin among the faulty ones (its file name sorts between them): it must still load.
#include "fault_common.hpp"

FG_FAULTY_DESCRIPTOR(kPlugin, "fine")

FG_DECLARE_PLUGIN(kPlugin)
