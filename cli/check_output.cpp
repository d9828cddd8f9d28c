#include "check_output.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <streambuf>

#include "flowguard/report_formats.hpp"

namespace flowguard::cli {

namespace fs = std::filesystem;

std::optional<ColorMode> parse_color(std::string_view text) {
  if (text == "auto") return ColorMode::kAuto;
  if (text == "always") return ColorMode::kAlways;
  if (text == "never") return ColorMode::kNever;
  return std::nullopt;
}

bool use_color(ColorMode mode, int fd) {
  if (mode != ColorMode::kAuto) return mode == ColorMode::kAlways;
  // https://no-color.org: present and not empty, whatever its value, means no colour.
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return isatty(fd) == 1;
}

std::string colorize_text(std::string_view text) {
  struct Word {
    std::string_view marker, colour;
  };
  static constexpr Word kWords[] = {
      {": error: ", "\x1b[1;31m"}, {": warning: ", "\x1b[1;33m"}, {": info: ", "\x1b[1;36m"}, {": note: ", "\x1b[36m"}};
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    text.remove_prefix(line.size());
    // The first severity marker of the line is the one after FILE[:LINE:COL] (messages come later).
    std::size_t best = std::string_view::npos;
    const Word* word = nullptr;
    for (const auto& w : kWords)
      if (const std::size_t at = line.find(w.marker); at < best) best = at, word = &w;
    if (!word) {
      out += line;
      continue;
    }
    const std::size_t start = best + 2, len = word->marker.size() - 4;
    out.append(line.substr(0, start)).append(word->colour).append(line.substr(start, len)).append("\x1b[0m");
    out += line.substr(start + len);
  }
  return out;
}

bool is_format(std::string_view f) {
  return f == "text" || f == "json" || f == "dip" || f == "sarif" || f == "junit" || f == "github";
}

std::string render_reports(const std::vector<FileReport>& reports, Engine& engine, const OutputSettings& s) {
  if (s.format == "json") return format_json(reports);
  if (s.format == "dip") return format_dip(reports, s.dip_now);
  if (s.format == "junit") return format_junit(reports);
  if (s.format == "github") return format_github(reports, !s.quiet);
  if (s.format == "sarif") {
    SarifOptions options;
    options.tool_version = FLOWGUARD_VERSION;
    std::error_code ec;
    options.source_root = fs::current_path(ec).string();
    options.rules = engine.rules();
    options.load_issues = engine.load_issues();
    return format_sarif(reports, options);
  }
  std::string text = format_text(reports, !s.quiet);
  return s.color ? colorize_text(text) : text;
}

namespace {

// A bar on standard error, redrawn in place at most ten times a second:
//   flowguard: checking big.json  [##########..........]  52%  310/598 MiB
class ProgressBar {
 public:
  ProgressBar(std::string name, std::uint64_t total) : name_(std::move(name)), total_(total) {}
  ~ProgressBar() {
    if (drawn_) std::fputs("\r\x1b[2K", stderr);  // leave the line as it was
    std::fflush(stderr);
  }
  void set_label(const char* label) { label_ = label; }
  void update(std::uint64_t done, bool force = false) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    if (done > total_) done = total_;
    const unsigned percent = total_ ? static_cast<unsigned>(done * 100 / total_) : 100;
    char bar[21];
    for (unsigned i = 0; i < 20; ++i) bar[i] = i < percent / 5 ? '#' : '.';
    bar[20] = 0;
    std::fprintf(stderr, "\r\x1b[2Kflowguard: %s %s  [%s] %3u%%  %llu/%llu MiB", label_, name_.c_str(), bar, percent,
                 static_cast<unsigned long long>(done >> 20), static_cast<unsigned long long>(total_ >> 20));
    std::fflush(stderr);
  }

 private:
  std::string name_;
  const char* label_ = "checking";
  std::uint64_t total_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// A file streambuf that reports how far the reader has got (the streaming check reads it on one
// thread, so the bar is drawn from there).
class CountingBuf : public std::streambuf {
 public:
  CountingBuf(std::istream& in, ProgressBar& bar) : in_(in), bar_(bar) {}

 protected:
  int_type underflow() override {
    in_.read(buf_, sizeof buf_);
    const std::streamsize n = in_.gcount();
    if (n <= 0) return traits_type::eof();
    done_ += static_cast<std::uint64_t>(n);
    bar_.update(done_);
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  std::istream& in_;
  ProgressBar& bar_;
  std::uint64_t done_ = 0;
  char buf_[1 << 16];
};

}  // namespace

FileReport check_file_with_progress(Engine& engine, const std::string& file, std::string_view type, bool progress) {
  std::error_code ec;
  const fs::path path(file);
  if (!progress || !fs::is_regular_file(path, ec)) return engine.check_file(path, type);
  // CSV (docs/csv.md) is check_file's own path; its reading is not what the bar measures.
  std::string lower = path.extension().string();
  for (char& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  if (lower == ".csv") return engine.check_file(path, type);
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec || size <= kProgressMinBytes) return engine.check_file(path, type);
  // The same choice as check_file: .ndjson/.jsonl and files of the stream threshold are streamed.
  const std::string ext = path.extension().string();
  const bool ndjson = ext == ".ndjson" || ext == ".jsonl";
  ProgressBar bar(file, size);
  if (ndjson || size >= Engine::kStreamThresholdBytes) {
    std::ifstream raw(path, std::ios::binary);
    if (!raw) return engine.check_file(path, type);
    CountingBuf counting(raw, bar);
    std::istream in(&counting);
    bar.update(0, true);
    return engine.check_stream(in, file, type, ndjson);
  }
  // Read whole, a block at a time for the bar, then checked in place as check_file does.
  std::ifstream in(path, std::ios::binary);
  if (!in) return engine.check_file(path, type);
  bar.set_label("reading");
  PaddedBytes bytes;
  bytes.resize(static_cast<std::size_t>(size));
  std::uint64_t done = 0;
  constexpr std::uint64_t kBlock = 1 << 20;
  while (done < size) {
    const std::uint64_t n = std::min(kBlock, size - done);
    in.read(bytes.data() + done, static_cast<std::streamsize>(n));
    const auto got = static_cast<std::uint64_t>(in.gcount());
    done += got;
    bar.update(done);
    if (got < n) break;
  }
  // The check of a document read whole is one call: the bar says so while it runs.
  bar.set_label("checking");
  bar.update(done, true);
  if (done != size || in.peek() != std::char_traits<char>::eof()) return engine.check_file(path, type);  // changed meanwhile
  return engine.check(bytes, file, type);
}

}  // namespace flowguard::cli
