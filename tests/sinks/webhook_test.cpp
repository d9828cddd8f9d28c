#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "flowguard/sinks/sinks.hpp"
#include "sink_test_util.hpp"
#include "webhook_receiver.hpp"

using namespace flowguard;
using test::Reply;
using Outcome = sinks::Outcome;

namespace {

std::unique_ptr<test::WebhookReceiver> start_receiver(test::ReceiverOptions options = {}) {
  auto receiver = test::WebhookReceiver::start(std::move(options));
  REQUIRE(receiver.ok());
  return std::move(receiver.value());
}

std::unique_ptr<sinks::Sink> webhook(sinks::WebhookOptions options) {
  auto sink = sinks::make_webhook_sink("partner", options);
  if (!sink.ok()) FAIL(sink.error().message);
  return std::move(sink.value());
}

sinks::WebhookOptions options_for(const test::WebhookReceiver& receiver) {
  sinks::WebhookOptions o;
  o.url = receiver.url();
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(5000);
  return o;
}

std::vector<sinks::Delivery> messages(int from, int count, std::size_t size = 0) {
  std::vector<sinks::Delivery> out;
  for (int i = from; i < from + count; ++i) out.push_back(test::message(i, size));
  return out;
}

// Delivers `all` as the router would: max_batch() at a time.
std::vector<sinks::DeliveryResult> deliver_all(sinks::Sink& sink, const std::vector<sinks::Delivery>& all) {
  std::vector<sinks::DeliveryResult> results;
  for (std::size_t from = 0; from < all.size(); from += sink.max_batch()) {
    const std::size_t n = std::min(sink.max_batch(), all.size() - from);
    auto part = sink.deliver(std::span<const sinks::Delivery>(all).subspan(from, n));
    REQUIRE(part.size() == n);
    results.insert(results.end(), part.begin(), part.end());
  }
  return results;
}

// The message numbers of every request body, in arrival order; each body checked to be a JSON array.
std::vector<long> numbers_received(const test::WebhookReceiver& receiver) {
  std::vector<long> out;
  for (const auto& request : receiver.requests()) {
    auto doc = json::Document::parse(request.body);
    REQUIRE(doc.ok());
    REQUIRE(doc->root().is_array());
    for (const auto& element : doc->root().items()) out.push_back(test::message_number(element));
  }
  return out;
}

}  // namespace

TEST_CASE("webhook sink: a 2xx delivers, the body is the DIP's array of elements", "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto options = options_for(*receiver);
  options.headers = {{"X-API-Key", "secret-1"}};
  auto sink = webhook(options);
  CHECK(sink->kind() == "webhook");
  CHECK(sink->max_batch() == options.max_message_count);

  const auto batch = messages(0, 3);
  const auto results = sink->deliver(batch);
  REQUIRE(results.size() == 3);
  for (const auto& r : results) CHECK(r.outcome == Outcome::kDelivered);

  const auto requests = receiver->requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/webhook");
  CHECK(requests[0].header("Content-Type") == "application/json");
  CHECK(requests[0].header("X-API-Key") == "secret-1");
  CHECK(requests[0].body == "[" + batch[0].body + "," + batch[1].body + "," + batch[2].body + "]");

  receiver->set_reply(Reply::answer(200));
  CHECK(sink->deliver(messages(3, 1))[0].outcome == Outcome::kDelivered);
  receiver->set_reply(Reply::answer(204));
  CHECK(sink->deliver(messages(4, 1))[0].outcome == Outcome::kDelivered);
  CHECK(receiver->connections_accepted() == 1);  // one kept-alive connection for all three
}

TEST_CASE("webhook sink: 408, 429 and 5xx are kRetry, with the server's Retry-After", "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto sink = webhook(options_for(*receiver));
  const auto one = messages(0, 1);

  receiver->set_reply(Reply::retry_after(429, "7"));
  auto r = sink->deliver(one)[0];
  CHECK(r.outcome == Outcome::kRetry);
  REQUIRE(r.retry_after.has_value());
  CHECK(*r.retry_after == std::chrono::seconds(7));
  CHECK_THAT(r.detail, Catch::Contains("429"));

  // An HTTP date 30 s ahead.
  const std::time_t later = std::time(nullptr) + 30;
  std::tm tm{};
  ::gmtime_r(&later, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  receiver->set_reply(Reply::retry_after(503, date));
  r = sink->deliver(one)[0];
  CHECK(r.outcome == Outcome::kRetry);
  REQUIRE(r.retry_after.has_value());
  CHECK(*r.retry_after > std::chrono::seconds(25));
  CHECK(*r.retry_after <= std::chrono::seconds(30));

  for (unsigned status : {408u, 500u, 502u, 503u, 504u}) {
    receiver->set_reply(Reply::answer(status, "{\"error\":\"busy\"}"));
    r = sink->deliver(one)[0];
    CHECK(r.outcome == Outcome::kRetry);
    CHECK_FALSE(r.retry_after.has_value());
    CHECK_THAT(r.detail, Catch::Contains(std::to_string(status)) && Catch::Contains("busy"));
  }
}

TEST_CASE("webhook sink: 400, 401, 403, 404, 405, 406, 413, 505 and 3xx are kFailed", "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto sink = webhook(options_for(*receiver));
  for (unsigned status : {400u, 401u, 403u, 404u, 405u, 406u, 413u, 505u, 302u, 418u}) {
    receiver->set_reply(Reply::answer(status, {}, {{"Retry-After", "5"}}));
    const auto r = sink->deliver(messages(0, 2));
    REQUIRE(r.size() == 2);
    for (const auto& one : r) {
      CHECK(one.outcome == Outcome::kFailed);
      CHECK_FALSE(one.retry_after.has_value());
      CHECK_THAT(one.detail, Catch::Contains(std::to_string(status)));
    }
  }
}

TEST_CASE("webhook sink: a receiver that never answers is kRetry within the request timeout", "[sinks][webhook]") {
  auto receiver = start_receiver();
  receiver->set_reply(Reply::hang());
  auto options = options_for(*receiver);
  options.request_timeout = std::chrono::milliseconds(300);
  auto sink = webhook(options);
  const auto start = std::chrono::steady_clock::now();
  const auto r = sink->deliver(messages(0, 2));
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(r.size() == 2);
  for (const auto& one : r) CHECK(one.outcome == Outcome::kRetry);
  CHECK(took < std::chrono::seconds(5));  // bounded by the timeout, not by the receiver
  CHECK(receiver->request_count() == 1);

  receiver->set_reply(Reply::answer(201));  // the sink recovers on a new connection
  CHECK(sink->deliver(messages(2, 1))[0].outcome == Outcome::kDelivered);
}

TEST_CASE("webhook sink: a dropped connection and a refused one are kRetry", "[sinks][webhook]") {
  auto receiver = start_receiver();
  receiver->set_reply(Reply::close());
  auto sink = webhook(options_for(*receiver));
  auto r = sink->deliver(messages(0, 1))[0];
  CHECK(r.outcome == Outcome::kRetry);
  CHECK_FALSE(r.detail.empty());

  const std::string url = receiver->url();
  receiver->stop();  // nothing listens there now
  sinks::WebhookOptions options;
  options.url = "http://someone:hunter2@" + url.substr(std::string("http://").size());
  auto refused = webhook(options);
  r = refused->deliver(messages(0, 1))[0];
  CHECK(r.outcome == Outcome::kRetry);
  CHECK_THAT(r.detail, Catch::Contains("127.0.0.1"));
  CHECK_THAT(r.detail, !Catch::Contains("hunter2"));  // the URL's password stays out of logs
}

TEST_CASE("webhook sink: fail three times, then 201", "[sinks][webhook]") {
  auto receiver = start_receiver();
  receiver->set_sequence({Reply::answer(503), Reply::retry_after(429, "1"), Reply::answer(500)}, Reply::answer(201));
  auto sink = webhook(options_for(*receiver));
  const auto one = messages(0, 1);
  CHECK(sink->deliver(one)[0].outcome == Outcome::kRetry);
  CHECK(sink->deliver(one)[0].outcome == Outcome::kRetry);
  CHECK(sink->deliver(one)[0].outcome == Outcome::kRetry);
  CHECK(sink->deliver(one)[0].outcome == Outcome::kDelivered);
  CHECK(receiver->request_count() == 4);
}

TEST_CASE("webhook sink: max_message_count and max_payload_kb bound every request, every message sent once in order",
          "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto options = options_for(*receiver);
  options.max_message_count = 10;  // the DIP test config of Publication: 10 messages, 1 KB
  options.max_payload_kb = 1;
  auto sink = webhook(options);
  REQUIRE(sink->max_batch() == 10);

  std::vector<sinks::Delivery> all;
  std::srand(42);
  for (int i = 0; i < 60; ++i) all.push_back(test::message(i, 40 + static_cast<std::size_t>(std::rand() % 400)));
  const auto results = deliver_all(*sink, all);
  for (const auto& r : results) CHECK(r.outcome == Outcome::kDelivered);

  for (const auto& request : receiver->requests()) {
    CHECK(request.body.size() <= 1024);
    auto doc = json::Document::parse(request.body);
    REQUIRE(doc.ok());
    CHECK(doc->root().items().size() <= 10);
  }
  std::vector<long> expected(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) expected[i] = static_cast<long>(i);
  CHECK(numbers_received(*receiver) == expected);

  SECTION("the count bound alone") {
    receiver->clear();
    options.max_payload_kb = 100000;
    options.max_message_count = 3;
    auto by_count = webhook(options);
    const auto more = messages(0, 10);
    for (const auto& r : deliver_all(*by_count, more)) CHECK(r.outcome == Outcome::kDelivered);
    const auto requests = receiver->requests();
    REQUIRE(requests.size() == 4);  // 3 + 3 + 3 + 1
    CHECK(numbers_received(*receiver) == std::vector<long>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

    receiver->clear();  // handed more than max_batch() in one call, it still splits by count
    for (const auto& r : by_count->deliver(more)) CHECK(r.outcome == Outcome::kDelivered);
    CHECK(receiver->request_count() == 4);
    CHECK(numbers_received(*receiver) == std::vector<long>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
}

TEST_CASE("webhook sink: the payload bound counts the brackets and commas exactly", "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto options = options_for(*receiver);
  options.max_payload_kb = 1;  // 1024 bytes
  auto sink = webhook(options);

  // Two of 510 bytes: 1 + 510 + 1 + 510 + 1 = 1023, one request. Two of 511: 1025, two requests.
  auto fits = messages(0, 2, 510);
  REQUIRE(fits[0].body.size() == 510);
  for (const auto& r : sink->deliver(fits)) CHECK(r.outcome == Outcome::kDelivered);
  REQUIRE(receiver->request_count() == 1);
  CHECK(receiver->requests()[0].body.size() == 1023);

  receiver->clear();
  for (const auto& r : sink->deliver(messages(2, 2, 511))) CHECK(r.outcome == Outcome::kDelivered);
  const auto split = receiver->requests();
  REQUIRE(split.size() == 2);
  CHECK(split[0].body.size() == 513);

  // One of 1022 bytes is exactly 1024 as a body: sent. One of 1023 would be 1025: never sent.
  receiver->clear();
  auto edge = messages(4, 1, 1022);
  CHECK(sink->deliver(edge)[0].outcome == Outcome::kDelivered);
  CHECK(receiver->requests().at(0).body.size() == 1024);
}

TEST_CASE("webhook sink: a message bigger than the payload bound is kFailed and never sent, the rest go",
          "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto options = options_for(*receiver);
  options.max_payload_kb = 1;
  auto sink = webhook(options);
  std::vector<sinks::Delivery> batch{test::message(0, 100), test::message(1, 1023), test::message(2, 5000),
                                     test::message(3, 100)};
  const auto r = sink->deliver(batch);
  REQUIRE(r.size() == 4);
  CHECK(r[0].outcome == Outcome::kDelivered);
  CHECK(r[1].outcome == Outcome::kFailed);
  CHECK_THAT(r[1].detail, Catch::Contains("message of 1023 bytes exceeds the webhook's max payload of 1024 bytes"));
  CHECK(r[2].outcome == Outcome::kFailed);
  CHECK_THAT(r[2].detail, Catch::Contains("message of 5000 bytes exceeds the webhook's max payload of 1024 bytes"));
  CHECK(r[3].outcome == Outcome::kDelivered);
  CHECK(numbers_received(*receiver) == std::vector<long>{0, 3});
}

TEST_CASE("webhook sink: each request's answer applies to its messages, after a transient failure the rest waits",
          "[sinks][webhook]") {
  auto receiver = start_receiver();
  auto options = options_for(*receiver);
  options.max_payload_kb = 1;
  auto sink = webhook(options);
  const auto batch = messages(0, 8, 300);  // 3 a request: [0,1,2] [3,4,5] [6,7]

  receiver->set_sequence({Reply::answer(201), Reply::answer(400)}, Reply::answer(201));
  auto r = sink->deliver(batch);
  for (int i : {0, 1, 2, 6, 7}) CHECK(r[i].outcome == Outcome::kDelivered);
  for (int i : {3, 4, 5}) CHECK(r[i].outcome == Outcome::kFailed);
  CHECK(receiver->request_count() == 3);

  receiver->clear();
  receiver->set_sequence({Reply::answer(201), Reply::retry_after(503, "2")}, Reply::answer(201));
  r = sink->deliver(batch);
  for (int i : {0, 1, 2}) CHECK(r[i].outcome == Outcome::kDelivered);
  for (int i : {3, 4, 5, 6, 7}) {
    CHECK(r[i].outcome == Outcome::kRetry);
    CHECK(r[i].retry_after == std::optional<std::chrono::milliseconds>(std::chrono::seconds(2)));
  }
  CHECK(receiver->request_count() == 2);  // [6,7] was not sent after the 503
}

TEST_CASE("webhook sink: options that cannot work are the factory's error", "[sinks][webhook]") {
  sinks::WebhookOptions options;
  options.url = "ftp://127.0.0.1/x";
  CHECK_FALSE(sinks::make_webhook_sink("partner", options).ok());
  options.url = "http://[::1";
  CHECK_FALSE(sinks::make_webhook_sink("partner", options).ok());
  options.url = "http://127.0.0.1:1/webhook";
  REQUIRE(sinks::make_webhook_sink("partner", options).ok());
  auto bad = options;
  bad.max_message_count = 0;
  CHECK_FALSE(sinks::make_webhook_sink("partner", bad).ok());
  bad = options;
  bad.max_payload_kb = 0;
  CHECK_FALSE(sinks::make_webhook_sink("partner", bad).ok());
  bad = options;
  bad.headers = {{"X-Bad", "a\r\nInjected: yes"}};
  CHECK_FALSE(sinks::make_webhook_sink("partner", bad).ok());
  bad = options;
  bad.tls.ca_file = "/nonexistent/ca.pem";
  auto missing = sinks::make_webhook_sink("partner", bad);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/ca.pem"));
}
