#include "flowguard/journal/journal_cli.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>

#include "flowguard/journal/journal.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"

namespace flowguard::journal {
namespace {

constexpr const char* kHelp = R"(usage: flowguard journal <command> --db FILE [options]

commands:
  list [filters] [--format text|json]
                      the messages matching the filters, oldest first (default: up to 100)
  show ID [--format text|json]
                      one message: its fields, deliveries, findings and body
  replay [filters] [--sink NAME]
                      deliver the matching Delivered messages again, to the sinks they went to
                      or to NAME alone
  requeue [filters]   make the matching Failed and DeadLettered deliveries pending again
                      (attempts reset); the router delivers them as new
  prune [--retention-days N]
                      delete messages older than the retention (default 30 days) whose
                      deliveries are all final, and idempotency keys older than it
  stats [--format text|json]
                      message count, undelivered deliveries, the oldest undelivered, dead-lettered

options:
  --db FILE           the journal file (required; it must exist)
filters (replay and requeue need at least one):
  --from TIME         received at or after TIME (2026-04-01T00:00:00Z, an offset such as +01:00,
                      or a date 2026-04-01; a time without a zone is UTC)
  --to TIME           received at or before TIME
  --state STATE       Routed, Delivered, Retrying, Failed or DeadLettered (any letter case)
  --event CODE        event code
  --mpan MPAN         MPAN
  --interface ID      interface, e.g. IF-006
  --type TYPE         flowguard type name
  --id ID             a transaction id (repeatable, at most 100, as in the DIP's MessageRequest)
  --limit N           at most N messages (default 100)

exit status: 0 done, 2 usage error or unknown id, 4 the journal could not be opened, read or written
)";

int usage(std::ostream& err, const std::string& message) {
  err << "flowguard journal: error: " << message << "\n(flowguard journal --help shows the usage)\n";
  return kJournalExitUsage;
}

int failure(std::ostream& err, const Error& e) {
  err << "flowguard journal: error: " << e.message << "\n";
  return e.code == ErrorCode::kUsage ? kJournalExitUsage : kJournalExitIo;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<MessageState> parse_state(const std::string& text) {
  for (auto st : {MessageState::kReceived, MessageState::kValidated, MessageState::kRouted, MessageState::kDelivered,
                  MessageState::kRetrying, MessageState::kFailed, MessageState::kDeadLettered}) {
    if (lower(text) == lower(to_string(st))) return st;
  }
  if (lower(text) == "dead-lettered" || lower(text) == "dead_lettered") return MessageState::kDeadLettered;
  return std::nullopt;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& value) {
  if (at + n > s.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

// ISO 8601: a date, or a date-time with optional fraction and zone (Z or ±HH:MM); no zone is UTC.
std::optional<TimePoint> parse_time(std::string_view s) {
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  std::size_t i = 10;
  long long micros = 0;
  long offset_seconds = 0;
  if (i < s.size()) {
    if ((s[i] != 'T' && s[i] != 't' && s[i] != ' ') || !digits(s, i + 1, 2, hour) || i + 3 >= s.size() ||
        s[i + 3] != ':' || !digits(s, i + 4, 2, minute)) {
      return std::nullopt;
    }
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!digits(s, i + 1, 2, second)) return std::nullopt;
      i += 3;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long long scale = 100000;
      std::size_t start = i;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        micros += (s[i] - '0') * scale;
        scale /= 10;
      }
      if (i == start) return std::nullopt;
    }
    if (i < s.size()) {
      if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
      } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om)) {
          return std::nullopt;
        }
        offset_seconds = (s[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        i += 6;
      }
    }
    if (i != s.size()) return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != day) return std::nullopt;  // 31 April and the like
  return Clock::from_time_t(t - offset_seconds) + std::chrono::microseconds(micros);
}

std::string format_time(TimePoint t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000 - (us % 1000000 < 0 ? 1 : 0));
  const long long frac = ((us % 1000000) + 1000000) % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, frac / 1000);
  return out;
}

std::optional<std::size_t> parse_count(const std::string& text) {
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

struct Options {
  std::string command;
  std::string db;
  std::string format = "text";
  std::string sink;
  std::vector<std::string> positional;
  MessageQuery query;
  bool filtered = false;  // any filter given (replay and requeue insist)
  std::optional<std::size_t> retention_days;
  bool help = false;
};

// Parses everything after the command word; a usage error's message on failure.
std::optional<std::string> parse_options(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return a + " needs a value";
      into = args[++i];
      return std::nullopt;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--db") {
      if (auto e = value(o.db)) return e;
    } else if (a == "--format") {
      if (auto e = value(o.format)) return e;
      if (o.format != "text" && o.format != "json") return "--format is \"" + o.format + "\"; expected text or json";
    } else if (a == "--sink") {
      if (auto e = value(o.sink)) return e;
      if (o.sink.empty()) return "--sink needs a sink name";
    } else if (a == "--from" || a == "--to") {
      if (auto e = value(v)) return e;
      auto t = parse_time(v);
      if (!t) return a + " is \"" + v + "\"; expected a date-time such as 2026-04-01T00:00:00Z or a date such as 2026-04-01";
      (a == "--from" ? o.query.from : o.query.to) = *t;
      o.filtered = true;
    } else if (a == "--state") {
      if (auto e = value(v)) return e;
      auto st = parse_state(v);
      if (!st) return "--state is \"" + v + "\"; expected Routed, Delivered, Retrying, Failed or DeadLettered";
      o.query.state = *st;
      o.filtered = true;
    } else if (a == "--event" || a == "--mpan" || a == "--interface" || a == "--type") {
      std::string& into = a == "--event" ? o.query.event_code
                          : a == "--mpan" ? o.query.mpan
                          : a == "--interface" ? o.query.interface_id
                                               : o.query.type;
      if (auto e = value(into)) return e;
      if (into.empty()) return a + " needs a non-empty value";
      o.filtered = true;
    } else if (a == "--id") {
      if (auto e = value(v)) return e;
      o.query.ids.push_back(v);
      o.filtered = true;
    } else if (a == "--limit") {
      if (auto e = value(v)) return e;
      auto n = parse_count(v);
      if (!n || *n == 0) return "--limit is \"" + v + "\"; expected a whole number of at least 1";
      o.query.limit = *n;
    } else if (a == "--retention-days") {
      if (auto e = value(v)) return e;
      auto n = parse_count(v);
      if (!n || *n == 0 || *n > 36500) return "--retention-days is \"" + v + "\"; expected a whole number from 1 to 36500";
      o.retention_days = *n;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return "unknown option \"" + a + "\" for journal " + o.command;
    } else {
      o.positional.push_back(a);
    }
  }
  if (o.query.ids.size() > 100) {
    return std::to_string(o.query.ids.size()) + " --id values given; at most 100 are allowed (as in the DIP's MessageRequest)";
  }
  return std::nullopt;
}

// A JSON document as it is, anything else as a string (a body is JSON, but the journal does not insist).
void json_or_string(json::Writer& w, const std::string& text) {
  if (!text.empty() && json::Document::parse(text).ok()) {
    w.raw(text);
  } else {
    w.string(text);
  }
}

void write_record_json(json::Writer& w, const MessageRecord& r, bool full) {
  w.begin_object();
  w.member("id", r.id).member("reference", r.reference).member("type", r.type);
  w.member("interfaceId", r.interface_id).member("eventCode", r.event_code).member("mpan", r.mpan);
  w.member("sender", r.sender).member("recipient", r.recipient).member("valid", r.valid);
  w.member("state", to_string(r.state));
  w.member("receivedAt", format_time(r.received_at)).member("validatedAt", format_time(r.validated_at));
  w.member("routedAt", format_time(r.routed_at)).member("updatedAt", format_time(r.updated_at));
  w.member("deadLetterReason", r.dead_letter_reason);
  w.key("deliveries").begin_array();
  for (const auto& d : r.deliveries) {
    w.begin_object();
    w.member("sink", d.sink).member("state", to_string(d.state)).member("attempts", d.attempts);
    w.key("nextAttempt");
    d.next_attempt ? w.string(format_time(*d.next_attempt)) : w.null();
    w.key("deliveredAt");
    d.delivered_at ? w.string(format_time(*d.delivered_at)) : w.null();
    w.member("lastError", d.last_error);
    w.end_object();
  }
  w.end_array();
  if (full) {
    w.key("findings");
    json_or_string(w, r.findings_json);
    w.key("body");
    json_or_string(w, r.body);
  }
  w.end_object();
}

std::string deliveries_summary(const MessageRecord& r) {
  std::string s;
  for (const auto& d : r.deliveries) s += (s.empty() ? "" : ",") + d.sink + ":" + to_string(d.state);
  return s.empty() ? "-" : s;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

int run_list(Journal& j, const Options& o, std::ostream& out, std::ostream& err) {
  auto records = j.list(o.query);
  if (!records) return failure(err, records.error());
  if (o.format == "json") {
    std::string text;
    json::Writer w(text);
    w.begin_object().key("messages").begin_array();
    for (const auto& r : *records) write_record_json(w, r, false);
    w.end_array().end_object();
    out << text << "\n";
    return kJournalExitOk;
  }
  for (const auto& r : *records) {
    out << r.id << "  " << to_string(r.state) << "  " << format_time(r.received_at) << "  " << or_dash(r.type) << "  "
        << or_dash(r.event_code) << "  " << or_dash(r.mpan) << "  " << deliveries_summary(r) << "\n";
  }
  err << records->size() << " message(s)" << (records->size() == o.query.limit ? " (the limit; --limit shows more)" : "")
      << "\n";
  return kJournalExitOk;
}

int run_show(Journal& j, const Options& o, std::ostream& out, std::ostream& err) {
  if (o.positional.size() != 1) return usage(err, "journal show needs exactly one transaction id");
  auto record = j.show(o.positional[0]);
  if (!record) return failure(err, record.error());
  if (!*record) {
    err << "flowguard journal: error: no message with id \"" << o.positional[0] << "\" in " << o.db
        << " (journal list shows the ids; a message older than the retention may have been pruned).\n";
    return kJournalExitUsage;
  }
  const MessageRecord& r = **record;
  if (o.format == "json") {
    std::string text;
    json::Writer w(text);
    write_record_json(w, r, true);
    out << text << "\n";
    return kJournalExitOk;
  }
  out << "id:                 " << r.id << "\n"
      << "reference:          " << or_dash(r.reference) << "\n"
      << "type:               " << or_dash(r.type) << "\n"
      << "interface:          " << or_dash(r.interface_id) << "\n"
      << "event code:         " << or_dash(r.event_code) << "\n"
      << "mpan:               " << or_dash(r.mpan) << "\n"
      << "sender:             " << or_dash(r.sender) << "\n"
      << "recipient:          " << or_dash(r.recipient) << "\n"
      << "valid:              " << (r.valid ? "yes" : "no") << "\n"
      << "state:              " << to_string(r.state) << "\n"
      << "received:           " << format_time(r.received_at) << "\n"
      << "validated:          " << format_time(r.validated_at) << "\n"
      << "routed:             " << format_time(r.routed_at) << "\n"
      << "updated:            " << format_time(r.updated_at) << "\n"
      << "dead-letter reason: " << or_dash(r.dead_letter_reason) << "\n"
      << "deliveries:\n";
  for (const auto& d : r.deliveries) {
    out << "  " << d.sink << "  " << to_string(d.state) << "  attempts " << d.attempts;
    if (d.delivered_at) out << "  delivered " << format_time(*d.delivered_at);
    if (d.next_attempt && (d.state == DeliveryState::kRetrying || d.state == DeliveryState::kPending)) {
      out << "  next " << format_time(*d.next_attempt);
    }
    if (!d.last_error.empty()) out << "  last error: " << d.last_error;
    out << "\n";
  }
  out << "findings: " << r.findings_json << "\n"
      << "body:\n"
      << r.body << "\n";
  return kJournalExitOk;
}

int report_ids(const char* verb, const std::vector<std::string>& ids, std::size_t limit, std::ostream& out,
               std::ostream& err) {
  for (const auto& id : ids) out << id << "\n";
  err << verb << " " << ids.size() << " message(s)" << (ids.size() == limit ? " (the limit; --limit does more)" : "")
      << "\n";
  return kJournalExitOk;
}

int run(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    out << kHelp;
    return args.empty() ? kJournalExitUsage : kJournalExitOk;
  }
  Options o;
  o.command = args[0];
  static const char* const kCommands[] = {"list", "show", "replay", "requeue", "prune", "stats"};
  if (std::find(std::begin(kCommands), std::end(kCommands), o.command) == std::end(kCommands)) {
    return usage(err, "unknown journal command \"" + o.command + "\"; expected list, show, replay, requeue, prune or stats");
  }
  if (auto e = parse_options(args, o)) return usage(err, *e);
  if (o.help) {
    out << kHelp;
    return kJournalExitOk;
  }
  if (o.db.empty()) return usage(err, "journal " + o.command + " needs --db FILE (the journal file)");
  if (o.command != "show" && !o.positional.empty()) {
    return usage(err, "unexpected argument \"" + o.positional[0] + "\" for journal " + o.command);
  }
  if (!o.sink.empty() && o.command != "replay") return usage(err, "--sink is for journal replay only");
  if (o.retention_days && o.command != "prune") return usage(err, "--retention-days is for journal prune only");
  if ((o.command == "replay" || o.command == "requeue") && !o.filtered) {
    return usage(err, "journal " + o.command + " needs at least one filter (--from, --to, --state, --event, --mpan, " +
                          "--interface, --type or --id), so it never acts on everything by accident");
  }
  if ((o.command == "prune" || o.command == "replay" || o.command == "requeue") && o.format != "text") {
    return usage(err, "--format is for list, show and stats");
  }

  // Opening would create a missing file; an operator's typo should not leave an empty journal.
  std::error_code ec;
  if (!std::filesystem::exists(o.db, ec)) {
    err << "flowguard journal: error: the journal " << o.db << " does not exist (--db names the file the server "
        << "journals to).\n";
    return kJournalExitIo;
  }
  JournalOptions options;
  if (o.retention_days) options.retention = std::chrono::hours(24 * *o.retention_days);
  auto opened = open_journal(o.db, options);
  if (!opened) return failure(err, opened.error());
  Journal& j = **opened;

  if (o.command == "list") return run_list(j, o, out, err);
  if (o.command == "show") return run_show(j, o, out, err);
  if (o.command == "replay") {
    auto ids = j.replay(o.query, o.sink);
    if (!ids) return failure(err, ids.error());
    return report_ids("replayed", *ids, o.query.limit, out, err);
  }
  if (o.command == "requeue") {
    auto ids = j.requeue(o.query);
    if (!ids) return failure(err, ids.error());
    return report_ids("requeued", *ids, o.query.limit, out, err);
  }
  if (o.command == "prune") {
    auto pruned = j.prune(Clock::now());
    if (!pruned) return failure(err, pruned.error());
    out << "pruned " << *pruned << " message(s)\n";
    return kJournalExitOk;
  }
  auto st = j.stats();  // stats
  if (!st) return failure(err, st.error());
  if (o.format == "json") {
    std::string text;
    json::Writer w(text);
    w.begin_object().member("messages", st->messages).member("undelivered", st->undelivered);
    w.key("oldestUndelivered");
    st->oldest_undelivered ? w.string(format_time(*st->oldest_undelivered)) : w.null();
    w.member("deadLettered", st->dead_lettered).end_object();
    out << text << "\n";
  } else {
    out << "messages:           " << st->messages << "\n"
        << "undelivered:        " << st->undelivered << "\n"
        << "oldest undelivered: " << (st->oldest_undelivered ? format_time(*st->oldest_undelivered) : "-") << "\n"
        << "dead-lettered:      " << st->dead_lettered << "\n";
  }
  return kJournalExitOk;
}

}  // namespace

int run_journal_command(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  try {
    return run(std::move(args), out, err);
  } catch (const std::exception& e) {
    err << "flowguard journal: internal error: " << e.what() << "\n";
    return 70;  // as cli/main.cpp's last line of defence
  }
}

}  // namespace flowguard::journal
