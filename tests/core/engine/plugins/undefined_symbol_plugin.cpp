// A library the dynamic loader refuses (RTLD_NOW): it needs a symbol that nothing provides. Its load
// error must carry the loader's reason ("undefined symbol: ..."), not an errno text.
extern "C" void flowguard_test_symbol_nobody_defines(void);
extern "C" __attribute__((visibility("default"))) void uses_a_missing_symbol(void) {
  flowguard_test_symbol_nobody_defines();
}
