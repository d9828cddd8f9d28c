// The checks with a CheckRequest: per-call settings, the reference window bound as fg.state, and
// nothing thrown out of a request (a server's worker must not be taken down by one).
#include <exception>
#include <fstream>
#include <mutex>
#include <unordered_set>

#include "engine_impl.hpp"
#include "files.hpp"
#include "stream_check.hpp"

namespace flowguard {
namespace fs = std::filesystem;

namespace {

// A request's window, as the rules see it (fg.state): references of documents accepted earlier,
// within the window, and those of this document, staged until the engine knows it is accepted.
// The staged set also answers for a stream's later chunks (one document, checked a chunk at a time).
// Generic over what a "reference" is: the rules decide which values they ask about and stage.
class WindowState final : public lua::CallState {
 public:
  WindowState(ReferenceWindow& window, std::int64_t now) : window_(window), now_(now) {}

  std::optional<std::string> reference_seen(std::string_view reference) override {
    {
      std::lock_guard lock(m_);  // record rules on the workers may call it too
      if (staged_.find(reference) != staged_.end()) return std::string("already used by a message earlier in this document");
    }
    const auto first = window_.find(reference, now_);
    if (!first) return std::nullopt;
    return "already used by a message accepted " + std::to_string(std::max<std::int64_t>(0, now_ - *first)) +
           " s ago (within the " + std::to_string(window_.limits().window_seconds) + " s window)";
  }

  void remember_reference(std::string_view reference) override {
    std::lock_guard lock(m_);
    if (staged_.find(reference) == staged_.end()) {
      staged_.emplace(reference);
      order_.emplace_back(reference);
    }
  }

  // The document was accepted: its references go into the window (in the order the rules staged them).
  void commit() {
    for (const auto& reference : order_) window_.insert(reference, now_);
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  ReferenceWindow& window_;
  const std::int64_t now_;
  std::mutex m_;
  std::unordered_set<std::string, Hash, std::equal_to<>> staged_;
  std::vector<std::string> order_;
};

}  // namespace

// Anything thrown becomes the report's input_error (kInternal).
template <class Check>
FileReport Engine::Impl::with_request(const CheckRequest& request, std::string_view source_name, Check&& check) {
  const auto t_start = engine::Clock::now();
  auto failed = [&](Error error) {
    FileReport report;
    report.path = std::string(source_name);
    report.input_error = std::move(error);
    report.times.total = engine::ms_since(t_start);
    return report;
  };
  try {
    std::int64_t now = 0;
    auto call = calls.for_request(request, now);
    if (!call) return failed(std::move(call).error());
    std::optional<WindowState> window;
    if (request.references) {
      window.emplace(*request.references, now);
      call->state = &*window;
    }
    FileReport report = check(*call, t_start);
    if (window && !report.input_error && report.errors == 0) window->commit();
    return report;
  } catch (const std::exception& e) {
    return failed(make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
  } catch (...) {
    return failed(make_error(ErrorCode::kInternal, "internal error"));
  }
}

FileReport Engine::check(const PaddedBytes& bytes, std::string_view source_name, std::string_view type_hint,
                         const CheckRequest& request) {
  return impl_->with_request(request, source_name, [&](const engine::Call& call, engine::Clock::time_point t_start) {
    return impl_->check(bytes.view(), &bytes, source_name, type_hint, t_start, call);
  });
}

FileReport Engine::check(std::string_view bytes, std::string_view source_name, std::string_view type_hint,
                         const CheckRequest& request) {
  return impl_->with_request(request, source_name, [&](const engine::Call& call, engine::Clock::time_point t_start) {
    return impl_->check(bytes, nullptr, source_name, type_hint, t_start, call);
  });
}

FileReport Engine::check_stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson,
                                const CheckRequest& request) {
  return impl_->with_request(request, source_name, [&](const engine::Call& call, engine::Clock::time_point) {
    return engine::check_stream(*impl_->pipeline, in, source_name, type_hint, ndjson, call);
  });
}

FileReport Engine::check_file(const fs::path& file, std::string_view type_hint, const CheckRequest& request) {
  return check_file_as(
      file, [&](std::istream& in, bool ndjson) { return check_stream(in, file.string(), type_hint, ndjson, request); },
      [&](const PaddedBytes& bytes) { return check(bytes, file.string(), type_hint, request); });
}

}  // namespace flowguard
