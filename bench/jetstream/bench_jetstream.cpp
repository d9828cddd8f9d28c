// The "without flowguard" JetStream baseline: M messages of real DIP message sizes (the corpus's
// valid messages, each wrapped as one {"payload": …} element as the router delivers them)
// published to a file-storage stream with bare js_PublishAsync, then every PubAck awaited.
// bench/jetstream/run.sh starts the nats-server and runs this; see docs/jetstream.md.
//
//   fg_bench_jetstream --url URL --corpus DIR [--messages M] [--batch N] [--stream S] [--no-msg-id] [--via-sink|--sync]
//   fg_bench_jetstream --url URL --stream S --create [--subjects FILTER]
//   fg_bench_jetstream --url URL --stream S --count [--until N] [--timeout SECONDS]
//
// --batch 0 (default): one pipelined run (at most 4096 PubAcks outstanding), one wait at the end.
// --batch N: publish N, wait for their PubAcks, repeat (the JetStream sink's pattern, max_batch).
// --sync: js_Publish, one message at a time, each PubAck awaited before the next publish.
// --via-sink: the same messages through flowguard's JetStream sink (deliver() of --batch messages,
// default 256), to tell the sink's own cost from the broker's.
// Prints one JSON line: messages, bytes, seconds, messages_per_s, mb_per_s, cpu_s (this process's
// user + system time over the publishing, so a script can add the server's for CPU per message).
// --create: (re)create the file-storage stream S on FILTER (default "bench.>") and leave it there,
// for a flowguard JetStream sink to publish into (bench/routing/run.sh).
// --count: print {"stream", "messages", "epoch_s"} of S; with --until N, poll (every 2 ms) until it
// holds at least N messages or --timeout (default 120 s) passes (exit 1 then): epoch_s is the
// wall-clock time the count was first seen, so a script can time end-to-end delivery.
#include <nats/nats.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "flowguard/sinks/sinks.hpp"

namespace {

int fail(const char* what, natsStatus s) {
  std::fprintf(stderr, "fg_bench_jetstream: %s: %s (%s)\n", what, natsStatus_GetText(s), nats_GetLastError(nullptr));
  return 1;
}

double cpu_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// --create / --count: the stream as a flowguard JetStream sink's target and as the end-to-end clock.
int admin(const std::string& url, const std::string& stream, const std::string& filter, bool create, long until,
          double timeout_s) {
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, url.c_str());
  if (s != NATS_OK) return fail("connect", s);
  jsCtx* js = nullptr;
  if ((s = natsConnection_JetStream(&js, nc, nullptr)) != NATS_OK) return fail("jetstream", s);
  int rc = 0;
  if (create) {
    js_DeleteStream(js, stream.c_str(), nullptr, nullptr);
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream.c_str();
    const char* subjects[] = {filter.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    if ((s = js_AddStream(&si, js, &cfg, nullptr, nullptr)) != NATS_OK) return fail("add stream", s);
    jsStreamInfo_Destroy(si);
    std::printf("{\"stream\":\"%s\",\"subjects\":\"%s\",\"created\":true}\n", stream.c_str(), filter.c_str());
  } else {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    std::uint64_t n = 0;
    double seen_at = 0;
    while (true) {
      jsStreamInfo* si = nullptr;
      if ((s = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr)) != NATS_OK) return fail("stream info", s);
      n = si->State.Msgs;
      jsStreamInfo_Destroy(si);
      seen_at = epoch_now();
      if (until < 0 || n >= static_cast<std::uint64_t>(until)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        rc = 1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::printf("{\"stream\":\"%s\",\"messages\":%llu,\"until\":%ld,\"reached\":%s,\"epoch_s\":%.4f}\n",
                stream.c_str(), static_cast<unsigned long long>(n), until, rc == 0 ? "true" : "false", seen_at);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "nats://127.0.0.1:4222", corpus, stream = "BENCH";
  std::string subjects_filter = "bench.>";
  long messages = 100000, batch = 0, until = -1;
  double timeout_s = 120;
  bool msg_id = true, via_sink = false, sync = false, create = false, count = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--url")
      url = next();
    else if (a == "--corpus")
      corpus = next();
    else if (a == "--messages")
      messages = std::stol(next());
    else if (a == "--batch")
      batch = std::stol(next());
    else if (a == "--stream")
      stream = next();
    else if (a == "--no-msg-id")
      msg_id = false;
    else if (a == "--via-sink")
      via_sink = true;
    else if (a == "--sync")
      sync = true;
    else if (a == "--create")
      create = true;
    else if (a == "--subjects")
      subjects_filter = next();
    else if (a == "--count")
      count = true;
    else if (a == "--until")
      until = std::stol(next());
    else if (a == "--timeout")
      timeout_s = std::stod(next());
    else {
      std::fprintf(stderr,
                   "usage: fg_bench_jetstream --url URL --corpus DIR [--messages M] [--batch N] [--stream S] "
                   "[--no-msg-id] [--via-sink|--sync]\n"
                   "       fg_bench_jetstream --url URL --stream S --create [--subjects FILTER]\n"
                   "       fg_bench_jetstream --url URL --stream S --count [--until N] [--timeout SECONDS]\n");
      return 2;
    }
  }
  if (create || count) return admin(url, stream, subjects_filter, create, until, timeout_s);
  std::vector<std::string> bodies;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(corpus, ec)) {
    if (e.path().filename() != "valid.json") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    bodies.push_back("{\"payload\":" + text.str() + "}");
  }
  if (bodies.empty()) {
    std::fprintf(stderr, "fg_bench_jetstream: no valid.json under --corpus %s\n", corpus.c_str());
    return 2;
  }

  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, url.c_str());
  if (s != NATS_OK) return fail("connect", s);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 4096;
  jo.PublishAsync.StallWait = 10000;
  jsCtx* js = nullptr;
  if ((s = natsConnection_JetStream(&js, nc, &jo)) != NATS_OK) return fail("jetstream", s);
  js_DeleteStream(js, stream.c_str(), nullptr, nullptr);  // a fresh stream each run
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.c_str();
  const std::string subject_filter = "bench.>";
  const char* subjects[] = {subject_filter.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  jsStreamInfo* si = nullptr;
  if ((s = js_AddStream(&si, js, &cfg, nullptr, nullptr)) != NATS_OK) return fail("add stream", s);
  jsStreamInfo_Destroy(si);

  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 60000;
  std::uint64_t bytes = 0;
  char id[32];
  auto started = std::chrono::steady_clock::now();
  double cpu_started = cpu_now();
  if (via_sink) {
    flowguard::sinks::JetStreamOptions so;
    so.servers = {url};
    so.subject = "bench.dip";
    so.stream = stream;
    so.ack_timeout = std::chrono::milliseconds(60000);
    if (batch > 0) so.max_batch = static_cast<std::size_t>(batch);
    batch = static_cast<long>(so.max_batch);
    auto sink = flowguard::sinks::make_jetstream_sink("bench", so);
    if (!sink) {
      std::fprintf(stderr, "fg_bench_jetstream: %s\n", sink.error().message.c_str());
      return 1;
    }
    std::vector<flowguard::sinks::Delivery> chunk;
    started = std::chrono::steady_clock::now();
    cpu_started = cpu_now();
    for (long m = 0; m < messages;) {
      chunk.clear();
      for (; m < messages && chunk.size() < so.max_batch; ++m) {
        flowguard::sinks::Delivery d;
        d.id = "fg-" + std::to_string(m);
        d.reference = "bench-" + std::to_string(m);
        d.type = "dip";
        d.body = bodies[static_cast<std::size_t>(m) % bodies.size()];
        bytes += d.body.size();
        chunk.push_back(std::move(d));
      }
      for (const auto& r : (*sink)->deliver(chunk))
        if (r.outcome != flowguard::sinks::Outcome::kDelivered) {
          std::fprintf(stderr, "fg_bench_jetstream: the sink answered %s\n", r.detail.c_str());
          return 1;
        }
    }
  }
  for (long m = 0; m < messages && !via_sink; ++m) {
    const std::string& body = bodies[static_cast<std::size_t>(m) % bodies.size()];
    jsPubOptions po;
    jsPubOptions_Init(&po);
    if (msg_id) {
      std::snprintf(id, sizeof id, "bench-%ld", m);
      po.MsgId = id;
    }
    if (sync) {
      jsPubAck* ack = nullptr;
      po.MaxWait = 60000;
      if ((s = js_Publish(&ack, js, "bench.dip", body.data(), static_cast<int>(body.size()), &po, nullptr)) != NATS_OK)
        return fail("publish", s);
      jsPubAck_Destroy(ack);
    } else if ((s = js_PublishAsync(js, "bench.dip", body.data(), static_cast<int>(body.size()), &po)) != NATS_OK) {
      return fail("publish", s);
    }
    bytes += body.size();
    if (batch > 0 && (m + 1) % batch == 0 && (s = js_PublishAsyncComplete(js, &wait)) != NATS_OK)
      return fail("wait for PubAcks", s);
  }
  if ((s = js_PublishAsyncComplete(js, &wait)) != NATS_OK) return fail("wait for PubAcks", s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu_s = cpu_now() - cpu_started;

  if ((s = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr)) != NATS_OK) return fail("stream info", s);
  const auto stored = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  js_DeleteStream(js, stream.c_str(), nullptr, nullptr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  if (stored != static_cast<std::uint64_t>(messages)) {
    std::fprintf(stderr, "fg_bench_jetstream: the stream holds %llu messages, expected %ld\n",
                 static_cast<unsigned long long>(stored), messages);
    return 1;
  }
  std::printf(
      "{\"path\":\"%s\",\"messages\":%ld,\"batch\":%ld,\"msg_id\":%s,\"bytes\":%llu,\"avg_bytes\":%.0f,\"seconds\":%."
      "3f,"
      "\"messages_per_s\":%.0f,\"mb_per_s\":%.1f,\"cpu_s\":%.3f}\n",
      via_sink ? "flowguard-sink" : (sync ? "bare-sync" : "bare"), messages, sync ? 1 : batch, msg_id ? "true" : "false",
      static_cast<unsigned long long>(bytes), static_cast<double>(bytes) / static_cast<double>(messages), seconds,
      static_cast<double>(messages) / seconds, static_cast<double>(bytes) / seconds / 1e6, cpu_s);
  return 0;
}
