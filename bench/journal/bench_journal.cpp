// fg_bench_journal: accept() throughput of the journal on a real file, from N threads at once,
// so group commit shows (one transaction + one fsync shared by the callers waiting together).
//
//   fg_bench_journal [--db FILE] [--threads N] [--seconds S] [--batch B] [--body-bytes N] [--window-ms W]
//
// Prints one line: accepts/s (accept() calls that committed), messages/s and the mean accept()
// latency. The file is created fresh in --db's place and removed afterwards.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "flowguard/journal/journal.hpp"

using namespace flowguard::journal;

int main(int argc, char** argv) {
  std::string db = (std::filesystem::temp_directory_path() / "fg-bench-journal.db").string();
  int threads = 1;
  double seconds = 5;
  int batch = 1;
  std::size_t body_bytes = 1000;
  int window_ms = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--db") db = v;
    else if (a == "--threads") threads = std::atoi(v.c_str());
    else if (a == "--seconds") seconds = std::atof(v.c_str());
    else if (a == "--batch") batch = std::atoi(v.c_str());
    else if (a == "--body-bytes") body_bytes = static_cast<std::size_t>(std::atoll(v.c_str()));
    else if (a == "--window-ms") window_ms = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "fg_bench_journal: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (threads < 1 || batch < 1 || seconds <= 0) {
    std::fprintf(stderr, "fg_bench_journal: --threads, --batch and --seconds must be positive\n");
    return 2;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  JournalOptions options;
  options.group_commit_window = std::chrono::milliseconds(window_ms);
  options.max_undelivered = UINT64_MAX;
  auto opened = open_journal(db, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "fg_bench_journal: %s\n", opened.error().message.c_str());
    return 4;
  }
  Journal& journal = *opened.value();
  const std::string body(body_bytes, 'x');
  std::atomic<bool> stop{false};
  std::atomic<long> accepts{0}, failures{0};
  std::atomic<long long> latency_us{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        std::vector<NewMessage> messages(static_cast<std::size_t>(batch));
        for (int m = 0; m < batch; ++m) {
          auto& n = messages[static_cast<std::size_t>(m)];
          n.reference = "B" + std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(m);
          n.type = "dip.bench";
          n.event_code = "CS001";
          n.mpan = "1234567890123";
          n.body = body;
          n.sinks = {"hook"};
        }
        const auto start = std::chrono::steady_clock::now();
        auto r = journal.accept(messages);
        latency_us += std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
        if (r.ok() && r->duplicates.empty()) {
          ++accepts;
        } else {
          ++failures;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  const long n = accepts.load();
  std::printf("threads=%d batch=%d body=%zuB window=%dms: %.0f accepts/s, %.0f messages/s, mean accept %.2f ms, "
              "%ld failed\n",
              threads, batch, body_bytes, window_ms, n / seconds, n * batch / seconds,
              n + failures ? latency_us.load() / 1000.0 / static_cast<double>(n + failures) : 0.0, failures.load());
  opened.value().reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  return failures ? 1 : 0;
}
