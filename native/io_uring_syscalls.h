// The three io_uring system calls, called directly over the kernel's UAPI header so that the
// build needs nothing beyond linux-libc-dev (no liburing).
#pragma once

#include <linux/io_uring.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace twinsan {

// Each returns what the kernel returned, -1 with errno set on failure.
inline int ioUringSetup(unsigned entries, io_uring_params* params) {
  return static_cast<int>(::syscall(SYS_io_uring_setup, entries, params));
}

inline int ioUringEnter(int ringFd, unsigned toSubmit, unsigned minComplete, unsigned flags) {
  return static_cast<int>(
      ::syscall(SYS_io_uring_enter, ringFd, toSubmit, minComplete, flags, nullptr, _NSIG / 8));
}

// IORING_ENTER_EXT_ARG: `args` replaces the signal mask (timeout, signal mask).
inline int ioUringEnterWithArgs(int ringFd, unsigned toSubmit, unsigned minComplete,
                                unsigned flags, const io_uring_getevents_arg& args) {
  return static_cast<int>(::syscall(SYS_io_uring_enter, ringFd, toSubmit, minComplete,
                                    flags | IORING_ENTER_EXT_ARG, &args, sizeof(args)));
}

inline int ioUringRegister(int ringFd, unsigned opcode, const void* arg, unsigned count) {
  return static_cast<int>(::syscall(SYS_io_uring_register, ringFd, opcode, arg, count));
}

}  // namespace twinsan
