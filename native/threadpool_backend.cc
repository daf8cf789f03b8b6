#include "threadpool_backend.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "errno_error.h"

namespace twinsan {
namespace {

using Transfer = ssize_t (*)(int, void*, size_t, off_t);

ssize_t writeAt(int fd, void* data, size_t lengthBytes, off_t offsetBytes) {
  return ::pwrite(fd, data, lengthBytes, offsetBytes);
}

// pwrite with per-call O_DSYNC: durable when it returns, like io_uring's RWF_DSYNC write.
ssize_t writeDsyncAt(int fd, void* data, size_t lengthBytes, off_t offsetBytes) {
  iovec vector{data, lengthBytes};
  return ::pwritev2(fd, &vector, 1, offsetBytes, RWF_DSYNC);
}

// Loops over short transfers like the kernel does for one io_uring request; stops at end of
// file (a read returning 0), so the result may still be short.
int32_t transferAll(Transfer transfer, const IoRequest& request) {
  uint32_t doneBytes = 0;
  while (doneBytes < request.lengthBytes) {
    ssize_t result = transfer(request.fd, request.data + doneBytes,
                              request.lengthBytes - doneBytes,
                              static_cast<off_t>(request.offsetBytes + doneBytes));
    if (result < 0 && errno == EINTR) continue;
    if (result < 0) return doneBytes > 0 ? static_cast<int32_t>(doneBytes) : -errno;
    if (result == 0) break;
    doneBytes += static_cast<uint32_t>(result);
  }
  return static_cast<int32_t>(doneBytes);
}

int32_t perform(const IoRequest& request) {
  switch (request.op) {
    case IoOp::kRead:
      return transferAll(::pread, request);
    case IoOp::kWrite:
      return transferAll(writeAt, request);
    case IoOp::kWriteDsync:
      return transferAll(writeDsyncAt, request);
    case IoOp::kFsync:
      return ::fsync(request.fd) == 0 ? 0 : -errno;
    case IoOp::kFdatasync:
      return ::fdatasync(request.fd) == 0 ? 0 : -errno;
    case IoOp::kNop:
      return 0;
  }
  return -EINVAL;
}

}  // namespace

ThreadPoolBackend::ThreadPoolBackend(uint32_t threadCount) {
  try {
    for (uint32_t i = 0; i < threadCount; i++) workers_.emplace_back([this] { runWorker(); });
  } catch (const std::system_error& error) {
    stopWorkers();  // the destructor does not run for a constructor that throws
    throw SystemCallError{"pthread_create", error.code().value()};
  }
}

ThreadPoolBackend::~ThreadPoolBackend() { stopWorkers(); }

void ThreadPoolBackend::stopWorkers() {
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    stopping_ = true;
  }
  queueReady_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPoolBackend::submit(const IoRequest* requests, size_t count) {
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    queue_.insert(queue_.end(), requests, requests + count);
  }
  if (count == 1) {
    queueReady_.notify_one();
  } else {
    queueReady_.notify_all();
  }
}

void ThreadPoolBackend::reap(std::vector<Completion>& completions) {
  std::lock_guard<std::mutex> lock(completedMutex_);
  completions.insert(completions.end(), completed_.begin(), completed_.end());
  completed_.clear();
}

void ThreadPoolBackend::waitForCompletions() {
  std::unique_lock<std::mutex> lock(completedMutex_);
  completedSignal_.wait(lock, [this] { return signaled_; });
  signaled_ = false;
}

void ThreadPoolBackend::wake() {
  {
    std::lock_guard<std::mutex> lock(completedMutex_);
    signaled_ = true;
  }
  completedSignal_.notify_one();
}

void ThreadPoolBackend::runWorker() {
  for (;;) {
    IoRequest request;
    {
      std::unique_lock<std::mutex> lock(queueMutex_);
      queueReady_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      request = queue_.front();
      queue_.pop_front();
    }
    Completion completion{request.id, perform(request)};
    {
      std::lock_guard<std::mutex> lock(completedMutex_);
      completed_.push_back(completion);
      signaled_ = true;
    }
    completedSignal_.notify_one();
  }
}

}  // namespace twinsan
