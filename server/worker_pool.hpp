// A fixed pool of worker threads with a bounded queue. Each worker has an index, so it can use
// the engine it owns in the current generation (an Engine is single-threaded by contract).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flowguard::server {

class WorkerPool {
 public:
  using Job = std::function<void(unsigned worker)>;

  WorkerPool(unsigned workers, std::size_t capacity) : capacity_(capacity) {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { run(i); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full: the caller answers "overloaded" instead of waiting.
  bool try_submit(Job job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
  }

  // Finishes the queued jobs, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && threads_.empty()) return;
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

  unsigned size() const noexcept { return static_cast<unsigned>(threads_.size()); }

 private:
  void run(unsigned worker) {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to do
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job(worker);
    }
  }

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flowguard::server
