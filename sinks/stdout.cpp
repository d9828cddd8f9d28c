// The stdout sink: a JSON line a message (record.hpp), the stream flushed once a batch.
#include <ostream>

#include "flowguard/sinks/sinks.hpp"
#include "record.hpp"

namespace flowguard::sinks {
namespace {

class StdoutSink final : public Sink {
 public:
  StdoutSink(std::string name, std::ostream& out) : name_(std::move(name)), out_(out) {}
  const std::string& name() const override { return name_; }
  std::string_view kind() const override { return "stdout"; }
  std::size_t max_batch() const override { return 256; }

  std::vector<DeliveryResult> deliver(std::span<const Delivery> batch) override {
    std::string text;
    for (const Delivery& message : batch) {
      detail::append_record(text, message);
      text += '\n';
    }
    bool good = false;
    try {
      out_.clear();  // a failure seen on an earlier batch is retried, not remembered forever
      out_.write(text.data(), static_cast<std::streamsize>(text.size()));
      out_.flush();
      good = out_.good();
    } catch (...) {  // a stream set to throw: still a value here
      good = false;
    }
    std::vector<DeliveryResult> results(batch.size());
    for (DeliveryResult& r : results) {
      r.outcome = good ? Outcome::kDelivered : Outcome::kRetry;
      if (!good) r.detail = "the stdout sink " + name_ + " could not write to its stream.";
    }
    return results;
  }

 private:
  std::string name_;
  std::ostream& out_;
};

}  // namespace

Result<std::unique_ptr<Sink>> make_stdout_sink(std::string name, std::ostream& out) {
  return std::unique_ptr<Sink>(new StdoutSink(std::move(name), out));
}

}  // namespace flowguard::sinks
