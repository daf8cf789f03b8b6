#include "image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errno_error.h"
#include "js_args.h"

namespace twinsan {
namespace {

constexpr uint64_t kMaxSafeInteger = (1ULL << 53) - 1;
constexpr mode_t kImageFileMode = 0644;

std::string fdSubject(int fd) { return "fd " + std::to_string(fd); }

// O_CREAT|O_EXCL first so that only a file this call created is sized: an existing image is
// never truncated or extended here (the JS layer compares its size with the configuration).
int openOrCreate(const std::string& path, int flags, bool create, uint64_t sizeBytes,
                 Napi::Env env) {
  if (create) {
    int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, kImageFileMode);
    if (fd >= 0) {
      if (::ftruncate(fd, static_cast<off_t>(sizeBytes)) != 0) {
        int errnum = errno;
        ::close(fd);
        throw errnoError(env, "ftruncate", errnum, path);
      }
      return fd;
    }
    if (errno != EEXIST) return -1;
  }
  return ::open(path.c_str(), flags);
}

// openImage(path, {direct, create, sizeBytes}) -> fd
Napi::Value openImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Object options = requireObject(info[1], "options");
  bool direct = optionalBool(options, "direct", true);
  bool create = optionalBool(options, "create", false);
  uint64_t sizeBytes = optionalUint(options, "sizeBytes", 0, kMaxSafeInteger);
  if (create && sizeBytes == 0) {
    throw Napi::RangeError::New(env, "sizeBytes must be positive when create is true");
  }

  int flags = O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0);
  int fd = openOrCreate(path, flags, create, sizeBytes, env);
  if (fd < 0) {
    int errnum = errno;
    // EINVAL from open with O_DIRECT means the file system refuses direct I/O (e.g. tmpfs
    // before Linux 6.6); the caller decides whether buffered I/O is acceptable.
    std::string hint = direct && errnum == EINVAL
                           ? "the file system refuses O_DIRECT; open with direct: false to use "
                             "buffered I/O"
                           : "";
    throw errnoError(env, "open", errnum, path, hint);
  }
  return Napi::Number::New(env, fd);
}

void allocate(const Napi::CallbackInfo& info, int mode, const char* syscall) {
  int fd = requireFd(info[0]);
  uint64_t offsetBytes = requireUint(info[1], "offset", kMaxSafeInteger);
  uint64_t lengthBytes = requireUint(info[2], "length", kMaxSafeInteger);
  if (lengthBytes == 0) throw Napi::RangeError::New(info.Env(), "length must be positive");
  if (::fallocate(fd, mode, static_cast<off_t>(offsetBytes), static_cast<off_t>(lengthBytes)) !=
      0) {
    throw errnoError(info.Env(), syscall, errno, fdSubject(fd));
  }
}

// fallocate(fd, offset, length): allocates the range so later writes cannot fail for space.
void fallocateRange(const Napi::CallbackInfo& info) { allocate(info, 0, "fallocate"); }

// punchHole(fd, offset, length): frees the range's blocks; it reads back as zeros.
void punchHole(const Napi::CallbackInfo& info) {
  allocate(info, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "fallocate(PUNCH_HOLE)");
}

void closeFd(const Napi::CallbackInfo& info) {
  int fd = requireFd(info[0]);
  // No retry on EINTR: on Linux the fd is released even then, and a retry could close a
  // descriptor another thread has just been given.
  if (::close(fd) != 0 && errno != EINTR) {
    throw errnoError(info.Env(), "close", errno, fdSubject(fd));
  }
}

Napi::Value fileSize(const Napi::CallbackInfo& info) {
  int fd = requireFd(info[0]);
  struct stat status {};
  if (::fstat(fd, &status) != 0) throw errnoError(info.Env(), "fstat", errno, fdSubject(fd));
  return Napi::Number::New(info.Env(), static_cast<double>(status.st_size));
}

}  // namespace

void registerImageFileFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("openImage", Napi::Function::New(env, openImage, "openImage"));
  exports.Set("fallocate", Napi::Function::New(env, fallocateRange, "fallocate"));
  exports.Set("punchHole", Napi::Function::New(env, punchHole, "punchHole"));
  exports.Set("close", Napi::Function::New(env, closeFd, "close"));
  exports.Set("fileSize", Napi::Function::New(env, fileSize, "fileSize"));
}

}  // namespace twinsan
