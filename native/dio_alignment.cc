#include "dio_alignment.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "errno_error.h"
#include "js_args.h"

namespace twinsan {
namespace {

constexpr uint32_t kSafeAlignmentBytes = 4096;

struct DioAlignment {
  uint32_t offsetBytes = 0;  // file offsets and lengths
  uint32_t memoryBytes = 0;  // buffer addresses
  const char* source = "";
};

uint32_t readSysfsNumber(const std::string& path) {
  std::ifstream file(path);
  uint32_t value = 0;
  return file >> value ? value : 0;
}

// The logical block size of the block device holding a regular file; for a partition the
// queue directory belongs to its parent disk.
uint32_t logicalBlockOfDevice(dev_t device) {
  std::string base = "/sys/dev/block/" + std::to_string(major(device)) + ":" +
                     std::to_string(minor(device));
  uint32_t bytes = readSysfsNumber(base + "/queue/logical_block_size");
  return bytes != 0 ? bytes : readSysfsNumber(base + "/../queue/logical_block_size");
}

// statx STATX_DIOALIGN (Linux 6.1+, answered by ext4, xfs, btrfs, f2fs and block devices) is
// the file system's own answer. Without it: BLKSSZGET for a block device, the backing disk's
// logical block size from sysfs for a file, and 4096 (right for every disk) when all fail.
DioAlignment queryAlignment(int fd, Napi::Env env) {
  DioAlignment result;
  struct statx status {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN | STATX_TYPE, &status) == 0 &&
      (status.stx_mask & STATX_DIOALIGN) != 0 && status.stx_dio_offset_align != 0) {
    result.offsetBytes = status.stx_dio_offset_align;
    result.memoryBytes = status.stx_dio_mem_align;
    result.source = "statx";
    return result;
  }
  struct stat plain {};
  if (::fstat(fd, &plain) != 0) throw errnoError(env, "fstat", errno, "fd " + std::to_string(fd));
  if (S_ISBLK(plain.st_mode)) {
    int sectorBytes = 0;
    if (::ioctl(fd, BLKSSZGET, &sectorBytes) == 0 && sectorBytes > 0) {
      result.offsetBytes = result.memoryBytes = static_cast<uint32_t>(sectorBytes);
      result.source = "BLKSSZGET";
      return result;
    }
  } else if (uint32_t bytes = logicalBlockOfDevice(plain.st_dev); bytes != 0) {
    result.offsetBytes = result.memoryBytes = bytes;
    result.source = "sysfs";
    return result;
  }
  result.offsetBytes = result.memoryBytes = kSafeAlignmentBytes;
  result.source = "default";
  return result;
}

// directIoAlignment(fd) -> {offsetBytes, memoryBytes, source}
Napi::Value directIoAlignment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DioAlignment alignment = queryAlignment(requireFd(info[0]), env);
  Napi::Object result = Napi::Object::New(env);
  result.Set("offsetBytes", alignment.offsetBytes);
  result.Set("memoryBytes", alignment.memoryBytes);
  result.Set("source", alignment.source);
  return result;
}

}  // namespace

void registerDioAlignmentFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("directIoAlignment",
              Napi::Function::New(env, directIoAlignment, "directIoAlignment"));
}

}  // namespace twinsan
