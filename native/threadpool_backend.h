// IoBackend for machines without io_uring: worker threads doing pread/pwrite/fsync/fdatasync.
// The Ring sees the same batched completions as with io_uring.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "io_backend.h"

namespace twinsan {

class ThreadPoolBackend final : public IoBackend {
 public:
  explicit ThreadPoolBackend(uint32_t threadCount);  // throws SystemCallError
  ~ThreadPoolBackend() override;  // workers finish the queued requests, then are joined
  ThreadPoolBackend(const ThreadPoolBackend&) = delete;
  ThreadPoolBackend& operator=(const ThreadPoolBackend&) = delete;

  void submit(const IoRequest* requests, size_t count) override;
  void reap(std::vector<Completion>& completions) override;
  void waitForCompletions() override;
  void wake() override;
  bool registeredSlabs() const override { return false; }

 private:
  void runWorker();
  void stopWorkers();

  std::mutex queueMutex_;
  std::condition_variable queueReady_;
  std::deque<IoRequest> queue_;
  bool stopping_ = false;

  std::mutex completedMutex_;
  std::condition_variable completedSignal_;
  std::vector<Completion> completed_;
  bool signaled_ = false;  // a completion or wake() since waitForCompletions last returned

  std::vector<std::thread> workers_;
};

}  // namespace twinsan
