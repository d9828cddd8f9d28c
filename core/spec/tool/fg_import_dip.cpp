// fg_import_dip SPEC_DIR [--out DIR] [--plugin-table FILE] | --diff OLD NEW
// Maintainer tool: regenerates schemas/dip (and plugins/dip/dip_types.inc) from Elexon's DIP
// OpenAPI folder. `flowguard spec import-dip` / `flowguard spec diff` are the user-facing entry.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "flowguard/spec/dip_import.hpp"

namespace {

int usage() {
  std::cerr << "usage: fg_import_dip SPEC_DIR [--out DIR] [--plugin-table FILE]\n"
               "       fg_import_dip --diff OLD_DIR NEW_DIR\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace flowguard;
  if (argc == 4 && std::string(argv[1]) == "--diff") {
    auto d = spec::diff_dip(argv[2], argv[3]);
    if (!d) {
      std::cerr << "fg_import_dip: " << d.error().message << "\n";
      return 1;
    }
    std::cout << *d;
    return 0;
  }
  std::string spec_dir, out_dir = "schemas/dip", table;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) out_dir = argv[++i];
    else if (a == "--plugin-table" && i + 1 < argc) table = argv[++i];
    else if (!a.empty() && a[0] != '-' && spec_dir.empty()) spec_dir = a;
    else return usage();
  }
  if (spec_dir.empty()) return usage();

  auto summary = spec::import_dip(spec_dir, out_dir);
  if (!summary) {
    std::cerr << "fg_import_dip: " << summary.error().message << "\n";
    return 1;
  }
  if (!table.empty()) {
    std::ofstream out(table, std::ios::binary | std::ios::trunc);
    out << spec::render_dip_types_inc(*summary);
    if (!out.flush()) {
      std::cerr << "fg_import_dip: cannot write " << table << "\n";
      return 1;
    }
  }
  std::cout << "DIP spec v" << summary->spec_version << " (" << summary->source_repo << " "
            << summary->source_commit << "): " << summary->interface_count << " interfaces, "
            << summary->variants.size() << " variants, " << summary->files.size() << " files in " << out_dir << "\n";
  for (const auto& n : summary->notes) std::cout << "note: " << n << "\n";
  return 0;
}
