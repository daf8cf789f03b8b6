// IoBackend over one io_uring instance, set up by hand: the submission and completion rings are
// shared memory with the kernel, so each index is published with a release store and read with
// an acquire load (the ordering liburing's io_uring_smp_* macros give).
//
// The JS thread is the ring's only submitter and reaper (SINGLE_ISSUER | DEFER_TASKRUN, from
// Linux 6.1): completions then never interrupt it with task work; the kernel queues the work
// and signals a registered eventfd, the completion thread wakes on it and asks the JS thread to
// reap, and the JS thread's io_uring_enter(GETEVENTS) runs the work and posts the CQEs. Older
// kernels get a plain ring and the same eventfd.
#pragma once

#include <linux/io_uring.h>

#include <atomic>
#include <memory>

#include "io_backend.h"

namespace twinsan {

class UringBackend final : public IoBackend {
 public:
  // Throws SystemCallError; syscall "io_uring_setup" tells the caller io_uring is unusable.
  static std::unique_ptr<UringBackend> open(const IoBackendOptions& options);
  ~UringBackend() override;
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  void submit(const IoRequest* requests, size_t count) override;
  void reap(std::vector<Completion>& completions) override;
  void waitForCompletions() override;
  void wake() override;
  bool registeredSlabs() const override { return registeredSlabs_; }

 private:
  struct Mapping {
    void* address = nullptr;
    size_t sizeBytes = 0;
  };

  UringBackend() = default;
  void mapRings(const io_uring_params& params);
  void registerEventFd();
  void registerSlabs(const IoBackendOptions& options);
  void fillSqe(io_uring_sqe& sqe, const IoRequest& request) const;
  void enterUntilConsumed();
  void runDeferredCompletions();
  bool completionsPending() const;

  int ringFd_ = -1;
  int eventFd_ = -1;  // signalled by the kernel when completions need reaping, and by wake()
  std::atomic<bool> wakeRequested_{false};
  bool deferTaskrun_ = false;
  Mapping sqRing_;
  Mapping cqRing_;
  Mapping sqes_;
  bool registeredSlabs_ = false;

  // Submission queue: written by the JS thread only.
  unsigned* sqFlags_ = nullptr;  // IORING_SQ_TASKRUN: completions wait for GETEVENTS
  unsigned* sqHead_ = nullptr;  // advanced by the kernel as it consumes entries
  unsigned* sqTail_ = nullptr;
  unsigned sqMask_ = 0;
  unsigned sqEntries_ = 0;
  unsigned sqTailLocal_ = 0;
  io_uring_sqe* sqeArray_ = nullptr;

  // Completion queue: reaped by the JS thread.
  unsigned* cqHead_ = nullptr;
  unsigned* cqTail_ = nullptr;  // advanced by the kernel as it posts completions
  unsigned cqMask_ = 0;
  io_uring_cqe* cqeArray_ = nullptr;
};

}  // namespace twinsan
