// Turning a failed system call into a JS Error that names the call, the errno name and the
// subject (a path or an fd), with `code`, `errno` and `syscall` properties like Node's errors.
#pragma once

#include <napi.h>

#include <string>

namespace twinsan {

// Thrown by code that runs without a Napi::Env (backends); converted at the JS boundary.
struct SystemCallError {
  std::string syscall;
  int errnum;
};

// "EINVAL" for 22; "errno 1234" for a number the C library does not name.
std::string errnoName(int errnum);

Napi::Error errnoError(Napi::Env env, const std::string& syscall, int errnum,
                       const std::string& subject, const std::string& hint = "");

}  // namespace twinsan
