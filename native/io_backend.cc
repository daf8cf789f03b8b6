#include "io_backend.h"

#include <cerrno>
#include <fstream>

#include "errno_error.h"
#include "threadpool_backend.h"
#include "uring_backend.h"

namespace twinsan {
namespace {

// Empty when io_uring may be tried; otherwise why it must not be.
std::string reasonToAvoidIoUring(const IoBackendOptions& options) {
  if (!options.ioUring) return "io_uring turned off by the caller (ioUring: false)";
  std::ifstream disabledFile("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (disabledFile >> disabled && disabled != 0) {
    return "/proc/sys/kernel/io_uring_disabled is " + std::to_string(disabled);
  }
  return "";
}

OpenedIoBackend openThreadPool(const IoBackendOptions& options, std::string reason) {
  return {std::make_unique<ThreadPoolBackend>(options.threadCount), "threadpool",
          std::move(reason)};
}

}  // namespace

OpenedIoBackend openIoBackend(const IoBackendOptions& options) {
  std::string reason = reasonToAvoidIoUring(options);
  if (!reason.empty()) return openThreadPool(options, reason);
  try {
    return {UringBackend::open(options), "io_uring", ""};
  } catch (const SystemCallError& error) {
    bool unavailable = error.syscall == "io_uring_setup" &&
                       (error.errnum == ENOSYS || error.errnum == EPERM);
    if (!unavailable) throw;
    return openThreadPool(options, "io_uring_setup failed with " + errnoName(error.errnum));
  }
}

}  // namespace twinsan
