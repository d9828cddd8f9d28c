/* FROZEN: the plugin ABI header exactly as released at version 1.0 (before fg_plugin.type_size), kept
 * so that a test plugin can be built against the older layout. Do not edit. */
/* flowguard plugin ABI — the whole contract between the engine and a plugin shared library.
 *
 * Version: FG_PLUGIN_ABI_MAJOR.FG_PLUGIN_ABI_MINOR (see sdk/docs/plugin-abi.md for the rules).
 * A plugin exports exactly one C symbol, FG_PLUGIN_ENTRY ("flowguard_plugin_v1"), a function that
 * takes no arguments and returns a pointer to a static, immutable fg_plugin descriptor. The
 * descriptor and everything it points to must live as long as the library is loaded; the engine
 * never frees or writes it. The entry function must not throw (it is `noexcept` by contract: C
 * linkage) and must be callable more than once, returning the same pointer.
 *
 * Plain C so that any compiler (and any C++ standard library) can build a plugin.
 */
#ifndef FLOWGUARD_PLUGIN_ABI_H
#define FLOWGUARD_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FG_PLUGIN_ABI_MAJOR 1u /* incompatible changes bump this; the engine refuses other majors */
#define FG_PLUGIN_ABI_MINOR 0u /* additions bump this; the engine refuses a minor newer than its own */
#define FG_PLUGIN_ENTRY "flowguard_plugin_v1"

/* Where a message type's records are. */
typedef enum fg_shape {
  FG_SHAPE_RECORD_ARRAY = 0, /* the document is a JSON array; each item is a record (DFS POST bodies) */
  FG_SHAPE_ENVELOPE = 1,     /* the document is an object; records are the array at records_pointer */
  FG_SHAPE_MESSAGE = 2       /* the document (or each item of an array of them) is one message */
} fg_shape;

/* A discriminator: the string at `pointer` (inside a record / message) must equal `equals`. */
typedef struct fg_match {
  const char* pointer; /* RFC 6901, relative to the record, e.g. "/CommonBlock/S0/interfaceID" */
  const char* equals;
} fg_match;

/* One message type. All strings are UTF-8 and NUL-terminated; optional ones may be NULL. */
typedef struct fg_type {
  const char* name;            /* required: "<family>.<name>", e.g. "dfs.bid-submission" */
  const char* title;           /* required: one line for people, e.g. "DFS Bid Submission (POST)" */
  const char* schema;          /* required: schema file, relative to a schema directory */
  const char* rule_set;        /* optional: rules sub-folder, relative to a rules directory ("dfs") */
  fg_shape shape;              /* required */
  const char* records_pointer; /* FG_SHAPE_ENVELOPE: where the records array is ("/data"); else NULL */
  const char* record_schema;   /* required: JSON pointer of the record's subschema inside `schema`
                                  ("/items", "/properties/data/items", "" for a whole message) */
  const fg_match* matches;     /* optional: all must hold for the type to be recognised */
  size_t match_count;
  const char* const* key_hints; /* optional: keys typical of this type's records, for recognising
                                   it from content and naming the closest types; NULL-terminated */
  const char* spec;            /* required: the document (and section) that defines the type */
  uint32_t flags;              /* optional: FG_TYPE_* bits */
  const char* schema_error_code; /* optional: code carried by this type's schema findings, in the
                                    receiving system's own terms (the DIP's "MSG1001"); NULL: none */
} fg_type;

/* fg_type.flags */
#define FG_TYPE_CASE_INSENSITIVE_KEYS 0x1u /* keys that differ from the schema only in letter case are
                                              accepted, with a warning naming the published spelling
                                              (an error under --strict-keys), as the DIP does on ingress */

typedef struct fg_plugin {
  uint32_t abi_major;          /* must be FG_PLUGIN_ABI_MAJOR as compiled by the plugin */
  uint32_t abi_minor;          /* FG_PLUGIN_ABI_MINOR as compiled by the plugin */
  const char* name;            /* required: unique plugin name, e.g. "dfs" */
  const char* version;         /* required: the plugin's own version, e.g. "1.0.0" */
  const char* description;     /* required: one line */
  const fg_type* types;        /* required: type_count entries */
  size_t type_count;
  const char* unknown_variant_code; /* optional: code for a message whose discriminators match none of
                                       this plugin's types (the DIP's "RCP1003"); NULL: none */
} fg_plugin;

typedef const fg_plugin* (*fg_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

/* Use in exactly one source file of a plugin:  FG_DECLARE_PLUGIN(my_descriptor)  */
#ifdef __cplusplus
#define FG_PLUGIN_EXTERN_C extern "C"
#else
#define FG_PLUGIN_EXTERN_C
#endif
#define FG_DECLARE_PLUGIN(descriptor)                                                          \
  FG_PLUGIN_EXTERN_C __attribute__((visibility("default"))) const fg_plugin* flowguard_plugin_v1(void) { \
    return &(descriptor);                                                                      \
  }

#endif /* FLOWGUARD_PLUGIN_ABI_H */
