#include "errno_error.h"

#include <cstring>

namespace twinsan {

std::string errnoName(int errnum) {
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? name : "errno " + std::to_string(errnum);
}

Napi::Error errnoError(Napi::Env env, const std::string& syscall, int errnum,
                       const std::string& subject, const std::string& hint) {
  std::string message = syscall + " " + subject + ": " + std::strerror(errnum) + " (" +
                        errnoName(errnum) + ")";
  if (!hint.empty()) message += "; " + hint;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", errnoName(errnum));
  error.Set("errno", Napi::Number::New(env, errnum));
  error.Set("syscall", syscall);
  return error;
}

}  // namespace twinsan
