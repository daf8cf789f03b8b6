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

// Sizes a file this call has just created: sparse (ftruncate) or with every block allocated
// (fallocate: unwritten extents, which read as zeros without writing them). On failure the new
// file is removed, so a retry does not find a half-made image.
void sizeNewFile(int fd, const std::string& path, uint64_t sizeBytes, bool allocate,
                 Napi::Env env) {
  int result = allocate ? ::fallocate(fd, 0, 0, static_cast<off_t>(sizeBytes))
                        : ::ftruncate(fd, static_cast<off_t>(sizeBytes));
  if (result == 0) return;
  int errnum = errno;
  ::close(fd);
  ::unlink(path.c_str());
  throw errnoError(env, allocate ? "fallocate" : "ftruncate", errnum, path);
}

// O_CREAT|O_EXCL first so that only a file this call created is sized: an existing image is
// never truncated or extended here (the JS layer compares its size with the configuration).
// A new file is created without O_DIRECT, sized, and only then switched to O_DIRECT with
// F_SETFL: a file system refusing O_DIRECT (EINVAL) then leaves a complete image behind, which
// a retry with direct: false opens, instead of an empty file that open(O_DIRECT) created and
// then refused.
int openOrCreate(const std::string& path, int flags, bool create, uint64_t sizeBytes,
                 bool allocate, Napi::Env env) {
  if (create) {
    int fd = ::open(path.c_str(), (flags & ~O_DIRECT) | O_CREAT | O_EXCL, kImageFileMode);
    if (fd >= 0) {
      sizeNewFile(fd, path, sizeBytes, allocate, env);
      if ((flags & O_DIRECT) != 0 &&
          ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_DIRECT) != 0) {
        int errnum = errno;
        ::close(fd);
        errno = errnum;
        return -1;
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
  bool allocate = optionalBool(options, "allocate", false);
  uint64_t sizeBytes = optionalUint(options, "sizeBytes", 0, kMaxSafeInteger);
  if (create && sizeBytes == 0) {
    throw Napi::RangeError::New(env, "sizeBytes must be positive when create is true");
  }

  int flags = O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0);
  int fd = openOrCreate(path, flags, create, sizeBytes, allocate, env);
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

// seekData(fd, offset) / seekHole(fd, offset): lseek SEEK_DATA / SEEK_HOLE; -1 where lseek
// fails with ENXIO (no data at or after offset, or offset at or past the end of the file).
Napi::Value seek(const Napi::CallbackInfo& info, int whence, const char* syscall) {
  int fd = requireFd(info[0]);
  uint64_t offsetBytes = requireUint(info[1], "offset", kMaxSafeInteger);
  off_t result = ::lseek(fd, static_cast<off_t>(offsetBytes), whence);
  if (result < 0) {
    if (errno == ENXIO) return Napi::Number::New(info.Env(), -1);
    throw errnoError(info.Env(), syscall, errno, fdSubject(fd));
  }
  return Napi::Number::New(info.Env(), static_cast<double>(result));
}

Napi::Value seekData(const Napi::CallbackInfo& info) {
  return seek(info, SEEK_DATA, "lseek(SEEK_DATA)");
}

Napi::Value seekHole(const Napi::CallbackInfo& info) {
  return seek(info, SEEK_HOLE, "lseek(SEEK_HOLE)");
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
  exports.Set("seekData", Napi::Function::New(env, seekData, "seekData"));
  exports.Set("seekHole", Napi::Function::New(env, seekHole, "seekHole"));
}

}  // namespace twinsan
