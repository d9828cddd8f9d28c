// fg_bench_simdjson: the parse-only ceiling. simdjson's DOM parser parses each file W + K times
// (building its full tape, like a validator must before it can look at values) and counts the
// records (the elements of the top-level array, or the lines of an NDJSON file with --ndjson).
// No validation at all: whatever flowguard does on top of parsing costs time beyond this line.
//
//   fg_bench_simdjson [--iterations K] [--warmup W] [--ndjson] FILE...
//
// Prints one JSON line per file, in the same shape as fg_bench_engine and bench/ajv/bench.js.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <simdjson.h>

int main(int argc, char** argv) {
  int iterations = 20, warmup = 3;
  bool ndjson = false;
  std::vector<std::string> files;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if ((arg == "--iterations" || arg == "--warmup") && a + 1 < argc) {
      (arg == "--iterations" ? iterations : warmup) = std::max(arg == "--iterations" ? 1 : 0, std::atoi(argv[++a]));
    } else if (arg == "--ndjson") {
      ndjson = true;
    } else if (!arg.empty() && arg[0] != '-') {
      files.push_back(arg);
    } else {
      std::cerr << "usage: fg_bench_simdjson [--iterations K] [--warmup W] [--ndjson] FILE...\n";
      return 2;
    }
  }
  if (files.empty()) {
    std::cerr << "usage: fg_bench_simdjson [--iterations K] [--warmup W] [--ndjson] FILE...\n";
    return 2;
  }
  int status = 0;
  simdjson::dom::parser parser;
  for (const auto& file : files) {
    simdjson::padded_string bytes;
    if (auto error = simdjson::padded_string::load(file).get(bytes)) {
      std::cerr << "fg_bench_simdjson: " << file << ": " << simdjson::error_message(error) << "\n";
      status = 1;
      continue;
    }
    std::size_t records = 0;
    bool failed = false;
    auto parse_once = [&]() {
      records = 0;
      if (ndjson) {
        simdjson::dom::document_stream stream;
        if (parser.parse_many(bytes).get(stream)) { failed = true; return; }
        for (auto doc : stream) {
          if (doc.error()) { failed = true; return; }
          ++records;
        }
        return;
      }
      simdjson::dom::element root;
      if (parser.parse(bytes).get(root)) { failed = true; return; }
      simdjson::dom::array array;
      if (root.get_array().get(array)) { records = 1; return; }
      records = array.size();
    };
    for (int w = 0; w < warmup; ++w) parse_once();
    std::vector<double> times;
    for (int k = 0; k < iterations; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      parse_once();
      const auto t1 = std::chrono::steady_clock::now();
      times.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    if (failed) {
      std::cerr << "fg_bench_simdjson: " << file << ": not valid JSON\n";
      status = 1;
      continue;
    }
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    double total = 0;
    for (double t : times) total += t;
    std::cout << "{\"tool\":\"simdjson\",\"mode\":\"parse\",\"file\":\"" << file << "\",\"records\":" << records
              << ",\"bytes\":" << bytes.size() << ",\"iterations\":" << iterations << ",\"median_s\":" << median
              << ",\"mean_s\":" << total / static_cast<double>(times.size()) << ",\"min_s\":" << sorted.front()
              << ",\"records_per_s\":" << static_cast<double>(records) / median
              << ",\"mb_per_s\":" << static_cast<double>(bytes.size()) / 1e6 / median << "}" << std::endl;
  }
  return status;
}
