// The webhook sink: batches POSTed as the DIP publishes to a webhook, a JSON array of
// {"payload":…} elements, within the receiver's Max Message Count and Max Payload Size Kb.
//
// One libcurl easy handle a sink, configured once and reused, so consecutive requests share a
// kept-alive connection. deliver() splits its batch into requests whose body is at most
// max_payload_kb × 1024 bytes, brackets and commas included; each request's answer applies to the
// messages it carried. After a transient failure the rest of the batch is not sent (kRetry
// without a request): it would only wait out the same timeout again, and sending later messages
// ahead of earlier ones would reorder them.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <system_error>

#include "flowguard/sinks/sinks.hpp"

namespace flowguard::sinks {
namespace {

namespace fs = std::filesystem;

std::once_flag g_curl_init;
CURLcode g_curl_init_code = CURLE_OK;

// Replies the sink retries; any other non-2xx is permanent for the messages it answered.
bool retried_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Nothing when unparseable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() &&
         (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' || value.back() == '\n'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  constexpr std::int64_t kMaxSeconds = 24 * 3600;  // a day: beyond that a server is not making sense
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    std::int64_t seconds = 0;
    for (const char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxSeconds) return std::chrono::seconds(kMaxSeconds);
    }
    return std::chrono::seconds(seconds);
  }
  const std::string text(value);
  const std::time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const std::int64_t delta = static_cast<std::int64_t>(when) - static_cast<std::int64_t>(std::time(nullptr));
  return std::chrono::seconds(std::clamp<std::int64_t>(delta, 0, kMaxSeconds));
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool valid_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

Status readable_file(const fs::path& path, std::string_view what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return make_error(ErrorCode::kIo, std::string(what) + " " + path.string() + " is not a readable file.");
  return Ok{};
}

class WebhookSink final : public Sink {
 public:
  WebhookSink(std::string name, const WebhookOptions& options, std::string display_url)
      : name_(std::move(name)),
        options_(options),
        display_url_(std::move(display_url)),
        max_bytes_(options.max_payload_kb * 1024) {}

  ~WebhookSink() override {
    if (headers_) curl_slist_free_all(headers_);
    if (curl_) curl_easy_cleanup(curl_);
  }

  const std::string& name() const override { return name_; }
  std::string_view kind() const override { return "webhook"; }
  std::size_t max_batch() const override { return options_.max_message_count; }

  Status setup() {
    curl_ = curl_easy_init();
    if (!curl_)
      return make_error(ErrorCode::kInternal, "libcurl could not create a handle for the webhook sink " + name_ + ".");
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    // No "Expect: 100-continue" round trip before a large body.
    headers_ = curl_slist_append(headers_, "Expect:");
    for (const auto& [key, value] : options_.headers)
      headers_ = curl_slist_append(headers_, (key + ": " + value).c_str());
    if (!headers_) return make_error(ErrorCode::kInternal, "libcurl could not build the webhook sink's headers.");

    error_[0] = '\0';
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(curl_, option, value);
    };
    set(CURLOPT_URL, options_.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: the router has threads
    set(CURLOPT_POST, 1L);
    set(CURLOPT_HTTPHEADER, headers_);
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    set(CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer like any other non-2xx
    set(CURLOPT_ERRORBUFFER, error_);
    set(CURLOPT_WRITEFUNCTION, &WebhookSink::on_body);
    set(CURLOPT_WRITEDATA, this);
    set(CURLOPT_HEADERFUNCTION, &WebhookSink::on_header);
    set(CURLOPT_HEADERDATA, this);
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    const TlsOptions& tls = options_.tls;
    if (!tls.ca_file.empty()) set(CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.client_cert.empty()) set(CURLOPT_SSLCERT, tls.client_cert.c_str());
    if (!tls.client_key.empty()) set(CURLOPT_SSLKEY, tls.client_key.c_str());
    if (!tls.key_password.empty()) set(CURLOPT_KEYPASSWD, tls.key_password.c_str());
    set(CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, tls.verify_peer ? 2L : 0L);
    if (rc != CURLE_OK)
      return make_error(ErrorCode::kUsage, "libcurl rejected an option of the webhook sink " + name_ + ": " +
                                               curl_easy_strerror(rc) + ".");
    return Ok{};
  }

  std::vector<DeliveryResult> deliver(std::span<const Delivery> batch) override {
    std::vector<DeliveryResult> results(batch.size());
    std::optional<DeliveryResult> stop;  // set after a transient failure: the rest is not sent
    std::vector<std::size_t> group;
    std::size_t group_bytes = 2;  // "[" and "]"

    auto flush = [&] {
      if (group.empty()) return;
      DeliveryResult r = stop ? *stop : post(batch, group);
      if (!stop && r.outcome == Outcome::kRetry) {
        stop = DeliveryResult{
            Outcome::kRetry, "not sent: an earlier request of the same batch failed (" + r.detail + ")", r.retry_after};
      }
      for (const std::size_t i : group) results[i] = r;
      group.clear();
      group_bytes = 2;
    };

    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::size_t size = batch[i].body.size();
      if (size + 2 > max_bytes_) {
        results[i] = {Outcome::kFailed,
                      "message of " + std::to_string(size) + " bytes exceeds the webhook's max payload of " +
                          std::to_string(max_bytes_) + " bytes (max_payload_kb " +
                          std::to_string(options_.max_payload_kb) +
                          ", the body being the message in a JSON array: " + std::to_string(size + 2) + " bytes)",
                      std::nullopt};
        continue;
      }
      const std::size_t added = size + (group.empty() ? 0 : 1);
      if (!group.empty() && (group_bytes + added > max_bytes_ || group.size() >= options_.max_message_count)) flush();
      group_bytes += size + (group.empty() ? 0 : 1);
      group.push_back(i);
    }
    flush();
    return results;
  }

 private:
  // One POST of the messages `group` names; its outcome for all of them.
  DeliveryResult post(std::span<const Delivery> batch, const std::vector<std::size_t>& group) {
    std::string body = "[";
    for (std::size_t k = 0; k < group.size(); ++k) {
      if (k > 0) body += ',';
      body += batch[group[k]].body;
    }
    body += ']';
    response_.clear();
    retry_after_.clear();
    error_[0] = '\0';
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    const CURLcode rc = curl_easy_perform(curl_);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, nullptr);
    if (rc != CURLE_OK) {
      std::string why = error_[0] ? std::string(error_) : std::string(curl_easy_strerror(rc));
      return {Outcome::kRetry, "the webhook " + display_url_ + " failed: " + why + " (retried)", std::nullopt};
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return {Outcome::kDelivered, "HTTP " + std::to_string(status), std::nullopt};
    std::string detail = "the webhook " + display_url_ + " answered HTTP " + std::to_string(status);
    const bool retry = retried_status(status);
    detail += retry ? " (retried)" : " (not retried)";
    if (!response_.empty()) {
      std::string snippet = response_.substr(0, 300);
      for (char& c : snippet)
        if (c == '\n' || c == '\r') c = ' ';
      detail += ": " + snippet;
    }
    if (!retry) return {Outcome::kFailed, detail, std::nullopt};
    return {Outcome::kRetry, detail, parse_retry_after(retry_after_)};
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<WebhookSink*>(self_ptr);
    const std::size_t n = size * count;
    constexpr std::size_t kKeep = 4096;  // enough of an error body for the journal; the rest is read and dropped
    if (self->response_.size() < kKeep) self->response_.append(data, std::min(n, kKeep - self->response_.size()));
    return n;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<WebhookSink*>(self_ptr);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() >= kName.size() && std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      self->retry_after_ = std::string(line.substr(kName.size()));
    if (line.starts_with("HTTP/")) self->retry_after_.clear();  // a new response (after a 1xx)
    return n;
  }

  std::string name_;
  WebhookOptions options_;
  std::string display_url_;
  std::size_t max_bytes_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  char error_[CURL_ERROR_SIZE];
  std::string response_;
  std::string retry_after_;
};

// The URL as messages show it: checked by libcurl's parser, without any user or password.
Result<std::string> checked_url(const std::string& name, const std::string& url) {
  CURLU* u = curl_url();
  if (!u) return make_error(ErrorCode::kInternal, "libcurl could not parse a URL.");
  std::string shown;
  std::optional<Error> error;
  if (const CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    error = make_error(ErrorCode::kUsage, "the webhook sink " + name + " has a URL libcurl rejects (\"" + url +
                                              "\"): " + curl_url_strerror(rc) + ".");
  } else {
    char* scheme = nullptr;
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    const std::string s = scheme ? scheme : "";
    curl_free(scheme);
    if (s != "http" && s != "https") {
      error = make_error(ErrorCode::kUsage,
                         "the webhook sink " + name + " has the URL scheme \"" + s + "\"; expected http or https.");
    } else {
      curl_url_set(u, CURLUPART_USER, nullptr, 0);
      curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0);
      char* text = nullptr;
      if (curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK && text) shown = text;
      curl_free(text);
    }
  }
  curl_url_cleanup(u);
  if (error) return *error;
  return shown;
}

}  // namespace

Result<std::unique_ptr<Sink>> make_webhook_sink(std::string name, const WebhookOptions& options) {
  std::call_once(g_curl_init, [] { g_curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (g_curl_init_code != CURLE_OK)
    return make_error(ErrorCode::kInternal,
                      std::string("libcurl failed to initialise: ") + curl_easy_strerror(g_curl_init_code) + ".");
  if (options.max_message_count == 0)
    return make_error(ErrorCode::kUsage, "the webhook sink " + name + " has max_message_count 0; expected at least 1.");
  if (options.max_payload_kb == 0)
    return make_error(ErrorCode::kUsage, "the webhook sink " + name + " has max_payload_kb 0; expected at least 1.");
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0)
    return make_error(ErrorCode::kUsage, "the webhook sink " + name + " needs positive connect and request timeouts.");
  for (const auto& [key, value] : options.headers) {
    if (!valid_header_name(key) || !valid_header_value(value))
      return make_error(ErrorCode::kUsage, "the webhook sink " + name + " has the header \"" + key +
                                               "\", which is not a valid HTTP header name and value.");
  }
  const TlsOptions& tls = options.tls;
  if (!tls.client_key.empty() && tls.client_cert.empty())
    return make_error(ErrorCode::kUsage, "the webhook sink " + name + " has a client key but no client certificate.");
  for (const auto& [path, what] :
       {std::pair{&tls.ca_file, "the CA file"}, std::pair{&tls.client_cert, "the client certificate"},
        std::pair{&tls.client_key, "the client key"}}) {
    if (path->empty()) continue;
    if (auto s = readable_file(*path, what); !s.ok())
      return make_error(ErrorCode::kIo, "the webhook sink " + name + ": " + s.error().message);
  }
  auto shown = checked_url(name, options.url);
  if (!shown.ok()) return std::move(shown).error();
  auto sink = std::make_unique<WebhookSink>(name, options, std::move(shown.value()));
  if (auto s = sink->setup(); !s.ok()) return std::move(s).error();
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace flowguard::sinks
