// What travels from the JS thread to a backend (IoRequest) and back (Completion).
#pragma once

#include <cstddef>
#include <cstdint>

namespace twinsan {

// Numbering shared with JS through the addon's `IoOp` export; kNop is internal (Ring.close).
// kWriteDsync is a write that is durable when it completes (RWF_DSYNC: one request for FUA).
enum class IoOp : uint8_t {
  kRead = 0,
  kWrite = 1,
  kFsync = 2,
  kFdatasync = 3,
  kWriteDsync = 4,
  kNop = 5,
};

// O_DIRECT's strictest common requirement: offsets, lengths and buffer addresses in multiples
// of the logical block; 512 covers both 512 and 4096 byte LUNs on 512e disks.
constexpr size_t kDirectIoAlignmentBytes = 512;

// The slab pool: fixed-size, page-aligned buffers registered with io_uring.
constexpr size_t kSlabSizeBytes = 64 * 1024;
constexpr size_t kSlabAlignmentBytes = 4096;

struct IoRequest {
  IoOp op;
  int fd;
  uint64_t offsetBytes;
  uint8_t* data;  // null for fsync, fdatasync and nop
  uint32_t lengthBytes;
  uint32_t id;  // the JS slot id; returned in the Completion
  int32_t fixedBufferIndex;  // the registered slab holding data, or -1
};

struct Completion {
  uint32_t id;
  int32_t result;  // bytes transferred, 0, or -errno
};

}  // namespace twinsan
