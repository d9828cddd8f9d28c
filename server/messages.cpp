#include "messages.hpp"
#include "message_request.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <ctime>

#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"

namespace flowguard::server {
namespace {

using Clock = std::chrono::steady_clock;

const std::string* header(const HttpRequest& request, std::string_view name) {
  for (const auto& [k, v] : request.headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return &v;
  return nullptr;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) out += kHex[digest[i] >> 4], out += kHex[digest[i] & 15];
  return out;
}

HttpResponse busy(std::string_view message) {
  HttpResponse r = error_response(503, "journal-full", message);
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

// The DIP's StandardResponse for a failed batch, with flowguard's report beside it (as /v1/validate).
std::string rejected_body(const FileReport& report, const std::vector<std::string>& dead_lettered) {
  std::string body = format_dip_response(report, utc_now("+00:00"));
  body.pop_back();  // its closing brace: flowguard's fields go in before it
  std::string report_json = format_json({report});
  while (!report_json.empty() && report_json.back() == '\n') report_json.pop_back();
  body += ",\"flowguard\":" + report_json + ",\"deadLettered\":[";
  for (std::size_t i = 0; i < dead_lettered.size(); ++i) {
    if (i) body += ',';
    json::write_json_string(body, dead_lettered[i]);
  }
  return body + "]}\n";
}

// 'YYYY-MM-DDThh:mm:ss±hh:mm' (DT-003N) or with Z → a time point.
std::optional<journal::TimePoint> parse_datetime(std::string_view t) {
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900, tm.tm_mon = num(5, 2) - 1, tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2), tm.tm_min = num(14, 2), tm.tm_sec = num(17, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
    return std::nullopt;
  std::size_t i = 19;
  if (i < t.size() && t[i] == '.')
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    }
  long offset = 0;
  if (i + 1 == t.size() && t[i] == 'Z') {
  } else if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
    const int h = num(i + 1, 2), m = num(i + 4, 2);
    if (h < 0 || m < 0 || h > 23 || m > 59) return std::nullopt;
    offset = (t[i] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
  } else {
    return std::nullopt;
  }
  // A time point spans about ±292 years around 1970 (nanoseconds in 64 bits): a later date (a
  // "9999-12-31T23:59:59Z" meaning no end) is the end of time, not an overflow that wraps around.
  const std::int64_t seconds = static_cast<std::int64_t>(timegm(&tm)) - offset;
  const auto latest = std::chrono::duration_cast<std::chrono::seconds>(journal::TimePoint::max().time_since_epoch()).count();
  if (seconds >= latest) return journal::TimePoint::max();
  return journal::Clock::from_time_t(static_cast<std::time_t>(seconds));
}

}  // namespace

// The DIP's MessageRequest: datetimeFrom, datetimeTo, eventCode, MPAN and version are required
// (each may be null: no filter), transactionIDs optional with 1–100 items.
std::optional<journal::MessageQuery> parse_message_request(std::string_view body, std::string& problem) {
  json::Document doc;
  json::ParseError error;
  if (!json::Document::parse(body, doc, error)) {
    problem = "body:" + std::to_string(error.line) + ":" + std::to_string(error.column) + ": " + error.message;
    return std::nullopt;
  }
  const json::Value& root = doc.root();
  if (!root.is_object()) {
    problem = "the body is a MessageRequest object {datetimeFrom, datetimeTo, eventCode, MPAN, version[, transactionIDs]}";
    return std::nullopt;
  }
  journal::MessageQuery q;
  for (const char* key : {"datetimeFrom", "datetimeTo", "eventCode", "MPAN", "version"})
    if (!root.find(key)) {
      problem = std::string("/") + key + " is required (null for no filter), as in the DIP's MessageRequest";
      return std::nullopt;
    }
  for (const auto& m : root.members()) {
    const std::string pointer = "/" + json::escape_pointer_token(m.key);
    const json::Value& v = m.value;
    if (m.key == "datetimeFrom" || m.key == "datetimeTo") {
      if (v.is_null()) continue;
      auto t = v.is_string() ? parse_datetime(v.as_string()) : std::nullopt;
      if (!t) {
        problem = pointer + " is " + json::preview(v) + "; expected a date-time such as 2022-03-21T19:05:00+00:00, or null";
        return std::nullopt;
      }
      (m.key == "datetimeFrom" ? q.from : q.to) = t;
    } else if (m.key == "eventCode" || m.key == "MPAN") {
      if (v.is_null()) continue;
      if (!v.is_string()) {
        problem = pointer + " is " + json::preview(v) + "; expected a string or null";
        return std::nullopt;
      }
      (m.key == "eventCode" ? q.event_code : q.mpan) = std::string(v.as_string());
    } else if (m.key == "transactionIDs") {
      if (!v.is_array() || v.size() < 1 || v.size() > 100) {
        problem = pointer + (v.is_array() ? " has " + std::to_string(v.size()) + " items" : " is " + json::preview(v)) +
                  "; expected 1 to 100 transaction ids (the DIP's limit per request)";
        return std::nullopt;
      }
      for (const auto& id : v.items()) {
        if (!id.is_string()) {
          problem = pointer + " holds " + json::preview(id) + "; expected transaction id strings";
          return std::nullopt;
        }
        q.ids.emplace_back(id.as_string());
      }
    } else if (m.key != "version") {
      problem = pointer + " is not a MessageRequest field (datetimeFrom, datetimeTo, eventCode, MPAN, transactionIDs, version)";
      return std::nullopt;
    }
  }
  if (q.from && q.to && *q.from > *q.to) {
    problem = "/datetimeFrom is after /datetimeTo";
    return std::nullopt;
  }
  return q;
}

void handle_messages(const HttpRequest& request, Generation& generation, unsigned worker, Metrics& metrics, DecisionLog* log,
                     routing::Router& router, std::function<void(HttpResponse)> reply) {
  const auto t0 = Clock::now();
  const auto received = journal::Clock::now();
  // Idempotency-Key: the same key and body get the first answer again; the same key with another
  // body is a client bug (409), never a second submission.
  const std::string* idempotency_key = header(request, "Idempotency-Key");
  std::string digest;
  if (idempotency_key) {
    if (idempotency_key->empty() || idempotency_key->size() > 255)
      return reply(error_response(400, "bad-idempotency-key", "Idempotency-Key must be 1 to 255 characters"));
    digest = sha256_hex(request.body);
    auto seen = router.journal().recall(*idempotency_key);
    if (!seen) return reply(error_response(500, "journal", seen.error().message));
    if (*seen) {
      if ((*seen)->body_sha256 != digest)
        return reply(error_response(409, "idempotency-key-reused",
                                    "this Idempotency-Key was used with a different body; use a new key for a new submission"));
      HttpResponse r;
      r.status = (*seen)->status;
      r.body = (*seen)->response;
      r.headers.emplace_back("Idempotent-Replayed", "true");
      return reply(std::move(r));
    }
  }
  const std::string type = query_value(request.target, "type");
  Engine& engine = *generation.engines.at(worker);
  CheckRequest call;
  call.headers = request.headers;
  // Duplicates of accepted messages are the journal's to find (it is durable and outlives a
  // restart); a window here would also remember references of batches the journal then refused.
  call.references = generation.no_references;
  const PaddedBytes body(request.body);
  auto report = std::make_shared<FileReport>(engine.check(body, "body", type, call));
  auto finish = [&metrics, log, type, t0, report](HttpResponse& r, const std::vector<routing::Incoming>& messages) {
    for (const auto& f : report->findings) metrics.finding(f.rule);
    for (const auto& m : messages) metrics.message(m.facts.type.empty() ? "unrecognised" : m.facts.type, m.facts.valid);
    if (log) log->write("messages", type, r.status, *report, std::chrono::duration<double>(Clock::now() - t0).count());
  };
  if (report->input_error) {
    HttpResponse r = error_response(400, report->input_error->code == ErrorCode::kParse ? "MSG1001" : "input-error",
                                    report->input_error->message);
    finish(r, {});
    return reply(std::move(r));
  }
  const std::string* recipient = header(request, "Recipient-DIP-ID");
  const std::string* recipient_role = header(request, "Recipient-Role");
  auto messages = std::make_shared<std::vector<routing::Incoming>>(
      routing::split_messages(*report, request.body, recipient ? *recipient : "", recipient_role ? *recipient_role : ""));
  const auto validated = journal::Clock::now();
  for (auto& m : *messages) m.received_at = received, m.validated_at = validated;
  const bool valid = report->errors == 0;
  if (!valid && !router.config().dead_letter_invalid) {
    HttpResponse r;
    r.status = 400;
    r.body = rejected_body(*report, {});
    finish(r, *messages);
    return reply(std::move(r));
  }
  // From here the answer waits for the journal: this runs on its committer thread once the batch
  // is durable, and must not block it (the Idempotency-Key's answer is kept asynchronously too).
  auto answered = [&router, reply, finish, report, messages, valid,
                   key = idempotency_key ? std::optional<std::string>(*idempotency_key) : std::nullopt,
                   digest](Result<routing::Submitted> submitted) {
    HttpResponse r;
    if (!submitted) {
      r = submitted.error().code == ErrorCode::kLimit ? busy(submitted.error().message)
                                                       : error_response(500, "journal", submitted.error().message);
      return reply(std::move(r));  // nothing was kept: a retry with the same key is a new attempt
    }
    if (!valid) {
      r.status = 400;
      r.body = rejected_body(*report, submitted->ids);  // no ids when its references were already journaled: kept once
    } else if (!submitted->duplicates.empty()) {
      // As the DIP: a reference already received is MSG1006, and the batch is refused whole.
      for (std::size_t i : submitted->duplicates) {
        Finding f;
        f.rule = "DIP-SENDER-UNIQUE-REFERENCE-REPEATED";
        f.code = "MSG1006";
        f.pointer = (i < report->messages.size() ? report->messages[i].pointer : "/" + std::to_string(i) + "/payload") +
                    "/CommonBlock/S1/senderUniqueReference";
        f.message = "senderUniqueReference " + (*messages)[i].facts.reference +
                    " was already accepted (it is in the journal); a new message needs a new reference";
        report->findings.push_back(std::move(f));
        ++report->errors;
      }
      r.status = 400;
      r.body = rejected_body(*report, {});
    } else {
      r.status = 202;
      json::Writer out(r.body);
      out.begin_object().key("messages").begin_array();
      for (std::size_t i = 0; i < messages->size(); ++i) {
        out.begin_object().member("transactionID", submitted->ids[i]);
        out.key("senderUniqueReference");
        if ((*messages)[i].facts.reference.empty()) out.null();
        else out.string((*messages)[i].facts.reference);
        out.member("type", (*messages)[i].facts.type).end_object();
      }
      out.end_array().member("timestamp", utc_now("+00:00")).end_object();
      r.body += '\n';
    }
    finish(r, *messages);
    if (!key) return reply(std::move(r));
    auto shared = std::make_shared<HttpResponse>(std::move(r));
    router.journal().remember_async(*key, {digest, shared->status, shared->body}, [reply, shared](Status kept) {
      if (!kept.ok()) shared->headers.emplace_back("Warning", "199 flowguard \"the answer could not be kept for the Idempotency-Key\"");
      reply(std::move(*shared));
    });
  };
  router.submit_async(*messages, valid, std::move(answered));
}

HttpResponse handle_replay(const HttpRequest& request, routing::Router& router, bool requeue) {
  std::string problem;
  auto query = parse_message_request(request.body, problem);
  if (!query) return error_response(400, "bad-message-request", problem);
  HttpResponse r;
  std::string ids_json;
  auto write_ids = [&](const std::vector<std::string>& ids) {
    json::Writer out(ids_json);
    out.begin_array();
    for (const auto& id : ids) out.string(id);
    out.end_array();
  };
  if (requeue) {
    auto ids = router.journal().requeue(*query);
    if (!ids) return error_response(ids.error().code == ErrorCode::kUsage ? 400 : 500, "journal", ids.error().message);
    write_ids(*ids);
    r.body = "{\"requeued\":" + ids_json + "}\n";
    return r;
  }
  query->limit = 100;
  auto found = router.journal().list(*query);
  if (!found) return error_response(found.error().code == ErrorCode::kUsage ? 400 : 500, "journal", found.error().message);
  const std::string redeliver = query_value(request.target, "redeliver");
  if (!redeliver.empty()) {
    if (!router.config().sink(redeliver)) return error_response(400, "unknown-sink", "no sink named " + redeliver + " in the routes");
    auto ids = router.journal().replay(*query, redeliver);
    if (!ids) return error_response(500, "journal", ids.error().message);
    r.headers.emplace_back("X-Flowguard-Redelivered", std::to_string(ids->size()));
  }
  // The DIP's replay answer: the messages themselves, a DIPMessageEgressArray.
  r.body = "[";
  for (std::size_t i = 0; i < found->size(); ++i) r.body += (i ? "," : "") + (*found)[i].body;
  r.body += "]\n";
  return r;
}

}  // namespace flowguard::server
