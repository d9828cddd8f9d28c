// fg_bench_generate: synthetic DFS submission batches for the benchmarks (bench/run.sh).
//
//   fg_bench_generate [--out-dir DIR] [--records N] [--faulty-percent P] [--seed S] [--types T,T...]
//       writes DIR/<type>.valid.json and DIR/<type>.faulty.json (+ <type>.faulty.faults.tsv, one line
//       per injected mistake) for each type (default: the four DFS POST submission types).
//   fg_bench_generate --big [--bytes B] [--type T] [--faulty-percent P] [--out-dir DIR]
//       writes DIR/big.<type>.json (one JSON array of about B bytes, default 1e9) and
//       DIR/big.<type>.ndjson (the same records, one per line), streamed: memory stays flat.
//
// Valid records pass every schema in schemas/dfs and every rule in rules/dfs: real MPAN check
// digits, dates that exist (on or after DFS launch), half-hour windows with From < To, "-Z<zone>"
// unit suffixes that match Zone, Delivered kWh = Baseline kWh - Metered kWh, decimals within the
// limits, one participant per document, one Event Type / Delivery Date per Event ID, no duplicate
// records. A faulty record carries exactly one realistic mistake (see Fault below).
//
// Output is deterministic for a given seed. Records are pretty-printed like the samples in the DFS
// API spec (§8), which puts a Unit Meter Point Schedule record at about 730 bytes.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

// ---- deterministic randomness -------------------------------------------------------------------

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(splitmix(seed)) {}
  std::uint64_t next() { return state = splitmix(state); }
  // Uniform-enough integer in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) { return a[next() % N]; }
};

// ---- value formatting ---------------------------------------------------------------------------

std::string jstr(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string pad(std::int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
  return buf;
}

// Days since 1970-01-01 -> (y, m, d), proleptic Gregorian.
void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

std::string dmy(std::int64_t days) {
  int y, m, d;
  civil_from_days(days, y, m, d);
  return pad(d, 2) + "-" + pad(m, 2) + "-" + pad(y, 4);
}

std::string hhmm(int minutes) { return pad((minutes / 60) % 24, 2) + ":" + pad(minutes % 60, 2); }

// Fixed-point value with `places` decimals, e.g. fixed(12345, 2) = "123.45".
std::string fixed(std::int64_t scaled, int places) {
  std::int64_t scale = 1;
  for (int i = 0; i < places; ++i) scale *= 10;
  std::string out = scaled < 0 ? "-" : "";
  const std::int64_t a = scaled < 0 ? -scaled : scaled;
  out += std::to_string(a / scale);
  if (places > 0) {
    out += '.';
    out += pad(a % scale, places);
  }
  return out;
}

// MPAN core: 12 digits + check digit = (sum of digit_i * weight_i) mod 11 mod 10.
int mpan_check(const std::string& first12) {
  static constexpr int kWeights[12] = {3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (first12[static_cast<std::size_t>(i)] - '0') * kWeights[i];
  return sum % 11 % 10;
}

// A distinct valid MPAN core for each serial (serial < 10^10).
std::string mpan(std::uint64_t serial) {
  std::string first12 = pad(10 + static_cast<std::int64_t>(serial % 14), 2) + pad(static_cast<std::int64_t>(serial), 10);
  return first12 + static_cast<char>('0' + mpan_check(first12));
}

constexpr std::int64_t kDay2023_01_01 = 19358;  // days since epoch
constexpr std::int64_t kDay2026_03_01 = 20513;

// ---- records ------------------------------------------------------------------------------------

// Ordered members with pre-rendered JSON values, so a fault can replace, drop or add a member.
struct Record {
  std::vector<std::pair<std::string, std::string>> members;
  void add(std::string key, std::string json) { members.emplace_back(std::move(key), std::move(json)); }
  std::string* find(std::string_view key) {
    for (auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
  void set(std::string_view key, std::string json) {
    if (auto* v = find(key)) *v = std::move(json);
  }
  void remove(std::string_view key) {
    members.erase(std::remove_if(members.begin(), members.end(), [&](auto& m) { return m.first == key; }),
                  members.end());
  }
  void rename(std::string_view from, std::string to) {
    for (auto& m : members)
      if (m.first == from) m.first = std::move(to);
  }
};

const char* const kParticipant = "Alpha Flex Ltd";
const char* const kConsumerTypes[] = {"Industrial & Commercial", "Domestic", "Solar Generation", "Wind Generation", "Other"};
const char* const kBaselineTypes[] = {"P376", "Self-Nominated"};
const char* const kPostcodeAreas[] = {"SW", "EC", "M", "LS", "B", "G", "EH", "CF", "BS", "NE", "L", "NG"};
const char* const kLetters = "ABDEFGHJLNPQRSTUWXYZ";

std::string postcode(Rng& r) {
  std::string pc = r.pick(kPostcodeAreas);
  pc += std::to_string(r.range(1, 29));
  pc += std::to_string(r.range(0, 9));
  pc += kLetters[r.range(0, 19)];
  pc += kLetters[r.range(0, 19)];
  return pc;  // 5 to 7 characters, no space
}

int zone_of_unit(std::uint64_t unit) { return static_cast<int>(unit % 14) + 1; }

std::string unit_id(std::uint64_t unit) {
  return "AlphaFlex-" + std::to_string(unit) + "-Z" + std::to_string(zone_of_unit(unit));
}

// Events: 400 records per event; an event fixes Event Type and Delivery Date (DFS-EVENT-CONSISTENT).
struct Event {
  std::int64_t id;
  const char* type;
  std::int64_t day;
};
Event event_of(std::uint64_t index, std::uint64_t seed) {
  const std::uint64_t n = index / 400;
  Rng r(seed * 7919 + n);
  return {570 + static_cast<std::int64_t>(n), (n % 3 == 2) ? "Downwards" : "Upwards",
          r.range(kDay2023_01_01, kDay2026_03_01)};
}

// A half-hour window in [06:00, 24:00]: From < To, To may be "00:00" (midnight at day end).
std::pair<int, int> window(Rng& r) {
  const int from = static_cast<int>(r.range(12, 45)) * 30;
  const int len = static_cast<int>(r.range(1, 4)) * 30;
  return {from, std::min(from + len, 1440)};
}

Record unit_meter_point_schedule(std::uint64_t i, std::uint64_t seed) {
  Rng r(seed ^ (i * 0x2545F4914F6CDD1DULL));
  const std::uint64_t unit = i / 25;
  const int zone = zone_of_unit(unit);
  const std::int64_t submitted = r.range(kDay2023_01_01, kDay2026_03_01);
  const std::int64_t eff_from = submitted + r.range(1, 10);
  const std::int64_t eff_to = eff_from + r.range(7, 120);
  const char* consent = (i % 5 == 4) ? "False" : "True";
  Record rec;
  rec.add("Submission Date", jstr(dmy(submitted)));
  rec.add("Registered DFS Participant", jstr(kParticipant));
  rec.add("Import MPAN", jstr(mpan(i)));
  rec.add("Export MPAN", i % 3 == 0 ? jstr(mpan(5'000'000'000ULL + i)) : jstr(""));
  rec.add("MPANs Effective From", jstr(dmy(eff_from)));
  rec.add("MPANs Effective To", jstr(dmy(eff_to)));
  rec.add("MPANs Customer Consent Flag", jstr(consent));
  if (consent[0] == 'T') {
    rec.add("Consent Effective From", jstr(dmy(eff_from + 1)));
    rec.add("Consent Effective To", jstr(dmy(eff_to - 1)));
  } else {
    rec.add("Consent Effective From", jstr(""));
    rec.add("Consent Effective To", jstr(""));
  }
  rec.add("Sub Meter Serial Number", jstr("SM" + pad(r.range(0, 99'999'999), 8)));
  rec.add("Timestamp Subscribed", jstr(dmy(submitted - r.range(0, 400)) + " " + hhmm(static_cast<int>(r.range(0, 1439)))));
  rec.add("Postcode", jstr(postcode(r)));
  rec.add("Zone", std::to_string(zone));
  rec.add("DFS Unit ID", jstr(unit_id(unit)));
  rec.add("Opt In", jstr(i % 4 == 0 ? "Manual" : "Auto"));
  rec.add("HH Settled", i % 2 ? "true" : "false");
  rec.add("Consumer Type", jstr(r.pick(kConsumerTypes)));
  rec.add("Baseline Type", jstr(r.pick(kBaselineTypes)));
  rec.add("Flexibility Type", jstr(i % 3 == 0 ? "Both" : (i % 3 == 1 ? "Upwards" : "Downwards")));
  rec.add("DFS Initiation Measure", jstr(i % 2 ? "Manually Initiated" : "Directly Instructable"));
  rec.add("Action", jstr(i % 10 == 9 ? "Remove" : "Add"));
  return rec;
}

Record bid_submission(std::uint64_t i, std::uint64_t seed) {
  Rng r(seed ^ (i * 0x9E3779B97F4A7C15ULL) ^ 0xB1D);
  const Event ev = event_of(i, seed);
  const auto [from, to] = window(r);
  Record rec;
  rec.add("Event ID", std::to_string(ev.id));
  rec.add("Event Type", jstr(ev.type));
  rec.add("Delivery Date", jstr(dmy(ev.day)));
  rec.add("Registered DFS Participant", jstr(kParticipant));
  rec.add("DFS Unit ID", jstr(unit_id(i)));  // one bid per unit per event: records are distinct
  rec.add("DFS Volume MW", fixed(r.range(1, 999), 1));
  rec.add("From_Local", jstr(hhmm(from)));
  rec.add("To_Local", jstr(hhmm(to)));
  rec.add("Utilisation price GBP per MWh", fixed(r.range(0, 60000), 1));
  return rec;
}

Record weekly_settlement(std::uint64_t i, std::uint64_t seed) {
  Rng r(seed ^ (i * 0xD1B54A32D192ED03ULL) ^ 0x5E7);
  const Event ev = event_of(i, seed);
  const auto [from, to] = window(r);
  const std::int64_t baseline = r.range(100, 5'000'000);  // in 0.01 kWh
  const std::int64_t metered = r.range(0, baseline);
  Record rec;
  rec.add("Event ID", std::to_string(ev.id));
  rec.add("Event Type", jstr(ev.type));
  rec.add("Delivery Date", jstr(dmy(ev.day)));
  rec.add("From_Local", jstr(hhmm(from)));
  rec.add("To_Local", jstr(hhmm(to)));
  rec.add("Registered DFS Participant", jstr(kParticipant));
  rec.add("DFS Unit ID", jstr(unit_id(i / 25)));
  rec.add("Import MPAN", jstr(mpan(i)));
  rec.add("Export MPAN", i % 3 == 0 ? jstr(mpan(5'000'000'000ULL + i)) : jstr(""));
  rec.add("Sub Meter Serial Number", jstr(i % 2 ? "SM" + pad(r.range(0, 99'999'999), 8) : ""));
  rec.add("Participating", i % 7 == 6 ? "false" : "true");
  rec.add("Baseline kWh", fixed(baseline, 2));
  rec.add("Metered kWh", fixed(metered, 2));
  rec.add("Delivered kWh", fixed(baseline - metered, 2));
  rec.add("Accepted Utilisation Price GBP per MWh", fixed(r.range(0, 60000), 1));
  rec.add("HH Settled", i % 2 ? "true" : "false");
  rec.add("Participating Meter Electricity Supplier", i % 4 == 0 ? "true" : "false");
  rec.add("Consumer Type", jstr(r.pick(kConsumerTypes)));
  rec.add("Elexon BMU ID", jstr(i % 5 == 0 ? "2__HALPH00" + std::to_string(i % 9 + 1) : ""));
  rec.add("Baseline type", jstr(r.pick(kBaselineTypes)));
  return rec;
}

Record mpan_forecast(std::uint64_t i, std::uint64_t seed) {
  Rng r(seed ^ (i * 0xA24BAED4963EE407ULL) ^ 0xF0C);
  const std::int64_t day = kDay2023_01_01 + static_cast<std::int64_t>((i / 2000) % 1100);
  const auto [from, to] = window(r);
  Record rec;
  rec.add("Delivery Date", jstr(dmy(day)));
  rec.add("From_Local", jstr(hhmm(from)));
  rec.add("To_Local", jstr(hhmm(to)));
  rec.add("Registered DFS Participant", jstr(kParticipant));
  rec.add("DFS Unit ID", jstr(unit_id(i / 25)));
  rec.add("Import MPAN", jstr(mpan(i)));
  rec.add("Export MPAN", i % 3 == 0 ? jstr(mpan(5'000'000'000ULL + i)) : jstr(""));
  rec.add("Baseline kWh", fixed(r.range(0, 2'000'000), 2));
  return rec;
}

// ---- faults -------------------------------------------------------------------------------------

enum class Fault {
  kCheckDigit,   // MPAN whose last digit is not its check digit
  kBadDate,      // 31-02-yyyy
  kBadTime,      // a time that is not on a half hour, or not a time at all
  kMissingKey,   // a required key left out
  kWrongType,    // "2" for 2, "true" for true
  kEnumTypo,     // "Manaul", "Upward", "Domestc"
  kUnknownKey,   // a key spelled differently from the spec ("Post Code", "From")
  kZoneSuffix,   // DFS Unit ID "-Z3" with Zone 5
  kDelivered,    // Delivered kWh != Baseline kWh - Metered kWh
  kDecimals,     // 3 decimal places in kWh, 2 in a price
  kWindowOrder,  // To_Local before From_Local
};

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kCheckDigit: return "wrong-check-digit";
    case Fault::kBadDate: return "impossible-date";
    case Fault::kBadTime: return "bad-time";
    case Fault::kMissingKey: return "missing-required-key";
    case Fault::kWrongType: return "wrong-type";
    case Fault::kEnumTypo: return "enum-typo";
    case Fault::kUnknownKey: return "unknown-key";
    case Fault::kZoneSuffix: return "zone-suffix-mismatch";
    case Fault::kDelivered: return "delivered-kwh-mismatch";
    case Fault::kDecimals: return "too-many-decimals";
    case Fault::kWindowOrder: return "window-order";
  }
  return "?";
}

struct TypeDef {
  const char* name;
  Record (*make)(std::uint64_t, std::uint64_t);
  std::vector<Fault> faults;
};

const std::vector<TypeDef>& types() {
  using F = Fault;
  static const std::vector<TypeDef> kTypes = {
      {"dfs.unit-meter-point-schedule", unit_meter_point_schedule,
       {F::kCheckDigit, F::kBadDate, F::kBadTime, F::kMissingKey, F::kWrongType, F::kEnumTypo, F::kUnknownKey, F::kZoneSuffix}},
      {"dfs.bid-submission", bid_submission,
       {F::kBadDate, F::kBadTime, F::kMissingKey, F::kWrongType, F::kEnumTypo, F::kUnknownKey, F::kDecimals, F::kWindowOrder}},
      {"dfs.weekly-settlement", weekly_settlement,
       {F::kCheckDigit, F::kBadDate, F::kBadTime, F::kMissingKey, F::kWrongType, F::kEnumTypo, F::kUnknownKey, F::kDelivered}},
      {"dfs.mpan-forecast", mpan_forecast,
       {F::kCheckDigit, F::kBadDate, F::kBadTime, F::kMissingKey, F::kWrongType, F::kUnknownKey, F::kDecimals, F::kWindowOrder}},
  };
  return kTypes;
}

std::string unquote(const std::string& json) { return json.size() >= 2 ? json.substr(1, json.size() - 2) : json; }

// Applies one mistake; returns the field it concerns.
std::string apply_fault(Record& rec, const std::string& type, Fault f, std::uint64_t i) {
  const bool umps = type == "dfs.unit-meter-point-schedule";
  const bool bid = type == "dfs.bid-submission";
  const bool weekly = type == "dfs.weekly-settlement";
  switch (f) {
    case Fault::kCheckDigit: {
      std::string m = unquote(*rec.find("Import MPAN"));
      m.back() = static_cast<char>('0' + (m.back() - '0' + 1 + static_cast<int>(i % 9)) % 10);
      rec.set("Import MPAN", jstr(m));
      return "Import MPAN";
    }
    case Fault::kBadDate: {
      const char* key = umps ? "Submission Date" : "Delivery Date";
      const std::string d = unquote(*rec.find(key));
      rec.set(key, jstr("31-02-" + d.substr(6)));
      return key;
    }
    case Fault::kBadTime: {
      if (umps) {  // an hour that does not exist
        const std::string ts = unquote(*rec.find("Timestamp Subscribed"));
        rec.set("Timestamp Subscribed", jstr(ts.substr(0, 11) + "24:" + ts.substr(14)));
        return "Timestamp Subscribed";
      }
      if (i % 2) {  // off the half hour: 14:30 -> 14:45
        const std::string from = unquote(*rec.find("From_Local"));
        rec.set("From_Local", jstr(from.substr(0, 3) + (from[3] == '3' ? "45" : "15")));
        return "From_Local";
      }
      rec.set("To_Local", jstr("24:00"));  // not a clock time (midnight is 00:00)
      return "To_Local";
    }
    case Fault::kMissingKey: {
      const char* key = umps ? "Postcode" : bid ? "Utilisation price GBP per MWh" : weekly ? "Metered kWh" : "Baseline kWh";
      rec.remove(key);
      return key;
    }
    case Fault::kWrongType: {
      const char* key = umps ? "Zone" : bid ? "DFS Volume MW" : weekly ? "HH Settled" : "Baseline kWh";
      std::string* v = rec.find(key);
      *v = jstr(*v);
      return key;
    }
    case Fault::kEnumTypo: {
      if (umps) {
        const bool manual = *rec.find("Opt In") == "\"Manual\"";
        rec.set("Opt In", jstr(manual ? "Manaul" : "auto"));
        return "Opt In";
      }
      if (bid) {
        const bool up = *rec.find("Event Type") == "\"Upwards\"";
        rec.set("Event Type", jstr(up ? "Upward" : "Downward"));
        return "Event Type";
      }
      rec.set("Consumer Type", jstr(i % 2 ? "Domestc" : "Industrial and Commercial"));
      return "Consumer Type";
    }
    case Fault::kUnknownKey: {
      if (umps) { rec.rename("Postcode", "Post Code"); return "Post Code"; }
      if (bid) { rec.rename("From_Local", "From"); return "From"; }
      if (weekly) { rec.rename("Baseline type", "Baseline Type"); return "Baseline Type"; }
      rec.rename("Export MPAN", "Export Mpan");
      return "Export Mpan";
    }
    case Fault::kZoneSuffix: {
      const int zone = std::atoi(rec.find("Zone")->c_str());
      rec.set("Zone", std::to_string(zone % 14 + 1));
      return "Zone";
    }
    case Fault::kDelivered: {
      const std::string d = *rec.find("Delivered kWh");
      const double v = std::strtod(d.c_str(), nullptr) + 1.0;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f", v);
      rec.set("Delivered kWh", buf);
      return "Delivered kWh";
    }
    case Fault::kDecimals: {
      if (bid) {
        rec.set("Utilisation price GBP per MWh", *rec.find("Utilisation price GBP per MWh") + "5");
        return "Utilisation price GBP per MWh";
      }
      rec.set("Baseline kWh", *rec.find("Baseline kWh") + "7");
      return "Baseline kWh";
    }
    case Fault::kWindowOrder: {
      const std::string from = *rec.find("From_Local");
      const std::string to = *rec.find("To_Local");
      if (to == "\"00:00\"") {  // 23:30-00:00 is a valid window; 00:00-23:30 is not
        rec.set("From_Local", jstr("23:30"));
        rec.set("To_Local", jstr("23:00"));
      } else {
        rec.set("From_Local", to);
        rec.set("To_Local", from);
      }
      return "To_Local";
    }
  }
  return "";
}

// Picks the faults of the records that get one; Delivered kWh mismatches need an Upwards event.
Fault fault_for(const TypeDef& t, std::size_t ordinal, std::uint64_t i, std::uint64_t seed) {
  Fault f = t.faults[ordinal % t.faults.size()];
  if (f == Fault::kDelivered && std::strcmp(event_of(i, seed).type, "Upwards") != 0) f = Fault::kMissingKey;
  return f;
}

// ---- output -------------------------------------------------------------------------------------

void append_pretty(std::string& out, const Record& rec) {
  out += "  {\n";
  for (std::size_t k = 0; k < rec.members.size(); ++k) {
    out += "    ";
    out += jstr(rec.members[k].first);
    out += ": ";
    out += rec.members[k].second;
    out += k + 1 < rec.members.size() ? ",\n" : "\n";
  }
  out += "  }";
}

void append_compact(std::string& out, const Record& rec) {
  out += '{';
  for (std::size_t k = 0; k < rec.members.size(); ++k) {
    if (k) out += ',';
    out += jstr(rec.members[k].first);
    out += ':';
    out += rec.members[k].second;
  }
  out += '}';
}

class Sink {
 public:
  explicit Sink(const std::filesystem::path& p) : path_(p), f_(std::fopen(p.c_str(), "wb")) {
    if (!f_) {
      std::cerr << "fg_bench_generate: cannot write " << p << ": " << std::strerror(errno) << "\n";
      std::exit(1);
    }
    buf_.reserve(kChunk + 4096);
  }
  ~Sink() { close(); }
  std::string& buf() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= kChunk) flush();
  }
  std::uint64_t bytes() const { return written_ + buf_.size(); }
  void close() {
    if (!f_) return;
    flush();
    if (std::fclose(f_) != 0) {
      std::cerr << "fg_bench_generate: error writing " << path_ << "\n";
      std::exit(1);
    }
    f_ = nullptr;
  }

 private:
  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      std::cerr << "fg_bench_generate: error writing " << path_ << ": " << std::strerror(errno) << "\n";
      std::exit(1);
    }
    written_ += buf_.size();
    buf_.clear();
  }
  static constexpr std::size_t kChunk = 1 << 20;
  std::filesystem::path path_;
  std::FILE* f_;
  std::string buf_;
  std::uint64_t written_ = 0;
};

void write_batch(const TypeDef& t, const std::filesystem::path& dir, std::uint64_t n, double faulty_percent,
                 std::uint64_t seed, bool faulty) {
  const std::string stem = std::string(t.name) + (faulty ? ".faulty" : ".valid");
  // Exactly round(n * p / 100) faulty records, spread at random.
  std::vector<std::uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::int64_t> fault_ordinal(n, -1);
  if (faulty) {
    const auto count = static_cast<std::uint64_t>(static_cast<double>(n) * faulty_percent / 100.0 + 0.5);
    Rng r(seed * 31 + 7);
    for (std::uint64_t k = 0; k < count && k < n; ++k) std::swap(order[k], order[k + r.next() % (n - k)]);
    std::vector<std::uint64_t> chosen(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min(count, n)));
    std::sort(chosen.begin(), chosen.end());
    for (std::size_t k = 0; k < chosen.size(); ++k) fault_ordinal[chosen[k]] = static_cast<std::int64_t>(k);
  }
  Sink out(dir / (stem + ".json"));
  std::unique_ptr<Sink> manifest;
  if (faulty) {
    manifest = std::make_unique<Sink>(dir / (stem + ".faults.tsv"));
    manifest->buf() += "record\tfault\tfield\n";
  }
  std::uint64_t faults = 0;
  out.buf() += "[\n";
  for (std::uint64_t i = 0; i < n; ++i) {
    Record rec = t.make(i, seed);
    if (fault_ordinal[i] >= 0) {
      const Fault f = fault_for(t, static_cast<std::size_t>(fault_ordinal[i]), i, seed);
      const std::string field = apply_fault(rec, t.name, f, i);
      manifest->buf() += std::to_string(i) + "\t" + fault_name(f) + "\t" + field + "\n";
      ++faults;
    }
    append_pretty(out.buf(), rec);
    out.buf() += i + 1 < n ? ",\n" : "\n";
    out.maybe_flush();
  }
  out.buf() += "]\n";
  const std::uint64_t bytes = out.bytes();
  out.close();
  std::cout << "wrote " << (dir / (stem + ".json")).string() << " type=" << t.name << " records=" << n
            << " faulty=" << faults << " bytes=" << bytes << " bytes_per_record=" << (n ? bytes / n : 0) << "\n";
}

void write_big(const TypeDef& t, const std::filesystem::path& dir, std::uint64_t target_bytes, double faulty_percent,
               std::uint64_t seed) {
  const std::string stem = "big." + std::string(t.name);
  Sink json(dir / (stem + ".json"));
  Sink ndjson(dir / (stem + ".ndjson"));
  json.buf() += "[\n";
  std::uint64_t i = 0, faults = 0;
  const auto threshold = static_cast<std::uint64_t>(faulty_percent * 10.0);  // per mille
  while (json.bytes() + 8 < target_bytes) {
    Record rec = t.make(i, seed);
    if (threshold && splitmix(seed ^ (i * 0x51ED27ULL)) % 1000 < threshold)
      apply_fault(rec, t.name, fault_for(t, static_cast<std::size_t>(faults++), i, seed), i);
    if (i) json.buf() += ",\n";
    append_pretty(json.buf(), rec);
    append_compact(ndjson.buf(), rec);
    ndjson.buf() += '\n';
    json.maybe_flush();
    ndjson.maybe_flush();
    ++i;
  }
  json.buf() += "\n]\n";
  const std::uint64_t jb = json.bytes(), nb = ndjson.bytes();
  json.close();
  ndjson.close();
  std::cout << "wrote " << (dir / (stem + ".json")).string() << " type=" << t.name << " records=" << i
            << " faulty=" << faults << " bytes=" << jb << "\n";
  std::cout << "wrote " << (dir / (stem + ".ndjson")).string() << " type=" << t.name << " records=" << i
            << " faulty=" << faults << " bytes=" << nb << "\n";
}

[[noreturn]] void usage(int code) {
  (code ? std::cerr : std::cout)
      << "usage: fg_bench_generate [--out-dir DIR] [--records N] [--faulty-percent P] [--seed S] [--types T,T...]\n"
         "       fg_bench_generate --big [--bytes B] [--type T] [--faulty-percent P] [--seed S] [--out-dir DIR]\n"
         "Batch mode writes DIR/<type>.valid.json and DIR/<type>.faulty.json (default DIR bench/out, N 5000, P 10).\n"
         "Big mode writes DIR/big.<type>.json (~B bytes, default 1e9) and DIR/big.<type>.ndjson (default P 0).\n"
         "Types: dfs.unit-meter-point-schedule dfs.bid-submission dfs.weekly-settlement dfs.mpan-forecast\n";
  std::exit(code);
}

std::uint64_t parse_size(std::string_view s) {
  double mult = 1;
  if (!s.empty()) {
    const char c = s.back();
    if (c == 'k' || c == 'K') mult = 1e3;
    else if (c == 'M') mult = 1e6;
    else if (c == 'G') mult = 1e9;
    if (mult != 1) s.remove_suffix(1);
  }
  char* end = nullptr;
  const std::string str(s);
  const double v = std::strtod(str.c_str(), &end);
  if (str.empty() || *end != '\0' || v < 0) {
    std::cerr << "fg_bench_generate: not a size: " << str << "\n";
    usage(2);
  }
  return static_cast<std::uint64_t>(v * mult);
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = "bench/out";
  std::uint64_t records = 5000, seed = 20240101, bytes = 1'000'000'000ULL;
  double faulty_percent = -1;
  bool big = false;
  std::vector<std::string> wanted;
  for (int a = 1; a < argc; ++a) {
    const std::string_view arg = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::cerr << "fg_bench_generate: " << arg << " needs a value\n";
        usage(2);
      }
      return argv[++a];
    };
    if (arg == "--out-dir") dir = value();
    else if (arg == "--records") records = parse_size(value());
    else if (arg == "--faulty-percent") faulty_percent = std::strtod(value().c_str(), nullptr);
    else if (arg == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--bytes") bytes = parse_size(value());
    else if (arg == "--big") big = true;
    else if (arg == "--types" || arg == "--type") {
      std::string list = value();
      for (std::size_t p = 0; p <= list.size();) {
        const std::size_t q = std::min(list.find(',', p), list.size());
        if (q > p) wanted.push_back(list.substr(p, q - p));
        p = q + 1;
      }
    } else if (arg == "--help" || arg == "-h") usage(0);
    else {
      std::cerr << "fg_bench_generate: unknown argument " << arg << "\n";
      usage(2);
    }
  }
  std::vector<const TypeDef*> chosen;
  for (const auto& t : types())
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), t.name) != wanted.end()) chosen.push_back(&t);
  for (const auto& w : wanted)
    if (std::none_of(types().begin(), types().end(), [&](const TypeDef& t) { return w == t.name; })) {
      std::cerr << "fg_bench_generate: unknown type " << w << "\n";
      usage(2);
    }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (big) {
    const TypeDef& t = wanted.empty() ? types()[0] : *chosen.front();
    write_big(t, dir, bytes, faulty_percent < 0 ? 0 : faulty_percent, seed);
    return 0;
  }
  if (faulty_percent < 0) faulty_percent = 10;
  for (const TypeDef* t : chosen) {
    write_batch(*t, dir, records, faulty_percent, seed, false);
    write_batch(*t, dir, records, faulty_percent, seed, true);
  }
  return 0;
}
