// Strict RFC 8259 parser producing the read-only DOM of document.hpp.
//
// Design: one iterative state machine (no recursion, so depth is bounded only by max_depth and a
// hostile input cannot overflow the stack). Children of an open container are pushed onto reusable
// per-thread stacks and copied into a chunked arena in one block when the container closes, so a
// container's children are contiguous and the parse does no per-value heap allocation.
#include "flowguard/json/document.hpp"
#include "flowguard/ascii.hpp"
#include "flowguard/key_index.hpp"
#include "flowguard/utf8.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <limits>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>  // AVX2, used only where the CPU has it (see kLineFeedsAvx2)
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#endif

namespace flowguard::json {

const char* to_string(Kind kind) noexcept {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kFalse:
    case Kind::kTrue: return "boolean";
    case Kind::kNumber: return "number";
    case Kind::kString: return "string";
    case Kind::kArray: return "array";
    case Kind::kObject: return "object";
  }
  return "null";
}

// ---------------------------------------------------------------------------------------------
// Value

bool Value::is_integer_text() const noexcept {
  if (kind_ != Kind::kNumber) return false;
  return number_text().find_first_of(".eE") == std::string_view::npos;
}

std::size_t Value::decimal_places() const noexcept {
  if (kind_ != Kind::kNumber) return 0;
  const std::string_view t = number_text();
  const auto dot = t.find('.');
  if (dot == std::string_view::npos) return 0;
  std::size_t n = 0;
  for (std::size_t i = dot + 1; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) ++n;
  return n;
}

const Member* Value::find_member(std::string_view key) const noexcept {
  for (const Member& m : members()) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const Member* Value::find_member_ignoring_case(std::string_view key) const noexcept {
  if (const Member* exact = find_member(key)) return exact;
  for (const Member& m : members())
    if (ascii_iequal(m.key, key)) return &m;
  return nullptr;
}

const Value* Value::find(std::string_view key) const noexcept {
  const Member* m = find_member(key);
  return m ? &m->value : nullptr;
}

// ---------------------------------------------------------------------------------------------
// LineIndex

namespace {

constexpr std::size_t kBlock = 4096;
constexpr bool is_continuation(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }

bool has_bom(std::string_view s) noexcept {
  return s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xEF &&
         static_cast<unsigned char>(s[1]) == 0xBB && static_cast<unsigned char>(s[2]) == 0xBF;
}

std::uint32_t count_code_points(const char* p, std::size_t n) noexcept {
  return static_cast<std::uint32_t>(utf8_code_points(std::string_view(p, n)));
}

#if defined(__x86_64__) && defined(__GNUC__)
// Where the CPU has AVX2 (checked once, at run time; the build targets plain x86-64), line feeds
// are counted 64 bytes at a time with two 32-byte compares and a popcount: half the work of the
// SSE2 lanes. It stops before the first 64 bytes that hold a CR, which the SSE2 path handles.
// (Evaluated while the library's constructors run, so the CPU model is initialised here first.)
const bool kLineFeedsAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}();

// LFs in up to `blocks` 64-byte blocks from p, added to `lines`; the blocks consumed (fewer when
// one holds a CR).
[[gnu::target("avx2,popcnt")]] std::size_t count_line_feeds_avx2(const char* p, std::size_t blocks,
                                                                std::uint64_t& lines) noexcept {
  const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r');
  std::uint64_t count = 0;
  std::size_t b = 0;
  for (; b < blocks; ++b, p += 64) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i returns = _mm256_or_si256(_mm256_cmpeq_epi8(v0, cr), _mm256_cmpeq_epi8(v1, cr));
    if (!_mm256_testz_si256(returns, returns)) break;
    const auto lo = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, lf)));
    const auto hi = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, lf)));
    count += static_cast<std::uint64_t>(__builtin_popcountll(lo | static_cast<std::uint64_t>(hi) << 32));
  }
  lines += count;
  return b;
}
#endif

}  // namespace

LineIndex::LineIndex(std::string_view source) : source_(source), indexed_(true) {}

void LineIndex::scan_to(std::uint64_t offset) const noexcept {
  // Line ends in [cursor_.offset, offset): "\n", and a "\r" not followed by "\n" (a lone CR ends
  // a line too, as in editors; the CR of a CRLF does not, its LF does).
  constexpr std::uint64_t kMarkEvery = std::uint64_t{1} << 16;
  const char* const begin = source_.data();
  const std::size_t n = source_.size();
  auto is_line_end = [&](const char* q) {
    return *q == '\n' || (*q == '\r' && (q + 1 == begin + n || q[1] != '\n'));
  };
  // The start of the line that `at` is on, looking back no further than `floor` (whose line
  // starts at floor_start): lines are short, so this reads a few bytes.
  auto line_start_before = [&](const char* at, const char* floor, std::uint64_t floor_start) {
    for (const char* q = at; q > floor; --q)
      if (is_line_end(q - 1)) return static_cast<std::uint64_t>(q - begin);
    return floor_start;
  };
  const char* const from = begin + cursor_.offset;
  const char* p = from;
  const char* const end = begin + offset;
  std::uint64_t lines = 0;
  // Where a look back for a line start may stop, and the line start there: the scan's start, then
  // each mark set. Looking back only to the last mark keeps a long line (minified JSON, a huge
  // string) linear: looking back to the scan's start at every mark was quadratic in the line.
  const char* floor = from;
  std::uint64_t floor_start = cursor_.line_start;
#if defined(__SSE2__)
  // LFs are counted in byte lanes (a compare's -1 subtracted) and the lanes summed before any
  // can overflow, so 64 bytes cost a few instructions; the rare block with a CR adds its lone
  // CRs one by one.
  const __m128i zero = _mm_setzero_si128();
  __m128i lanes = zero;
  unsigned pending = 0;
  auto flush = [&] {
    const __m128i sums = _mm_sad_epu8(lanes, zero);
    lines += static_cast<std::uint64_t>(_mm_cvtsi128_si32(sums)) +
             static_cast<std::uint64_t>(_mm_cvtsi128_si32(_mm_srli_si128(sums, 8)));
    lanes = zero;
    pending = 0;
  };
  std::uint64_t next_mark = marks_.empty() ? kMarkEvery : marks_.back().offset + kMarkEvery;
  const __m128i lf_byte = _mm_set1_epi8('\n'), cr_byte = _mm_set1_epi8('\r');
  // A block's lone CRs (a CR whose next byte, maybe the next block's first, is no LF).
  auto lone_returns = [&](const char* block, __m128i v, __m128i lf) {
    auto returns = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr_byte)));
    if (!returns) return;
    const bool lf_next = block + 16 < begin + n && block[16] == '\n';
    returns &= ~((static_cast<unsigned>(_mm_movemask_epi8(lf)) >> 1) | (lf_next ? 0x8000u : 0u));
    for (; returns; returns &= returns - 1) ++lines;
  };
  // 64 bytes a step while far from the end and from the next mark, else 16; `pending` bounds
  // what a lane may hold (255) before the lanes are summed.
  for (;;) {
    while (end - p >= 64 && static_cast<std::uint64_t>(p - begin) + 64 <= next_mark) {
#if defined(__x86_64__) && defined(__GNUC__)
      if (kLineFeedsAvx2) {
        const std::size_t blocks = std::min(static_cast<std::size_t>(end - p),
                                            static_cast<std::size_t>(next_mark - static_cast<std::uint64_t>(p - begin))) / 64;
        const std::size_t done = count_line_feeds_avx2(p, blocks, lines);
        p += done * 64;
        if (done == blocks) continue;  // else the next block holds a CR: the lanes below take it
      }
#endif
      const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
      const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
      const __m128i v3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
      const __m128i l0 = _mm_cmpeq_epi8(v0, lf_byte), l1 = _mm_cmpeq_epi8(v1, lf_byte);
      const __m128i l2 = _mm_cmpeq_epi8(v2, lf_byte), l3 = _mm_cmpeq_epi8(v3, lf_byte);
      lanes = _mm_sub_epi8(_mm_sub_epi8(lanes, _mm_add_epi8(l0, l1)), _mm_add_epi8(l2, l3));
      if ((pending += 4) > 251) flush();
      const __m128i cr = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v0, cr_byte), _mm_cmpeq_epi8(v1, cr_byte)),
                                      _mm_or_si128(_mm_cmpeq_epi8(v2, cr_byte), _mm_cmpeq_epi8(v3, cr_byte)));
      if (_mm_movemask_epi8(cr)) {
        lone_returns(p, v0, l0);
        lone_returns(p + 16, v1, l1);
        lone_returns(p + 32, v2, l2);
        lone_returns(p + 48, v3, l3);
      }
      p += 64;
    }
    if (end - p < 16) break;
    if (static_cast<std::uint64_t>(p - begin) >= next_mark) {
      // Lines ended before p: what a later call going backwards restarts from. A mark that
      // cannot be stored (out of memory) only makes such a call rescan more.
      flush();
      const std::uint64_t start = line_start_before(p, floor, floor_start);
      floor = p;
      floor_start = start;
      try {
        marks_.push_back(
            {static_cast<std::uint64_t>(p - begin), cursor_.line + static_cast<std::uint32_t>(lines), start});
      } catch (...) {
      }
      next_mark = static_cast<std::uint64_t>(p - begin) + kMarkEvery;
    }
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i lf = _mm_cmpeq_epi8(v, lf_byte);
    lanes = _mm_sub_epi8(lanes, lf);
    if (++pending > 251) flush();
    lone_returns(p, v, lf);
    p += 16;
  }
  flush();
#endif
  for (; p < end; ++p) lines += is_line_end(p);
  cursor_.line_start = lines ? line_start_before(end, floor, floor_start) : cursor_.line_start;
  cursor_.offset = offset;
  cursor_.line += static_cast<std::uint32_t>(lines);
}

void LineIndex::extend_blocks_to(std::size_t offset) const {
  const std::size_t n = source_.size();
  // An entry for every block start <= offset.
  while (block_code_points_.size() * kBlock <= offset) {
    const std::size_t b = block_code_points_.size();
    block_code_points_.push_back(
        b == 0 ? 0
               : block_code_points_[b - 1] +
                     count_code_points(source_.data() + (b - 1) * kBlock, std::min(kBlock, n - (b - 1) * kBlock)));
  }
}

std::uint64_t LineIndex::code_points_before(std::uint64_t offset) const noexcept {
  const std::size_t block = static_cast<std::size_t>(offset / kBlock);
  if (block >= block_code_points_.size()) return 0;
  const std::size_t start = block * kBlock;
  return block_code_points_[block] +
         count_code_points(source_.data() + start, static_cast<std::size_t>(offset) - start);
}

std::pair<std::uint32_t, std::uint32_t> LineIndex::locate(std::uint64_t offset) const noexcept {
  std::lock_guard lock(mutex_);
  if (!indexed_) return {1, 1};
  offset = std::min<std::uint64_t>(offset, source_.size());
  if (offset < cursor_.offset) {  // backwards: from the last mark at or before offset
    const auto after = std::upper_bound(marks_.begin(), marks_.end(), offset,
                                        [](std::uint64_t o, const Mark& m) { return o < m.offset; });
    cursor_ = after == marks_.begin() ? Mark{} : *(after - 1);
  }
  scan_to(offset);
  const std::uint32_t line = cursor_.line;
  std::uint64_t start = cursor_.line_start;
  // The BOM is invisible in editors: column 1 is the first character after it.
  if (line == 1 && has_bom(source_)) start = std::min<std::uint64_t>(3, offset);
  // A short line is counted from its start; a long one (minified JSON) through per-block counts.
  if (offset - start <= kBlock)
    return {line, count_code_points(source_.data() + start, static_cast<std::size_t>(offset - start)) + 1};
  try {
    extend_blocks_to(static_cast<std::size_t>(offset));
  } catch (...) {
  }
  const auto column = code_points_before(offset) - code_points_before(start) + 1;
  return {line, static_cast<std::uint32_t>(column)};
}

// ---------------------------------------------------------------------------------------------
// Document storage

namespace {

// Large arena chunks freed by one document are kept for the next one, up to a total size (see
// set_parse_memory_cache). Why: the kernel zeroes every fresh page the parse touches; on a 4 MB
// batch that was a third of the parse time, and it is the part of a parallel parse that does not
// scale over threads. Memory already mapped and reused costs nothing of the kind.
class ChunkCache {
 public:
  static ChunkCache& instance() {
    static auto* cache = new ChunkCache;  // never destroyed: documents may outlive static destructors
    return *cache;
  }
  // A cached block of at least `bytes` (the smallest that fits), or nullptr. `size` gets its size.
  void* take(std::size_t bytes, std::size_t& size) {
    std::lock_guard lock(mutex_);
    std::size_t best = blocks_.size();
    for (std::size_t i = 0; i < blocks_.size(); ++i)
      if (blocks_[i].size >= bytes && (best == blocks_.size() || blocks_[i].size < blocks_[best].size)) best = i;
    if (best == blocks_.size()) return nullptr;
    const Block block = blocks_[best];
    blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(best));
    cached_ -= block.size;
    size = block.size;
    return block.memory;
  }
  // Keeps the block when it fits under the limit (evicting the oldest blocks to make room);
  // false when the caller must free it. Called from Arena's destructor: never throws (when
  // memory for the bookkeeping itself runs out, the block is simply not kept).
  bool give(void* memory, std::size_t size) noexcept {
    std::vector<Block> evicted;
    bool kept = false;
    try {
      std::lock_guard lock(mutex_);
      if (size <= limit_) {
        blocks_.reserve(blocks_.size() + 1);  // the only allocations, before anything changes
        evicted.reserve(blocks_.size());
        evict_to(limit_ - size, evicted);
        blocks_.push_back(Block{memory, size});
        cached_ += size;
        kept = true;
      }
    } catch (...) {
    }
    for (const Block& b : evicted) release(b.memory);
    return kept;
  }
  void set_limit(std::size_t bytes) {
    std::vector<Block> evicted;
    {
      std::lock_guard lock(mutex_);
      evicted.reserve(blocks_.size());
      limit_ = bytes;
      evict_to(limit_, evicted);
    }
    for (const Block& b : evicted) release(b.memory);
  }
  static void release(void* memory) { ::operator delete(memory, std::align_val_t{kHugePage}); }

  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

 private:
  struct Block {
    void* memory;
    std::size_t size;
  };
  // Oldest blocks out until at most `keep` bytes stay cached (evicted has the capacity: no throw).
  void evict_to(std::size_t keep, std::vector<Block>& evicted) noexcept {
    while (cached_ > keep) {
      evicted.push_back(blocks_.front());
      cached_ -= blocks_.front().size;
      blocks_.erase(blocks_.begin());
    }
  }
  std::mutex mutex_;
  std::vector<Block> blocks_;  // few: one per large document recently freed
  std::size_t cached_ = 0;
  std::size_t limit_ = kDefaultParseMemoryCache;
};

// Chunked bump allocator: chunks never move, so Values can point at each other. Chunks form an
// intrusive list, so a small document costs one allocation here (the source copy shares it).
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    while (head_) {
      Chunk* next = head_->next;
      if (head_->huge_size == 0) ::operator delete(static_cast<void*>(head_));
      else if (!ChunkCache::instance().give(head_, head_->huge_size)) ChunkCache::release(head_);
      head_ = next;
    }
  }

  void* allocate(std::size_t bytes, std::size_t align) {
    std::size_t pad = (align - (reinterpret_cast<std::uintptr_t>(cur_) & (align - 1))) & (align - 1);
    if (bytes + pad > left_) [[unlikely]] {
      std::size_t size = std::max(bytes + align, next_size_);
      Chunk* chunk = nullptr;
      if (sizeof(Chunk) + size >= kHugeChunk) {
        // A large document: huge pages where the kernel offers them (transparent huge pages in
        // madvise mode), so filling the chunk takes one page fault per 2 MiB instead of per 4 KiB.
        std::size_t rounded = (sizeof(Chunk) + size + kHugePage - 1) & ~(kHugePage - 1);
        chunk = static_cast<Chunk*>(ChunkCache::instance().take(rounded, rounded));
        if (!chunk) {
          chunk = static_cast<Chunk*>(::operator new(rounded, std::align_val_t{kHugePage}));
#ifdef __linux__
          ::madvise(static_cast<void*>(chunk), rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
        }
        chunk->huge_size = rounded;
        size = rounded - sizeof(Chunk);
      } else {
        chunk = static_cast<Chunk*>(::operator new(sizeof(Chunk) + size));
        chunk->huge_size = 0;
      }
      chunk->next = head_;
      head_ = chunk;
      cur_ = reinterpret_cast<std::byte*>(chunk + 1);
      left_ = size;
      next_size_ = std::min<std::size_t>(next_size_ * 2, std::size_t{64} << 20);
      pad = (align - (reinterpret_cast<std::uintptr_t>(cur_) & (align - 1))) & (align - 1);
    }
    std::byte* out = cur_ + pad;
    cur_ = out + bytes;
    left_ -= bytes + pad;
    return out;
  }
  void set_next_chunk_size(std::size_t size) { next_size_ = size; }
  // Takes ownership of other's chunks (what was allocated there stays where it is); other is left
  // empty. Allocation continues in this arena's current chunk.
  void absorb(Arena& other) noexcept {
    if (!other.head_) return;
    Chunk* tail = other.head_;
    while (tail->next) tail = tail->next;
    if (head_) {
      tail->next = head_->next;
      head_->next = other.head_;
    } else {
      head_ = other.head_;
    }
    other.head_ = nullptr;
    other.cur_ = nullptr;
    other.left_ = 0;
  }

 private:
  static constexpr std::size_t kHugePage = ChunkCache::kHugePage;
  static constexpr std::size_t kHugeChunk = std::size_t{4} << 20;
  struct alignas(16) Chunk {
    Chunk* next;
    std::size_t huge_size;  // 0: plain operator new; else the kHugePage-aligned block's size (cached on free)
  };
  Chunk* head_ = nullptr;
  std::byte* cur_ = nullptr;
  std::size_t left_ = 0;
  std::size_t next_size_ = 4096;
};

}  // namespace

void set_parse_memory_cache(std::size_t bytes) { ChunkCache::instance().set_limit(bytes); }

struct Document::Impl {
  std::string_view source;  // followed by 1 + kPadding NUL bytes: a copy in the arena, or borrowed
  Value root;
  Arena arena;
  std::vector<DuplicateKey> duplicates;
  mutable std::once_flag lines_once;
  mutable std::unique_ptr<LineIndex> lines;
};

Document::Document() = default;
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

const Value& Document::root() const noexcept {
  static const Value kNull;
  return impl_ ? impl_->root : kNull;
}

std::string_view Document::source() const noexcept { return impl_ ? impl_->source : std::string_view(); }

const LineIndex& Document::lines() const {
  static const LineIndex kEmpty;
  if (!impl_) return kEmpty;
  std::call_once(impl_->lines_once, [this] { impl_->lines = std::make_unique<LineIndex>(impl_->source); });
  return *impl_->lines;
}

const std::vector<Document::DuplicateKey>& Document::duplicate_keys() const noexcept {
  static const std::vector<DuplicateKey> kNone;
  return impl_ ? impl_->duplicates : kNone;
}

// ---------------------------------------------------------------------------------------------
// Parser

namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0 when it is ill-formed
// (overlongs, surrogates, > U+10FFFF and truncation are all rejected, per RFC 3629).
int utf8_length(const char* p, const char* end) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const std::ptrdiff_t avail = end - p;
  const unsigned char c = u[0];
  auto cont = [&](int i) { return i < avail && is_continuation(u[i]); };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 2) return 0;
    const unsigned char c1 = u[1];
    const bool ok1 = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF) : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F) : is_continuation(c1);
    return ok1 && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 2) return 0;
    const unsigned char c1 = u[1];
    const bool ok1 = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF) : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F) : is_continuation(c1);
    return ok1 && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The parser reads its own copy of the source, followed by a NUL and kPadding more NUL bytes. The
// NUL at `end` stops every scan below (it is a control character and not whitespace), so the scans
// need no bounds checks, and the padding lets them read whole 16-byte blocks at any p <= end.
constexpr std::size_t kPadding = 64;

// First byte at or after p that ends the plain part of a string: '"', '\\', a control character or
// a non-ASCII byte (which needs UTF-8 validation). At most `end` (the NUL there stops the scan).
inline const char* scan_plain(const char* p) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (;; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" flags them along with controls.
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
    if (const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit))) return p + std::countr_zero(mask);
  }
#else
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    for (;; p += 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t q = w ^ (kOnes * '"');
      const std::uint64_t b = w ^ (kOnes * '\\');
      // Lowest flagged byte is exact for each test (borrows only propagate upwards).
      const std::uint64_t hit =
          (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | ((w - kOnes * 0x20) & ~w) | w) & kHigh;
      if (hit) return p + (std::countr_zero(hit) >> 3);
    }
  }
  for (;; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
#endif
}

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// First byte at or after p that is not JSON whitespace; at most `end` (the NUL there stops it).
// Indentation runs are short and repeat, so a byte loop whose exit the CPU predicts beats a 16-byte
// compare here: the next token's position would wait for the compare (measured: ~15% slower).
[[gnu::always_inline]] inline const char* skip_ws(const char* p) noexcept {
  // Most calls find no whitespace or a single space (after ':').
  if (static_cast<unsigned char>(*p) > ' ') [[likely]] return p;
  if (*p == ' ' && static_cast<unsigned char>(p[1]) > ' ') return p + 1;
#if defined(__SSE2__)
  // A line break and indentation: 16 bytes at a time (the NUL padding ends every run).
  for (;; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))));
    const unsigned other = ~static_cast<unsigned>(_mm_movemask_epi8(ws)) & 0xFFFFu;
    if (other) return p + std::countr_zero(other);
  }
#else
  while (is_ws(*p)) ++p;
  return p;
#endif
}

std::string hex2(unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[c >> 4], kHex[c & 0xF]};
}

const char* short_escape(unsigned char c) noexcept {
  switch (c) {
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return nullptr;
  }
}

// A hash of a key's length and its first and last 8 bytes (keys of up to 16 bytes: every byte).
// Only equal keys must hash equal: keys that differ only in the middle of a long key collide and
// are told apart by the compare. The loads stay inside the key, so decoded keys outside the
// source work too.
inline std::uint32_t key_hash(std::string_view key) noexcept {
  const char* s = key.data();
  const std::size_t n = key.size();
  std::uint64_t acc = n;
  if (n >= 8) {
    std::uint64_t head, tail;
    std::memcpy(&head, s, 8);
    std::memcpy(&tail, s + n - 8, 8);
    acc ^= head ^ std::rotl(tail, 23);
  } else if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, s, 4);
    std::memcpy(&hi, s + n - 4, 4);
    acc ^= (lo | (std::uint64_t{hi} << 32)) << 3;
  } else if (n > 0) {
    acc ^= (static_cast<unsigned char>(s[0]) | (static_cast<unsigned>(static_cast<unsigned char>(s[n / 2])) << 8) |
            (static_cast<unsigned>(static_cast<unsigned char>(s[n - 1])) << 16)) << 3;
  }
  acc ^= acc >> 32;
  return static_cast<std::uint32_t>((acc * 0x9E3779B97F4A7C15ULL) >> 32);
}

// The keys an object is expected to have, in order: those of an earlier clean object with the same
// first key (Parser::predicted_). `next` advances while the keys match; all null once one does
// not. While it holds, the object's members are written straight into their final place in the
// arena (`base`, sized for the expected count; `out` is where the next goes), not onto the member
// stack to be copied at the close.
struct KeyPrediction {
  const Member* next = nullptr;
  const Member* end = nullptr;
  Member* base = nullptr;
  Member* out = nullptr;
  std::uint32_t id = 0;  // the predicted object's key shape
};

struct Frame {
  std::uint32_t start;   // index of the first child on the items/members stack
  std::uint32_t offset;  // of '[' or '{'
  bool object;
  // The parent's pending member key (when the parent is an object): this container's own key.
  std::string_view key;
  std::uint32_t key_offset;
  KeyPrediction parent_prediction;  // the parent object's, restored when this container closes
};

// Whether the source at `quote` (an opening quote) holds exactly the plain key `expected` and its
// closing quote. `expected` lies in the same padded source and is followed by its own closing
// quote, so both sides compare len + 1 bytes in 16-byte blocks. The caller guarantees that
// quote + len + 2 <= end, so no load passes end + 16 (the padding, or what follows a parallel
// range's end: its window in a copy, the rest of the input in place).
[[gnu::always_inline]] inline bool matches_expected_key(const char* quote, std::string_view expected) noexcept {
  const char* a = quote + 1;
  const char* b = expected.data();
  std::size_t n = expected.size() + 1;
#if defined(__SSE2__)
  for (; n > 16; n -= 16, a += 16, b += 16) {
    const __m128i eq = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    if (_mm_movemask_epi8(eq) != 0xFFFF) return false;
  }
  const __m128i eq = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)),
                                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
  const unsigned differ = ~static_cast<unsigned>(_mm_movemask_epi8(eq)) & ((1u << n) - 1);
  return differ == 0;
#else
  return std::memcmp(a, b, n) == 0;
#endif
}

// Growable stack of trivially copyable elements. Unlike std::vector, push() does not construct a
// temporary and the growth path stays out of line, so the hot push inlines to a compare and a bump.
template <typename T>
class PodStack {
 public:
  PodStack() = default;
  PodStack(const PodStack&) = delete;
  PodStack& operator=(const PodStack&) = delete;
  ~PodStack() { std::free(data_); }

  T& push() {
    if (size_ == capacity_) [[unlikely]] grow();
    return data_[size_++];
  }
  void push_back(const T& value) { push() = value; }
  T& back() noexcept { return data_[size_ - 1]; }
  void pop_back() noexcept { --size_; }
  bool empty() const noexcept { return size_ == 0; }
  T* data() noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  void truncate(std::size_t n) noexcept { size_ = n; }
  void clear() noexcept { size_ = 0; }
  void release_if_larger(std::size_t keep) noexcept {
    if (capacity_ > keep) {
      std::free(data_);
      data_ = nullptr;
      size_ = capacity_ = 0;
    }
  }

 private:
  [[gnu::noinline]] void grow() {
    static_assert(std::is_trivially_copyable_v<T>);
    const std::size_t capacity = capacity_ ? capacity_ * 2 : 256;
    void* grown = std::realloc(static_cast<void*>(data_), capacity * sizeof(T));
    if (!grown) throw std::bad_alloc();
    data_ = static_cast<T*>(grown);
    capacity_ = capacity;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Reused across parses on one thread so steady-state parsing allocates only the Document.
struct Scratch {
  PodStack<Frame> frames;
  PodStack<Value> items;
  PodStack<Member> members;
  std::string text;                    // decoding strings with escapes
  std::vector<std::uint32_t> order;    // duplicate-key detection in large objects
  std::vector<std::uint32_t> dup_objects;

  void reset() {
    frames.clear();
    items.clear();
    members.clear();
    dup_objects.clear();
  }
  void trim() {
    // Don't let one huge document pin memory for the thread's lifetime.
    constexpr std::size_t kKeep = std::size_t{1} << 16;
    items.release_if_larger(kKeep);
    members.release_if_larger(kKeep);
    frames.release_if_larger(kKeep);
    if (text.capacity() > (kKeep << 4)) std::string().swap(text);
    if (order.capacity() > kKeep) std::vector<std::uint32_t>().swap(order);
  }
};

}  // namespace

class Parser {
 public:
  Parser(Document::Impl& doc, const ParseOptions& options, ParseError& error, Scratch& scratch)
      : Parser(doc, options, error, scratch, doc.source.data(), doc.source.data() + doc.source.size()) {}
  // Offsets are counted from `begin`; `end` must point at a NUL followed by kPadding readable bytes
  // (a range of an in-place parallel parse: at the ',' or ']' after its last item, with the rest
  // of the padded input readable after it).
  Parser(Document::Impl& doc, const ParseOptions& options, ParseError& error, Scratch& scratch,
         const char* begin, const char* end)
      : doc_(doc), error_(error), s_(scratch), max_depth_(options.max_depth), begin_(begin), end_(end) {}

  // The whole document.
  bool run();
  // A range of the root array's items: [start, end_) holds `item (',' item)*` with whitespace
  // around items, and nothing else. The root array (whose '[' is at array_offset) counts as one
  // level of depth, as in the serial parse. On success the items are on the scratch item stack (in
  // order), and doc_ holds their storage and the range's duplicate keys (objects unresolved; their
  // offsets are on the scratch's dup_objects).
  bool run_items(const char* start, std::uint32_t array_offset);

  // Parses doc.source as described by ParseOptions::threads. False when the input does not qualify
  // or any part fails (doc is then untouched apart from its arena): parse serially instead.
  // `in_place`: doc.source is `bytes` itself (padded input), read where it is; otherwise
  // doc.source is room for a copy, which the range threads fill.
  static bool parse_parallel(Document::Impl& doc, std::string_view bytes, const ParseOptions& options, bool in_place);

 private:
  template <bool kItems>
  bool parse(const char* p);
  static void resolve_duplicate_objects(Document::Impl& doc, const std::uint32_t* dup_objects);

  std::uint32_t off(const char* p) const noexcept { return static_cast<std::uint32_t>(p - begin_); }

  bool fail(const char* p, std::string message, bool limit = false) {
    error_.offset = static_cast<std::uint64_t>(p - begin_);
    error_.message = std::move(message);
    error_.limit = limit;
    return false;
  }
  std::string describe(const char* p) const;
  bool fail_expected(const char* p, const char* what);
  // `plain` is set when the string was ASCII without escapes (the fast path).
  [[gnu::always_inline]] bool parse_string(const char*& p, std::string_view& out, bool& plain);
  bool parse_escaped(const char* quote, const char* start, const char*& p, std::string_view& out);
  bool parse_number(const char*& p, Value& v);
  bool parse_literal(const char*& p, Value& v, std::string_view word, Kind kind);
  // Where the next value goes: a new item/member of the open container, or the root. Values are
  // written in place (no temporary Value copied around).
  [[gnu::always_inline]] Value& slot(bool in_object, std::string_view key, std::uint32_t key_offset,
                                     KeyPrediction& expect) {
    if (s_.frames.empty()) [[unlikely]] return doc_.root;
    if (in_object) {
      Member& m = expect.out ? *expect.out++ : s_.members.push();
      m.key = key;
      m.key_offset = key_offset;
      return *new (&m.value) Value();
    }
    return *new (&s_.items.push()) Value();
  }
  bool parse_string_slow(const char* quote, const char* start, const char*& p, std::string_view& out);
  void close_array(const Frame& f, Value& v);
  void close_object(const Frame& f, Value& v);
  // An object whose prediction held to its close: its members are in place, its key shape known.
  static void close_predicted(const Frame& f, Value& v, const KeyPrediction& expect) noexcept;
  void find_duplicates(const Member* members, std::uint32_t n, std::uint32_t object_offset);
  // The key shape (Value::key_shape()) of an earlier object of this parse that had no duplicate
  // key when this object's keys are, in order, the same: then it has none either. 0 otherwise. A
  // batch's records repeat one key sequence, so most objects skip the hashing.
  std::uint32_t same_keys_as_clean_object(const Member* members, std::uint32_t n) const noexcept;

  Document::Impl& doc_;
  ParseError& error_;
  Scratch& s_;
  std::size_t max_depth_;
  const char* begin_;
  const char* end_;
  // Objects found free of duplicate keys, one per slot (by member count and first key): their
  // members in the arena (stable for the document's lifetime). Messages nest objects of several
  // kinds; the first key keeps them in slots of their own.
  struct CleanShape {
    const Member* members = nullptr;
    std::uint32_t n = 0;
    std::uint32_t id = 0;  // the key shape: 1 + the source offset of the first such object
  };
  std::array<CleanShape, 64> clean_shapes_{};
  // The last clean object with plain keys in the source, one per slot by first key: an object
  // whose first key matches expects the rest of its keys to follow in the same order. Its keys
  // are then compared in place with the source, with no scan for their end, and the object
  // takes that shape with no check at its close.
  std::array<CleanShape, 64> predicted_{};
  static std::size_t prediction_slot(std::string_view first_key) noexcept {
    return static_cast<std::size_t>(KeyIndex::hash(first_key) >> 58);
  }
  void remember_prediction(const Member* members, std::uint32_t n, std::uint32_t id) noexcept;
  KeyPrediction predict(std::string_view first_key) {
    const CleanShape& shape = predicted_[prediction_slot(first_key)];
    if (!shape.members || !KeyIndex::same(shape.members[0].key, first_key)) return {};
    auto* members = static_cast<Member*>(doc_.arena.allocate(shape.n * sizeof(Member), alignof(Member)));
    return {shape.members + 1, shape.members + shape.n, members, members, shape.id};
  }
  // A prediction that stops holding: the members written so far move to the member stack (where
  // the object's frame starts: its children have left it), and the object goes on as any other.
  void abandon(KeyPrediction& expect) {
    for (const Member* m = expect.base; m != expect.out; ++m) s_.members.push() = *m;
    expect = {};
  }
  static std::size_t shape_slot(const Member* members, std::uint32_t n) noexcept {
    return static_cast<std::size_t>((KeyIndex::hash(members[0].key) ^ (n * 0x9E3779B97F4A7C15ull)) >> 58);
  }
};

std::string Parser::describe(const char* p) const {
  if (p >= end_) return "end of input";
  const auto c = static_cast<unsigned char>(*p);
  if (c == '\n' || c == '\r') return "a line break";
  if (c < 0x20 || c == 0x7F) return "control character U+00" + hex2(c);
  if (c < 0x80) return std::string("'") + static_cast<char>(c) + "'";
  if (const int len = utf8_length(p, end_)) return "'" + std::string(p, static_cast<std::size_t>(len)) + "'";
  return "invalid UTF-8 byte 0x" + hex2(c);
}

bool Parser::fail_expected(const char* p, const char* what) {
  if (p >= end_) return fail(p, std::string("unexpected end of input: expected ") + what);
  std::string message = std::string("expected ") + what + ", found " + describe(p);
  // Common non-JSON habits get a hint.
  switch (*p) {
    case '/': message += " (comments are not allowed in JSON)"; break;
    case '\'': message += " (JSON strings use double quotes)"; break;
    case 'N':
    case 'I': message += " (NaN and Infinity are not valid JSON)"; break;
    default: break;
  }
  return fail(p, std::move(message));
}

bool Parser::parse_literal(const char*& p, Value& v, std::string_view word, Kind kind) {
  if (static_cast<std::size_t>(end_ - p) >= word.size() && std::memcmp(p, word.data(), word.size()) == 0) {
    v.kind_ = kind;
    v.offset_ = off(p);
    p += word.size();
    return true;
  }
  // Show the whole mistyped word, not just its first letter.
  const char* q = p;
  while (q < end_ && q - p < 16 && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || is_digit(*q))) ++q;
  // Appended, not `"'" + std::string(word)`: GCC 12 warns falsely (-Wrestrict) on that form.
  std::string expected = "'";
  expected.append(word).append("'");
  if (q == end_ && std::string_view(word).starts_with(std::string_view(p, static_cast<std::size_t>(q - p)))) {
    return fail(q, "unexpected end of input: expected " + expected);
  }
  return fail(p, "expected " + expected + ", found '" + std::string(p, static_cast<std::size_t>(q - p)) + "'");
}

bool Parser::parse_number(const char*& p, Value& v) {
  // One pass validates the grammar and accumulates the digits (the NUL at end_ is no digit, so
  // no bounds checks). The fast paths below are exact, so every path gives the correctly rounded
  // double, as std::from_chars does.
  const char* start = p;
  const bool negative = *p == '-';
  p += negative;
  const char* digits = p;
  if (!is_digit(*p)) return fail_expected(p, "a digit after '-'");
  std::uint64_t mantissa = 0;  // wraps beyond 19 digits; then only from_chars is used
  if (*p == '0') {
    ++p;
    if (is_digit(*p)) return fail(start, "leading zeros are not allowed in numbers");
  } else {
    do mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p++ - '0');
    while (is_digit(*p));
  }
  const char* int_end = p;
  std::ptrdiff_t fraction_digits = 0;
  if (*p == '.') {
    ++p;
    if (!is_digit(*p)) return fail_expected(p, "a digit after '.'");
    const char* fraction = p;
    do mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p++ - '0');
    while (is_digit(*p));
    fraction_digits = p - fraction;
  }
  std::int64_t exp10 = -fraction_digits;
  if ((*p | 0x20) == 'e') {
    ++p;
    const bool negative_exp = *p == '-';
    if (*p == '+' || *p == '-') ++p;
    if (!is_digit(*p)) return fail_expected(p, "a digit in the exponent");
    std::int64_t e = 0;
    do {
      if (e < 100000) e = e * 10 + (*p - '0');  // beyond that only from_chars decides
      ++p;
    } while (is_digit(*p));
    exp10 += negative_exp ? -e : e;
  }
  v.kind_ = Kind::kNumber;
  v.offset_ = off(start);
  v.text_ = start;
  v.size_ = static_cast<std::uint32_t>(p - start);

  // Clinger's fast path: a mantissa up to 2^53 and a power of ten up to 1e22 are both exact
  // doubles, so one IEEE multiply/divide gives the correctly rounded result (integers: exp10 0).
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const std::ptrdiff_t digit_count = (int_end - digits) + fraction_digits;
  if (digit_count <= 19 && mantissa <= (std::uint64_t{1} << 53) && exp10 >= -22 && exp10 <= 22) {
    double d = static_cast<double>(mantissa);
    d = exp10 < 0 ? d / kPow10[-exp10] : d * kPow10[exp10];
    v.number_ = negative ? -d : d;
    return true;
  }
  double d = 0.0;
  const auto [ptr, ec] = std::from_chars(start, p, d);
  if (ec == std::errc::result_out_of_range) {
    // Grammar is already validated; decide overflow vs underflow from the decimal magnitude.
    std::int64_t magnitude = 0;
    const char* q = digits;
    while (q < int_end && *q == '0') ++q;
    if (q < int_end) {
      magnitude = int_end - q;
    } else if (int_end < p && *int_end == '.') {
      const char* f = int_end + 1;
      while (f < p && *f == '0') ++f;
      magnitude = -(f - int_end - 1);
    }
    const char* e = std::find_if(digits, p, [](char c) { return c == 'e' || c == 'E'; });
    if (e != p) {
      const char* x = e + 1;
      const bool neg_exp = *x == '-';
      if (*x == '+' || *x == '-') ++x;
      std::int64_t exp = 0;
      for (; x < p && exp < 100000; ++x) exp = exp * 10 + (*x - '0');
      magnitude += neg_exp ? -exp : exp;
    }
    // Beyond double range there is no value to compare: 1e400 would pass `maximum` as infinity and
    // -1e-400 pass `minimum: 0` as zero. RFC 8259 §6 lets a parser limit range; ours is a double's.
    const std::string text(start, static_cast<std::size_t>(std::min<std::ptrdiff_t>(p - start, 40)));
    const std::string shown = text + (p - start > 40 ? "..." : "");
    if (magnitude > 0)
      return fail(start,
                  "the number " + shown +
                      " is beyond the range of a double (magnitude up to 1.7976931348623157e308); expected a number "
                      "within it",
                  true);
    return fail(start, "the number " + shown + " is too small to tell from zero in a double (below 4.9e-324); "
                "expected 0 or a number within double range", true);
  }
  v.number_ = d;
  return true;
}

[[gnu::always_inline]] inline bool Parser::parse_string(const char*& p, std::string_view& out, bool& plain) {
  const char* start = p + 1;
  const char* q = scan_plain(start);
  if (*q == '"') [[likely]] {  // ASCII without escapes: the common case (the NUL at end_ is no '"')
    out = std::string_view(start, static_cast<std::size_t>(q - start));
    p = q + 1;
    plain = true;
    return true;
  }
  plain = false;
  // Only these locals' addresses leave the function, so the caller's p and out stay in registers.
  std::string_view slow_out;
  if (!parse_string_slow(p, start, q, slow_out)) return false;
  out = slow_out;
  p = q;
  return true;
}

bool Parser::parse_string_slow(const char* quote, const char* start, const char*& p, std::string_view& out) {
  for (;;) {
    p = scan_plain(p);
    if (p == end_) return fail(quote, "unterminated string: no closing '\"' before end of input");
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      out = std::string_view(start, static_cast<std::size_t>(p - start));
      ++p;
      return true;
    }
    if (c == '\\') return parse_escaped(quote, start, p, out);
    if (c == '\n' || c == '\r') return fail(p, "unterminated string: line break before the closing '\"' (write it as \\n)");
    if (c < 0x20) {
      const char* esc = short_escape(c);
      return fail(p, "unescaped control character U+00" + hex2(c) + " in string (write it as " +
                         (esc ? std::string(esc) : "\\u00" + hex2(c)) + ")");
    }
    const int len = utf8_length(p, end_);
    if (len == 0) return fail(p, "invalid UTF-8 in string: byte 0x" + hex2(c) + " does not start a valid sequence");
    p += len;
  }
}

bool Parser::parse_escaped(const char* quote, const char* start, const char*& p, std::string_view& out) {
  std::string& text = s_.text;
  text.assign(start, p);
  for (;;) {
    const char* run = p;
    p = scan_plain(p);
    text.append(run, p);
    if (p == end_) return fail(quote, "unterminated string: no closing '\"' before end of input");
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      ++p;
      break;
    }
    if (c == '\\') {
      const char* esc = p;
      if (end_ - p < 2) return fail(quote, "unterminated string: no closing '\"' before end of input");
      switch (p[1]) {
        case '"': text.push_back('"'); p += 2; continue;
        case '\\': text.push_back('\\'); p += 2; continue;
        case '/': text.push_back('/'); p += 2; continue;
        case 'b': text.push_back('\b'); p += 2; continue;
        case 'f': text.push_back('\f'); p += 2; continue;
        case 'n': text.push_back('\n'); p += 2; continue;
        case 'r': text.push_back('\r'); p += 2; continue;
        case 't': text.push_back('\t'); p += 2; continue;
        case 'u': break;
        default: {
          std::string found = describe(p + 1);
          if (found.size() >= 3 && found.front() == '\'') found = found.substr(1, found.size() - 2);
          return fail(esc, "invalid escape '\\" + found +
                               "' (valid escapes: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
      }
      auto read_hex4 = [&](const char* h, std::uint32_t& cp) {
        if (end_ - h < 4) return false;
        cp = 0;
        for (int i = 0; i < 4; ++i) {
          const int d = hex_value(h[i]);
          if (d < 0) return false;
          cp = cp * 16 + static_cast<std::uint32_t>(d);
        }
        return true;
      };
      std::uint32_t cp = 0;
      if (!read_hex4(p + 2, cp)) return fail(esc, "invalid \\u escape: expected 4 hex digits after \\u");
      p += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return fail(esc, "lone low surrogate \\u" + std::string(esc + 2, 4) + " in string: not preceded by a high surrogate");
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        std::uint32_t low = 0;
        if (end_ - p < 6 || p[0] != '\\' || p[1] != 'u' || !read_hex4(p + 2, low) || low < 0xDC00 || low > 0xDFFF) {
          return fail(esc, "lone high surrogate \\u" + std::string(esc + 2, 4) +
                               " in string: expected a low surrogate \\uDC00-\\uDFFF to follow");
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        p += 6;
      }
      append_utf8(text, cp);
      continue;
    }
    if (c == '\n' || c == '\r') return fail(p, "unterminated string: line break before the closing '\"' (write it as \\n)");
    if (c < 0x20) {
      const char* esc = short_escape(c);
      return fail(p, "unescaped control character U+00" + hex2(c) + " in string (write it as " +
                         (esc ? std::string(esc) : "\\u00" + hex2(c)) + ")");
    }
    const int len = utf8_length(p, end_);
    if (len == 0) return fail(p, "invalid UTF-8 in string: byte 0x" + hex2(c) + " does not start a valid sequence");
    text.append(p, static_cast<std::size_t>(len));
    p += len;
  }
  char* dst = static_cast<char*>(doc_.arena.allocate(text.size(), 1));
  std::memcpy(dst, text.data(), text.size());
  out = std::string_view(dst, text.size());
  return true;
}

void Parser::close_array(const Frame& f, Value& v) {
  const std::size_t n = s_.items.size() - f.start;
  v = Value();
  v.kind_ = Kind::kArray;
  v.offset_ = f.offset;
  v.size_ = static_cast<std::uint32_t>(n);
  if (n) {
    auto* dst = static_cast<Value*>(doc_.arena.allocate(n * sizeof(Value), alignof(Value)));
    std::memcpy(static_cast<void*>(dst), s_.items.data() + f.start, n * sizeof(Value));
    v.items_ = dst;
  } else {
    v.items_ = nullptr;
  }
  s_.items.truncate(f.start);
}

void Parser::close_predicted(const Frame& f, Value& v, const KeyPrediction& expect) noexcept {
  v = Value();
  v.kind_ = Kind::kObject;
  v.offset_ = f.offset;
  v.size_ = static_cast<std::uint32_t>(expect.out - expect.base);
  v.key_shape_ = expect.id;
  v.members_ = expect.base;
}

void Parser::close_object(const Frame& f, Value& v) {
  const std::size_t n = s_.members.size() - f.start;
  v = Value();
  v.kind_ = Kind::kObject;
  v.offset_ = f.offset;
  v.size_ = static_cast<std::uint32_t>(n);
  if (n) {
    const Member* src = s_.members.data() + f.start;
    // Before the copy: the stack is hot in cache, and the copy's stores to fresh arena memory
    // would stall reads of the copy.
    const auto count = static_cast<std::uint32_t>(n);
    bool remember = false;
    if (n > 1) {
      v.key_shape_ = same_keys_as_clean_object(src, count);
      if (!v.key_shape_) {
        const std::size_t before = doc_.duplicates.size();
        find_duplicates(src, count, f.offset);
        remember = n <= 64 && doc_.duplicates.size() == before;
      }
    }
    auto* dst = static_cast<Member*>(doc_.arena.allocate(n * sizeof(Member), alignof(Member)));
    std::memcpy(static_cast<void*>(dst), src, n * sizeof(Member));
    v.members_ = dst;
    if (remember) {
      // Offsets are unique in a document, also across the ranges of a parallel parse.
      v.key_shape_ = f.offset + 1;
      clean_shapes_[shape_slot(dst, count)] = {dst, count, v.key_shape_};
    }
    if (v.key_shape_) remember_prediction(dst, count, v.key_shape_);
  } else {
    v.members_ = nullptr;
  }
  s_.members.truncate(f.start);
}

void Parser::remember_prediction(const Member* m, std::uint32_t n, std::uint32_t id) noexcept {
  // Only keys that lie in this parse's source, where a key is followed by its closing quote: they
  // were read without escapes (decoded keys live elsewhere), so the same bytes at another key's
  // place read as the same key.
  const auto lo = reinterpret_cast<std::uintptr_t>(begin_);
  const auto hi = reinterpret_cast<std::uintptr_t>(end_);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto at = reinterpret_cast<std::uintptr_t>(m[i].key.data());
    if (at <= lo || at + m[i].key.size() >= hi) return;
  }
  predicted_[prediction_slot(m[0].key)] = {m, n, id};
}

std::uint32_t Parser::same_keys_as_clean_object(const Member* m, std::uint32_t n) const noexcept {
  const CleanShape& shape = clean_shapes_[shape_slot(m, n)];
  if (shape.n != n) return 0;
  for (std::uint32_t i = 0; i < n; ++i)
    if (!KeyIndex::same(m[i].key, shape.members[i].key)) return 0;
  return shape.id;
}

void Parser::find_duplicates(const Member* m, std::uint32_t n, std::uint32_t object_offset) {
  const std::size_t before = doc_.duplicates.size();
  if (n <= 64) {
    // Small objects (the common case): each key gets a hash; a key is compared with an earlier key
    // only when their hashes are equal, and the hash list is scanned only when the key's bit in a
    // 256-bit filter was already set (for a 21-key record, about one key in 25), so a clean
    // object costs O(n) plus a few integer compares.
    std::uint32_t hashes[64];
    std::uint64_t seen[4] = {0, 0, 0, 0};
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::string_view k = m[i].key;
      const std::uint32_t h = key_hash(k);
      hashes[i] = h;
      std::uint64_t& word = seen[h >> 30];
      const std::uint64_t bit = std::uint64_t{1} << ((h >> 24) & 63);
      if (word & bit) [[unlikely]] {
        for (std::uint32_t j = 0; j < i; ++j) {
          if (hashes[j] == h && m[j].key == k) {
            doc_.duplicates.push_back({m[i].key_offset, k, nullptr});
            break;
          }
        }
      }
      word |= bit;
    }
  } else {
    auto& order = s_.order;
    order.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [m](std::uint32_t a, std::uint32_t b) {
      return m[a].key != m[b].key ? m[a].key < m[b].key : a < b;
    });
    for (std::uint32_t i = 1; i < n; ++i) {
      if (m[order[i]].key == m[order[i - 1]].key) {
        doc_.duplicates.push_back({m[order[i]].key_offset, m[order[i]].key, nullptr});
      }
    }
    std::sort(doc_.duplicates.begin() + static_cast<std::ptrdiff_t>(before), doc_.duplicates.end(),
              [](const auto& a, const auto& b) { return a.key_offset < b.key_offset; });
  }
  // The object's final address is known only once its parent closes; remember its offset.
  s_.dup_objects.resize(doc_.duplicates.size(), object_offset);
}

void Parser::resolve_duplicate_objects(Document::Impl& doc_, const std::uint32_t* dup_objects) {
  // Rare path: walk the finished tree once and map object offsets to their Values.
  std::vector<std::pair<std::uint32_t, std::size_t>> wanted;  // (object offset, duplicate index)
  wanted.reserve(doc_.duplicates.size());
  for (std::size_t i = 0; i < doc_.duplicates.size(); ++i) wanted.emplace_back(dup_objects[i], i);
  std::sort(wanted.begin(), wanted.end());
  std::vector<const Value*> stack{&doc_.root};
  std::size_t remaining = wanted.size();
  while (!stack.empty() && remaining) {
    const Value* v = stack.back();
    stack.pop_back();
    if (v->is_object()) {
      auto it = std::lower_bound(wanted.begin(), wanted.end(), std::pair<std::uint32_t, std::size_t>(v->offset(), 0));
      for (; it != wanted.end() && it->first == v->offset(); ++it, --remaining) doc_.duplicates[it->second].object = v;
      for (const Member& m : v->members()) {
        if (m.value.is_object() || m.value.is_array()) stack.push_back(&m.value);
      }
    } else if (v->is_array()) {
      for (const Value& item : v->items()) {
        if (item.is_object() || item.is_array()) stack.push_back(&item);
      }
    }
  }
  // Inner objects close first; report in source order.
  std::sort(doc_.duplicates.begin(), doc_.duplicates.end(),
            [](const auto& a, const auto& b) { return a.key_offset < b.key_offset; });
}

bool Parser::run() {
  const char* p = begin_;
  if (has_bom(doc_.source)) p += 3;
  return parse<false>(p);
}

bool Parser::run_items(const char* start, std::uint32_t array_offset) {
  // The root array's frame, never closed here: its items stay on the stack for the caller.
  s_.frames.push_back(Frame{0, array_offset, false, {}, 0, {}});
  return parse<true>(start);
}

template <bool kItems>
bool Parser::parse(const char* p) {
  auto& frames = s_.frames;
  bool in_object = false;  // kind of frames.back(), kept in a register
  std::string_view key;    // pending member key while in an object
  std::uint32_t key_offset = 0;
  KeyPrediction expect;    // the open object's expected keys (none in an array)
  const char* q;  // what out-of-line helpers advance, so that p itself can live in a register

value:
  p = skip_ws(p);
  if (p == end_) return fail_expected(p, "a value");
  switch (*p) {
    case '{':
      if (frames.size() >= max_depth_) {
        return fail(p, "nesting deeper than " + std::to_string(max_depth_) + " levels", true);
      }
      frames.push_back(Frame{static_cast<std::uint32_t>(s_.members.size()), off(p), true, key, key_offset, expect});
      in_object = true;
      expect = {};
      p = skip_ws(p + 1);
      if (p < end_ && *p == '}') {
        ++p;
        goto close;
      }
      if (p == end_ || *p != '"') return fail_expected(p, "a string key or '}'");
      goto first_key;
    case '[':
      if (frames.size() >= max_depth_) {
        return fail(p, "nesting deeper than " + std::to_string(max_depth_) + " levels", true);
      }
      frames.push_back(Frame{static_cast<std::uint32_t>(s_.items.size()), off(p), false, key, key_offset, expect});
      in_object = false;
      expect = {};
      p = skip_ws(p + 1);
      if (p < end_ && *p == ']') {
        ++p;
        goto close;
      }
      goto value;
    case '"': {
      const std::uint32_t at = off(p);
      std::string_view text;
      bool plain;
      if (!parse_string(p, text, plain)) return false;
      Value& v = slot(in_object, key, key_offset, expect);
      v.kind_ = Kind::kString;
      v.plain_ascii_ = plain;
      v.offset_ = at;
      v.text_ = text.data();
      v.size_ = static_cast<std::uint32_t>(text.size());
      goto next;
    }
    case 't':
      if (!parse_literal(q = p, slot(in_object, key, key_offset, expect), "true", Kind::kTrue)) return false;
      p = q;
      goto next;
    case 'f':
      if (!parse_literal(q = p, slot(in_object, key, key_offset, expect), "false", Kind::kFalse)) return false;
      p = q;
      goto next;
    case 'n':
      if (!parse_literal(q = p, slot(in_object, key, key_offset, expect), "null", Kind::kNull)) return false;
      p = q;
      goto next;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      if (!parse_number(q = p, slot(in_object, key, key_offset, expect))) return false;
      p = q;
      goto next;
    case ']':
      if (!frames.empty() && !in_object) {
        return fail(p, "expected a value after ',', found ']' (trailing commas are not allowed)");
      }
      return fail_expected(p, "a value");
    default:
      return fail_expected(p, "a value");
  }

first_key: {  // p is at the opening quote of an object's first key
  key_offset = off(p);
  bool plain_key;
  if (!parse_string(p, key, plain_key)) return false;
  expect = predict(key);
  goto after_key;
}

member_key:  // p is at the opening quote of a later key
  key_offset = off(p);
  if (expect.next) {
    if (expect.next != expect.end) {
      const std::string_view k = expect.next->key;
      if (k.size() + 2 <= static_cast<std::size_t>(end_ - p) && matches_expected_key(p, k)) {
        key = std::string_view(p + 1, k.size());
        p += k.size() + 2;
        ++expect.next;
        goto after_key;
      }
    }
    abandon(expect);
  }
  {
    bool plain_key;
    if (!parse_string(p, key, plain_key)) return false;
  }

after_key:
  p = skip_ws(p);
  if (p == end_ || *p != ':') return fail_expected(p, "':' after object key");
  ++p;
  goto value;

close: {  // the container of frames.back() ended just before p
  if constexpr (kItems) {
    // A ']' that would close the root array inside a range: the range was not a run of items.
    if (frames.size() == 1) [[unlikely]] return fail(p - 1, "the root array closes inside a range");
  }
  const Frame f = frames.back();
  frames.pop_back();
  in_object = !frames.empty() && frames.back().object;
  // Children leave the stacks before the container takes its own slot on them.
  Value v;
  if (!f.object) {
    close_array(f, v);
  } else if (expect.next && expect.next == expect.end) {
    close_predicted(f, v, expect);
  } else {
    if (expect.next) abandon(expect);  // fewer keys than expected
    close_object(f, v);
  }
  expect = f.parent_prediction;
  slot(in_object, f.key, f.key_offset, expect) = v;
}

next:  // a value was stored in the current container (or is the root)
  if (frames.empty()) goto done;
  p = skip_ws(p);
  if (in_object) {
    if (p < end_ && *p == ',') {
      p = skip_ws(p + 1);
      if (p < end_ && *p == '"') goto member_key;
      if (p < end_ && *p == '}') {
        return fail(p, "expected a string key after ',', found '}' (trailing commas are not allowed)");
      }
      return fail_expected(p, "a string key after ','");
    }
    if (p < end_ && *p == '}') {
      ++p;
      goto close;
    }
    return fail_expected(p, "',' or '}' after object member");
  }
  if (p < end_ && *p == ',') {
    ++p;
    goto value;
  }
  if (p < end_ && *p == ']') {
    ++p;
    goto close;
  }
  if constexpr (kItems) {
    if (p == end_ && frames.size() == 1) return true;  // the range's last item
  }
  return fail_expected(p, "',' or ']' after array item");

done:
  if constexpr (kItems) {
    return fail(p, "the root array closes inside a range");  // unreachable: its frame stays open
  } else {
    p = skip_ws(p);
    if (p != end_) return fail_expected(p, "end of input after the root value");
    if (!doc_.duplicates.empty()) resolve_duplicate_objects(doc_, s_.dup_objects.data());
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Parallel parse of a large root array

namespace {

inline unsigned popcount64(std::uint64_t x) noexcept {
  // No popcount instruction is assumed (SSE2 baseline); only blocks with brackets get here.
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<unsigned>((x * 0x0101010101010101ull) >> 56);
}

// One 64-byte block's structural bytes, one bit per byte.
struct BlockMasks {
  std::uint64_t quote, backslash, open, close, comma;
};

inline BlockMasks block_masks(const char* p) noexcept {
  BlockMasks k{};
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i lower = _mm_set1_epi8(0x20);
  const __m128i opens = _mm_set1_epi8('{');   // '[' | 0x20 == '{'
  const __m128i closes = _mm_set1_epi8('}');  // ']' | 0x20 == '}'
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i folded = _mm_or_si128(v, lower);
    const int shift = 16 * i;
    k.quote |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)))) << shift;
    k.backslash |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)))) << shift;
    k.open |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(folded, opens)))) << shift;
    k.close |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(folded, closes)))) << shift;
    k.comma |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma)))) << shift;
  }
#else
  for (unsigned i = 0; i < 64; ++i) {
    const char ch = p[i];
    k.quote |= std::uint64_t{ch == '"'} << i;
    k.backslash |= std::uint64_t{ch == '\\'} << i;
    k.open |= std::uint64_t{ch == '[' || ch == '{'} << i;
    k.close |= std::uint64_t{ch == ']' || ch == '}'} << i;
    k.comma |= std::uint64_t{ch == ','} << i;
  }
#endif
  return k;
}

// Structural pre-scan from the root's '[' at `open` towards its ']' at `close`: for each target
// (ascending, inside (open, close)), the first ',' at or after it that is outside strings at depth 1
// (between two items of the root array), appended to `splits` in order. Strings and escapes are
// tracked as in a valid document; on malformed input the splits may be wrong, which the range
// parses detect (every range must parse as a run of items), so this only has to be right for valid
// input. Reads whole 64-byte blocks below `limit`: a split in the last 63 bytes is not found.
void find_splits(const char* open, const char* close, const char* limit, const std::vector<const char*>& targets,
                 std::vector<const char*>& splits) {
  std::size_t t = 0;
  long depth = 0;
  std::uint64_t in_string = 0;     // all ones when the previous block ended inside a string
  std::uint64_t escape_carry = 0;  // 1 when the first byte of this block is escaped
  for (const char* p = open; p < close && limit - p >= 64 && t < targets.size(); p += 64) {
    BlockMasks k = block_masks(p);
    if (k.backslash | escape_carry) [[unlikely]] {
      // A backslash escapes the next byte unless it is itself escaped.
      std::uint64_t escaped = escape_carry;
      std::uint64_t carry = 0;
      for (std::uint64_t rest = k.backslash; rest; rest &= rest - 1) {
        const int i = std::countr_zero(rest);
        if (!((escaped >> i) & 1u)) {
          if (i == 63) {
            carry = 1;
          } else {
            escaped |= std::uint64_t{2} << i;
          }
        }
      }
      escape_carry = carry;
      k.quote &= ~escaped;
    }
    // Bytes inside a string (from an opening quote up to, not including, its closing quote): a
    // prefix XOR of the unescaped quotes.
    std::uint64_t inside = k.quote;
    inside ^= inside << 1;
    inside ^= inside << 2;
    inside ^= inside << 4;
    inside ^= inside << 8;
    inside ^= inside << 16;
    inside ^= inside << 32;
    inside ^= in_string;
    in_string = static_cast<std::uint64_t>(-static_cast<std::int64_t>(inside >> 63));
    const std::uint64_t o = k.open & ~inside;
    const std::uint64_t c = k.close & ~inside;
    if (p + 64 <= targets[t]) [[likely]] {
      if (o | c) depth += static_cast<long>(popcount64(o)) - static_cast<long>(popcount64(c));
      continue;
    }
    // At or past the target: walk this block's structural bytes in order.
    for (std::uint64_t rest = o | c | (k.comma & ~inside); rest; rest &= rest - 1) {
      const int i = std::countr_zero(rest);
      if ((o >> i) & 1u) {
        ++depth;
      } else if ((c >> i) & 1u) {
        --depth;
      } else if (depth == 1 && p + i >= targets[t] && p + i < close) {
        splits.push_back(p + i);
        while (t < targets.size() && targets[t] <= p + i) ++t;
        if (t == targets.size()) return;
      }
    }
  }
}

}  // namespace

// A likely item boundary at or after each target (ascending): the ',' of a "}" "," "{" run with
// only whitespace between, within kGuessReach bytes of the target. Only a guess (the ',' may be
// inside a string or a nested array): parse_parallel verifies it. False when any target has none.
bool guess_splits(const char* open, const char* close, const std::vector<const char*>& targets,
                  std::vector<const char*>& splits) {
  constexpr std::size_t kGuessReach = std::size_t{1} << 20;
  const char* after = open;  // splits must ascend
  for (const char* target : targets) {
    const char* p = std::max(target, after + 1);
    const char* const end = close - p > static_cast<std::ptrdiff_t>(kGuessReach) ? p + kGuessReach : close;
    const char* split = nullptr;
    while (!split && p < end && (p = static_cast<const char*>(std::memchr(p, '}', static_cast<std::size_t>(end - p))))) {
      const char* q = p + 1;
      while (q < end && is_ws(*q)) ++q;
      if (q < end && *q == ',') {
        const char* r = q + 1;
        while (r < end && is_ws(*r)) ++r;
        if (r < end && *r == '{') split = q;
      }
      ++p;
    }
    if (!split) return false;
    splits.push_back(split);
    after = split;
  }
  return true;
}

namespace {
std::atomic<std::uint64_t> g_parallel_parses{0};
}  // namespace

std::uint64_t detail::parallel_parses() noexcept { return g_parallel_parses.load(std::memory_order_relaxed); }

// Bytes after each split that the calling thread copies before the range threads start: more than
// the 16 bytes a range's parse reads past its end.
constexpr std::size_t kWindow = 64;

bool Parser::parse_parallel(Document::Impl& doc, std::string_view bytes, const ParseOptions& options, bool in_place) {
  // Copying: doc.source is the arena copy of bytes, with its padding in place but not yet the
  // bytes themselves: every path below fills it (the threads copy their own ranges), and each
  // range end gets a NUL for the range's parse. In place: doc.source is bytes, never written; a
  // range's scans then stop at the ',' (or the final ']') at its end, and a wrong split shows up
  // as a parse that runs into or past its end.
  char* const copy = in_place ? nullptr : const_cast<char*>(doc.source.data());
  const char* const base = doc.source.data();
  const char* const in = bytes.data();
  const std::size_t size = bytes.size();
  auto serial = [&] {
    if (copy && size) std::memcpy(copy, in, size);
    return false;
  };
  // A BOM, or a depth limit that refuses the root array itself: the serial parse decides.
  if (has_bom(bytes) || options.max_depth < 1) return serial();
  std::size_t open = 0;
  while (open < size && is_ws(in[open])) ++open;
  if (open == size || in[open] != '[') return serial();
  std::size_t close = size;
  while (close > open && is_ws(in[close - 1])) --close;
  --close;
  if (close <= open || in[close] != ']') return serial();

  // Where to split: first a guess near each target (a "}" "," "{" run: batches are arrays of
  // objects), which costs nothing up front and is verified by the parses themselves (below). A
  // wrong guess costs one failed attempt, then the structural pre-scan decides, which reads
  // the caller's bytes from the array's start (whole 64-byte blocks, so it stops up to 63 bytes
  // short of the end).
  const std::size_t parts = std::min<std::size_t>(options.threads, 64);
  std::vector<const char*> targets;
  for (std::size_t k = 1; k < parts; ++k) targets.push_back(in + open + (close - open) * k / parts);

  struct Range {
    Document::Impl doc;
    Scratch scratch;
    ParseError error;
    bool ok = false;
    std::exception_ptr exception;
  };
  std::unique_ptr<Range[]> ranges;
  std::vector<std::size_t> starts, ends;
  enum class Attempt { kParsed, kWrongSplit, kFailed };
  auto attempt = [&](const std::vector<const char*>& found) {
    // Range i is [starts[i], ends[i]) (offsets); each end gets a NUL for the parse (the scans'
    // sentinel), put back afterwards. No Value points at these bytes.
    starts.assign(1, open + 1);
    ends.clear();
    for (const char* split : found) {
      const auto at = static_cast<std::size_t>(split - in);
      // Ranges of more than kWindow bytes, so that the copies below do not overlap.
      if (at - (ends.empty() ? open : ends.back()) <= kWindow) continue;
      ends.push_back(at);
      starts.push_back(at + 1);
    }
    ends.push_back(close);
    const std::size_t n = ends.size();
    if (n < 2 || close - ends[n - 2] <= kWindow) return Attempt::kFailed;

    // Who copies what: the parse of range i reads [starts[i], ends[i] + 16). Before the threads
    // start, this thread copies kWindow bytes from each split on (and puts the NUL there); thread
    // i then copies [ends[i-1] + kWindow, ends[i]) (range 0 from 0; the last range to the end of
    // the input, and puts the NUL at close), so no byte is written by one thread while another
    // reads it.
    if (copy) {
      for (std::size_t i = 0; i + 1 < n; ++i) {
        std::memcpy(copy + ends[i], in + ends[i], kWindow);
        copy[ends[i]] = '\0';
      }
    }
    ranges.reset(new Range[n]);
    const auto open_offset = static_cast<std::uint32_t>(open);
    auto work = [&](std::size_t i) {
      if (copy) {
        const std::size_t from = i == 0 ? 0 : ends[i - 1] + kWindow;
        const std::size_t to = i + 1 == n ? size : ends[i];
        std::memcpy(copy + from, in + from, to - from);
        if (i + 1 == n) copy[close] = '\0';
      }
      Range& r = ranges[i];
      try {
        r.doc.source = std::string_view(base, ends[i]);
        r.doc.arena.set_next_chunk_size(std::clamp<std::size_t>((ends[i] - starts[i]) * 2, 4096, std::size_t{64} << 20));
        Parser parser(r.doc, options, r.error, r.scratch, base, base + ends[i]);
        r.ok = parser.run_items(base + starts[i], open_offset);
      } catch (...) {
        r.exception = std::current_exception();
      }
    };
    {
      std::vector<std::thread> workers;
      workers.reserve(n - 1);
      for (std::size_t i = 1; i < n; ++i) {
        try {
          workers.emplace_back(work, i);
        } catch (...) {
          work(i);  // no thread to be had (std::system_error, std::bad_alloc): parse it here
        }
      }
      work(0);
      for (std::thread& w : workers) w.join();
    }
    if (copy) {
      for (std::size_t i = 0; i + 1 < n; ++i) copy[ends[i]] = ',';
      copy[close] = ']';
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (ranges[i].exception) std::rethrow_exception(ranges[i].exception);
    }
    // Range 0 starts where the array does; a range that parses to its end as a run of items ends
    // between two items, so the next one starts on an item. The first range that fails therefore
    // started on an item: running into its end (the NUL put there: at that offset, or a string
    // left open there; in place, at or past its end) means only that split was no item boundary;
    // failing anywhere else means the input is malformed there.
    for (std::size_t i = 0; i < n; ++i) {
      if (ranges[i].ok) continue;
      const ParseError& e = ranges[i].error;
      const bool ran_into_end = e.offset >= ends[i] || e.message.starts_with("unterminated string: no closing");
      return i + 1 < n && ran_into_end ? Attempt::kWrongSplit : Attempt::kFailed;
    }
    return Attempt::kParsed;
  };
  std::vector<const char*> found;
  Attempt result = Attempt::kWrongSplit;
  if (guess_splits(in + open, in + close, targets, found)) result = attempt(found);
  if (result == Attempt::kWrongSplit) {
    found.clear();
    find_splits(in + open, in + close, in + size, targets, found);
    result = attempt(found);
  }
  if (result != Attempt::kParsed) return serial();
  const std::size_t n = ends.size();
  const auto open_offset = static_cast<std::uint32_t>(open);

  // Assemble: the root array's items, contiguous, in the document's arena; the ranges' storage
  // (nested values, decoded strings) moves into the document.
  std::size_t total = 0, duplicates = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += ranges[i].scratch.items.size();
    duplicates += ranges[i].doc.duplicates.size();
  }
  auto* items = static_cast<Value*>(doc.arena.allocate(total * sizeof(Value), alignof(Value)));
  std::vector<std::uint32_t> dup_objects;
  dup_objects.reserve(duplicates);
  doc.duplicates.reserve(duplicates);
  Value* dst = items;
  for (std::size_t i = 0; i < n; ++i) {
    Range& r = ranges[i];
    const std::size_t count = r.scratch.items.size();
    std::memcpy(static_cast<void*>(dst), r.scratch.items.data(), count * sizeof(Value));
    dst += count;
    doc.duplicates.insert(doc.duplicates.end(), r.doc.duplicates.begin(), r.doc.duplicates.end());
    dup_objects.insert(dup_objects.end(), r.scratch.dup_objects.begin(), r.scratch.dup_objects.end());
    doc.arena.absorb(r.doc.arena);
  }
  doc.root = Value();
  doc.root.kind_ = Kind::kArray;
  doc.root.offset_ = open_offset;
  doc.root.size_ = static_cast<std::uint32_t>(total);
  doc.root.items_ = items;
  if (!doc.duplicates.empty()) resolve_duplicate_objects(doc, dup_objects.data());
  g_parallel_parses.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Document::parse

bool Document::parse(std::string_view bytes, Document& out, ParseError& error, const ParseOptions& options) {
  return parse_source(bytes, false, out, error, options);
}

bool Document::parse(const PaddedBytes& bytes, Document& out, ParseError& error, const ParseOptions& options) {
  static_assert(PaddedBytes::kPadding >= 1 + kPadding, "the parser reads up to kPadding bytes past the NUL");
  return parse_source(bytes.view(), true, out, error, options);
}

bool Document::parse_source(std::string_view bytes, bool padded, Document& out, ParseError& error,
                            const ParseOptions& options) {
  error = ParseError{};
  constexpr std::size_t kHardLimit = 0xFFFFFFF0u;  // offsets and counts are 32-bit
  const std::size_t limit = std::min(options.max_bytes, kHardLimit);
  if (bytes.size() > limit) {
    error.offset = 0;
    error.line = 1;
    error.column = 1;
    error.message = "input is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                    std::to_string(limit) + " bytes";
    error.limit = true;
    return false;
  }
  auto impl = std::make_unique<Impl>();
  // Values take roughly 2-3x the source size for typical records: size the first chunk for the
  // source copy plus that, then grow x2.
  const auto value_bytes = std::clamp<std::size_t>(bytes.size() * 2, 1024, std::size_t{64} << 20);
  const bool parallel = options.threads > 1 && bytes.size() >= options.parallel_min_bytes;
  if (padded) {
    // Read in place: the caller's bytes already end in the NUL padding the scans need. (A
    // parallel parse's document arena holds only the root's items.)
    impl->arena.set_next_chunk_size(parallel ? bytes.size() / 16 + 1024 : value_bytes);
    impl->source = bytes;
  } else {
    // In a parallel parse the document's arena holds only the source copy and the root's items
    // (each range has its own arena); the first chunk leaves some room for the items.
    impl->arena.set_next_chunk_size(bytes.size() + 1 + kPadding + (parallel ? bytes.size() / 16 + 1024 : value_bytes));
    char* copy = static_cast<char*>(impl->arena.allocate(bytes.size() + 1 + kPadding, 16));
    std::memset(copy + bytes.size(), 0, 1 + kPadding);  // the scans' sentinel (see kPadding)
    impl->source = std::string_view(copy, bytes.size());
    if (!parallel && !bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());  // else the threads copy
  }

  if (parallel) {
    // Falls back to the serial parse below for anything it does not handle, malformed input included.
    if (Parser::parse_parallel(*impl, bytes, options, padded)) {
      out.impl_ = std::move(impl);
      return true;
    }
    impl->arena.set_next_chunk_size(value_bytes);
  }

  thread_local Scratch scratch;
  scratch.reset();
  Parser parser(*impl, options, error, scratch);
  const bool ok = parser.run();
  scratch.trim();
  if (!ok) {
    const auto [line, column] = LineIndex(impl->source).locate(error.offset);
    error.line = line;
    error.column = column;
    return false;
  }
  out.impl_ = std::move(impl);
  return true;
}

Result<Document> Document::parse(std::string_view bytes, const ParseOptions& options) {
  Document doc;
  ParseError error;
  if (!parse(bytes, doc, error, options)) {
    return make_error(error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
                      std::to_string(error.line) + ":" + std::to_string(error.column) + ": " + error.message);
  }
  return doc;
}

}  // namespace flowguard::json
