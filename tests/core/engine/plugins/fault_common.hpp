// A valid descriptor for the faulty test plugins: each fails in its own way before it could be used.
#pragma once
#include "flowguard/plugin_abi.h"

#define FG_FAULTY_DESCRIPTOR(ident, family)                                                                    \
  namespace {                                                                                               \
  const fg_type ident##_types[] = {{family ".thing", "Faulty", family ".schema.json", nullptr,              \
                                    FG_SHAPE_RECORD_ARRAY, nullptr, "/items", nullptr, 0, nullptr, "none", 0, \
                                    nullptr}};                                                              \
  const fg_plugin ident = {FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, family, "1", "faulty", ident##_types, 1, \
                           nullptr, FG_TYPE_SIZE};                                                          \
  }
