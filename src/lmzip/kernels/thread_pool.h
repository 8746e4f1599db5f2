// A fixed pool of worker threads and one parallel-for.
//
// The calling thread takes part in the work, so ThreadPool(1) runs everything inline with no extra thread.
// parallel_for splits [0, n) into contiguous chunks, one per thread (chunk i of size n/size() rounded), so the
// assignment of items to threads is a pure function of (n, size()). A pool runs one parallel_for at a time:
// it is not reentrant and must not be shared by concurrent callers (give each concurrent caller its own pool).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lmzip {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: all hardware threads
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n), at most one chunk per thread; returns when all are
  // done. An exception thrown by fn is rethrown here (the first one).
  void parallel_for(size_t n, const std::function<void(size_t begin, size_t end)>& fn);

  // Calls fn(item) for each item in [0, n), items handed out dynamically (one at a time) to whichever thread is
  // free: for uneven work items. fn must not depend on which thread runs it.
  void parallel_items(size_t n, const std::function<void(size_t item)>& fn);

  static int hardware_threads();

 private:
  void worker_loop(int index);
  void run_on_all(const std::function<void(int thread_index)>& task);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* task_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace lmzip
