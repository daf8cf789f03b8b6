// The two ways requests reach the disk: io_uring, or a thread pool where io_uring is absent.
// The JS thread submits and reaps; the Ring's completion thread only sleeps in
// waitForCompletions() and then asks the JS thread to reap, so all ring bookkeeping stays on
// one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io_request.h"

namespace twinsan {

class IoBackend {
 public:
  virtual ~IoBackend() = default;
  // JS thread. Starts every request (one io_uring_enter for the whole batch); throws
  // SystemCallError.
  virtual void submit(const IoRequest* requests, size_t count) = 0;
  // JS thread. Appends every completion ready now; throws SystemCallError.
  virtual void reap(std::vector<Completion>& completions) = 0;
  // Completion thread. Returns once completions have become ready to reap since it last
  // returned (rarely with none: a spurious return is harmless), or after wake().
  virtual void waitForCompletions() = 0;
  // Any thread. Makes the current or next waitForCompletions() return.
  virtual void wake() = 0;
  // Whether requests inside the slab region may carry a fixedBufferIndex.
  virtual bool registeredSlabs() const = 0;
};

struct IoBackendOptions {
  uint32_t entries;  // submission queue size; also the most requests in flight
  uint8_t* slabBase;
  size_t slabCount;
  uint32_t threadCount;  // thread pool only
  bool ioUring;  // false forces the thread pool (the JS layer maps TWINSAN_NO_IO_URING=1 here)
};

struct OpenedIoBackend {
  std::unique_ptr<IoBackend> backend;
  std::string name;  // "io_uring" or "threadpool"
  std::string fallbackReason;  // why not io_uring; empty for io_uring
};

// io_uring unless options.ioUring is false, /proc/sys/kernel/io_uring_disabled != 0, or
// io_uring_setup fails with ENOSYS or EPERM. Other setup failures throw SystemCallError.
OpenedIoBackend openIoBackend(const IoBackendOptions& options);

}  // namespace twinsan
