#include "uring_backend.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "errno_error.h"
#include "io_uring_syscalls.h"

namespace twinsan {
namespace {

template <typename T>
T* at(void* base, unsigned offsetBytes) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + offsetBytes);
}

void* mapRegion(int ringFd, size_t sizeBytes, off_t offset) {
  void* address =
      ::mmap(nullptr, sizeBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringFd, offset);
  if (address == MAP_FAILED) throw SystemCallError{"mmap(io_uring)", errno};
  return address;
}

// Failures with no JS caller to report to (completion thread, wake from a finalizer) are
// broken invariants: an eventfd read or write cannot fail otherwise.
[[noreturn]] void abortOnBrokenInvariant(const char* syscall, int errnum) {
  std::fprintf(stderr, "twinsan native: %s failed: %s\n", syscall, errnoName(errnum).c_str());
  std::abort();
}

constexpr unsigned kDeferredTaskRunFlags =
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;

uint8_t sqeOpcode(const IoRequest& request) {
  bool fixed = request.fixedBufferIndex >= 0;
  switch (request.op) {
    case IoOp::kRead:
      return fixed ? IORING_OP_READ_FIXED : IORING_OP_READ;
    case IoOp::kWrite:
    case IoOp::kWriteDsync:
      return fixed ? IORING_OP_WRITE_FIXED : IORING_OP_WRITE;
    case IoOp::kFsync:
    case IoOp::kFdatasync:
      return IORING_OP_FSYNC;
    case IoOp::kNop:
      return IORING_OP_NOP;
  }
  std::abort();  // the Ring validated op
}

}  // namespace

std::unique_ptr<UringBackend> UringBackend::open(const IoBackendOptions& options) {
  io_uring_params params{};
  params.flags = kDeferredTaskRunFlags;
  int ringFd = ioUringSetup(options.entries, &params);
  if (ringFd < 0 && errno == EINVAL) {  // before Linux 6.1
    params = io_uring_params{};
    ringFd = ioUringSetup(options.entries, &params);
  }
  if (ringFd < 0) throw SystemCallError{"io_uring_setup", errno};
  std::unique_ptr<UringBackend> backend(new UringBackend());
  backend->ringFd_ = ringFd;  // owned from here: the destructor closes it on any throw below
  backend->deferTaskrun_ = (params.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  backend->mapRings(params);
  backend->registerEventFd();
  backend->registerSlabs(options);
  return backend;
}

UringBackend::~UringBackend() {
  for (Mapping* mapping : {&sqes_, &cqRing_, &sqRing_}) {
    if (mapping->address != nullptr) ::munmap(mapping->address, mapping->sizeBytes);
  }
  if (ringFd_ >= 0) ::close(ringFd_);
  if (eventFd_ >= 0) ::close(eventFd_);
}

void UringBackend::registerEventFd() {
  eventFd_ = ::eventfd(0, EFD_CLOEXEC);
  if (eventFd_ < 0) throw SystemCallError{"eventfd", errno};
  if (ioUringRegister(ringFd_, IORING_REGISTER_EVENTFD, &eventFd_, 1) != 0) {
    throw SystemCallError{"io_uring_register(EVENTFD)", errno};
  }
}

void UringBackend::mapRings(const io_uring_params& params) {
  sqRing_.sizeBytes = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  sqRing_.address = mapRegion(ringFd_, sqRing_.sizeBytes, IORING_OFF_SQ_RING);
  cqRing_.sizeBytes = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
  cqRing_.address = mapRegion(ringFd_, cqRing_.sizeBytes, IORING_OFF_CQ_RING);
  sqes_.sizeBytes = params.sq_entries * sizeof(io_uring_sqe);
  sqes_.address = mapRegion(ringFd_, sqes_.sizeBytes, IORING_OFF_SQES);

  sqFlags_ = at<unsigned>(sqRing_.address, params.sq_off.flags);
  sqHead_ = at<unsigned>(sqRing_.address, params.sq_off.head);
  sqTail_ = at<unsigned>(sqRing_.address, params.sq_off.tail);
  sqMask_ = *at<unsigned>(sqRing_.address, params.sq_off.ring_mask);
  sqEntries_ = params.sq_entries;
  sqTailLocal_ = *sqTail_;
  sqeArray_ = static_cast<io_uring_sqe*>(sqes_.address);
  // Slot i of the indirection array always names sqe i: entries are filled in ring order.
  unsigned* sqIndexArray = at<unsigned>(sqRing_.address, params.sq_off.array);
  for (unsigned i = 0; i < sqEntries_; i++) sqIndexArray[i] = i;

  cqHead_ = at<unsigned>(cqRing_.address, params.cq_off.head);
  cqTail_ = at<unsigned>(cqRing_.address, params.cq_off.tail);
  cqMask_ = *at<unsigned>(cqRing_.address, params.cq_off.ring_mask);
  cqeArray_ = at<io_uring_cqe>(cqRing_.address, params.cq_off.cqes);
}

// Fixed buffers save the kernel pinning and mapping user pages on every request. If the kernel
// refuses (e.g. RLIMIT_MEMLOCK on old kernels) slabs still work as plain buffers.
void UringBackend::registerSlabs(const IoBackendOptions& options) {
  if (options.slabCount == 0) return;
  std::vector<iovec> slabs(options.slabCount);
  for (size_t i = 0; i < options.slabCount; i++) {
    slabs[i] = {options.slabBase + i * kSlabSizeBytes, kSlabSizeBytes};
  }
  registeredSlabs_ = ioUringRegister(ringFd_, IORING_REGISTER_BUFFERS, slabs.data(),
                                     static_cast<unsigned>(slabs.size())) == 0;
}

void UringBackend::fillSqe(io_uring_sqe& sqe, const IoRequest& request) const {
  std::memset(&sqe, 0, sizeof(sqe));
  sqe.opcode = sqeOpcode(request);
  sqe.fd = request.op == IoOp::kNop ? -1 : request.fd;
  sqe.off = request.offsetBytes;
  sqe.addr = reinterpret_cast<uint64_t>(request.data);
  sqe.len = request.lengthBytes;
  sqe.user_data = request.id;
  if (request.fixedBufferIndex >= 0) {
    sqe.buf_index = static_cast<uint16_t>(request.fixedBufferIndex);
  }
  if (request.op == IoOp::kFdatasync) sqe.fsync_flags = IORING_FSYNC_DATASYNC;
  // Per-request O_DSYNC (Linux 4.7+ for pwritev2, io_uring from the start): the data and the
  // metadata needed to read it back are durable when the request completes, saving the
  // separate fdatasync a FUA write would otherwise need.
  if (request.op == IoOp::kWriteDsync) sqe.rw_flags = RWF_DSYNC;
  // Writes and syncs can block inside io_uring_enter (ext4 converting unwritten extents, journal
  // waits), and io_uring_enter runs on the JS thread: hand them to io_uring's workers instead.
  if (request.op != IoOp::kRead && request.op != IoOp::kNop) sqe.flags |= IOSQE_ASYNC;
}

void UringBackend::submit(const IoRequest* requests, size_t count) {
  size_t queuedCount = 0;
  while (queuedCount < count) {
    unsigned head = __atomic_load_n(sqHead_, __ATOMIC_ACQUIRE);
    size_t freeCount = sqEntries_ - (sqTailLocal_ - head);
    size_t fillCount = std::min(freeCount, count - queuedCount);
    for (size_t i = 0; i < fillCount; i++) {
      fillSqe(sqeArray_[sqTailLocal_ & sqMask_], requests[queuedCount + i]);
      sqTailLocal_++;
    }
    // Publishes the filled entries before the kernel can see the new tail.
    __atomic_store_n(sqTail_, sqTailLocal_, __ATOMIC_RELEASE);
    queuedCount += fillCount;
    enterUntilConsumed();
  }
}

// One io_uring_enter normally consumes every queued entry; it consumes fewer only when the
// kernel is short of memory (EAGAIN) or completions (EBUSY), which in-flight requests relieve.
void UringBackend::enterUntilConsumed() {
  for (;;) {
    unsigned pendingCount = sqTailLocal_ - __atomic_load_n(sqHead_, __ATOMIC_ACQUIRE);
    if (pendingCount == 0) return;
    if (ioUringEnter(ringFd_, pendingCount, 0, 0) >= 0) continue;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EBUSY) {
      sched_yield();
      continue;
    }
    throw SystemCallError{"io_uring_enter", errno};
  }
}

// With deferred task run, completed requests post their CQEs only inside GETEVENTS, which runs
// at most max(20, minComplete) of them per call (Linux 6.13+) and signals the eventfd again only
// for new ones. Asking for sqEntries_ (more than can be in flight) with a zero timeout runs them
// all in one call, which then ends with ETIME instead of waiting.
void UringBackend::runDeferredCompletions() {
  __kernel_timespec noWait{};
  io_uring_getevents_arg args{};
  args.ts = reinterpret_cast<uint64_t>(&noWait);
  while (ioUringEnterWithArgs(ringFd_, 0, sqEntries_, IORING_ENTER_GETEVENTS, args) < 0) {
    if (errno == ETIME) return;
    if (errno != EINTR) throw SystemCallError{"io_uring_enter(GETEVENTS)", errno};
  }
}

void UringBackend::reap(std::vector<Completion>& completions) {
  if (deferTaskrun_ && (__atomic_load_n(sqFlags_, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN)) {
    runDeferredCompletions();
  }
  unsigned head = *cqHead_;  // only this thread moves the head
  unsigned tail = __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE);
  for (; head != tail; head++) {
    const io_uring_cqe& cqe = cqeArray_[head & cqMask_];
    completions.push_back({static_cast<uint32_t>(cqe.user_data), cqe.res});
  }
  // Hands the slots back to the kernel only after they have been read.
  __atomic_store_n(cqHead_, head, __ATOMIC_RELEASE);
}

bool UringBackend::completionsPending() const {
  bool taskRunPending = (__atomic_load_n(sqFlags_, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN) != 0;
  return taskRunPending ||
         __atomic_load_n(cqHead_, __ATOMIC_ACQUIRE) != __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE);
}

// The eventfd also fires when the JS thread's own GETEVENTS posts CQEs it then reaps at once;
// those wake-ups find nothing pending and are not passed on.
void UringBackend::waitForCompletions() {
  for (;;) {
    uint64_t signalCount = 0;
    if (::read(eventFd_, &signalCount, sizeof(signalCount)) < 0) {
      if (errno == EINTR) continue;
      abortOnBrokenInvariant("read(eventfd)", errno);
    }
    if (wakeRequested_.exchange(false) || completionsPending()) return;
  }
}

void UringBackend::wake() {
  wakeRequested_.store(true);
  uint64_t one = 1;
  if (::write(eventFd_, &one, sizeof(one)) < 0) abortOnBrokenInvariant("write(eventfd)", errno);
}

}  // namespace twinsan
