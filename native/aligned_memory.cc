#include "aligned_memory.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "js_args.h"

namespace twinsan {
namespace {

constexpr size_t kMaxAlignedBufferBytes = size_t{1} << 30;
constexpr size_t kMaxAlignmentBytes = size_t{1} << 20;
constexpr size_t kDefaultAlignmentBytes = 4096;

bool isPowerOfTwo(size_t value) { return value != 0 && (value & (value - 1)) == 0; }

// allocAligned(sizeBytes, alignment = 4096) -> Buffer
Napi::Value allocAligned(const Napi::CallbackInfo& info) {
  size_t sizeBytes = requireUint(info[0], "sizeBytes", kMaxAlignedBufferBytes);
  size_t alignmentBytes = info[1].IsUndefined()
                              ? kDefaultAlignmentBytes
                              : requireUint(info[1], "alignment", kMaxAlignmentBytes);
  return newAlignedBuffer(info.Env(), sizeBytes, alignmentBytes);
}

}  // namespace

Napi::Buffer<uint8_t> newAlignedBuffer(Napi::Env env, size_t sizeBytes, size_t alignmentBytes) {
  if (sizeBytes == 0 || sizeBytes > kMaxAlignedBufferBytes) {
    throw Napi::RangeError::New(env, "sizeBytes must be in [1, " +
                                         std::to_string(kMaxAlignedBufferBytes) + "]");
  }
  if (!isPowerOfTwo(alignmentBytes) || alignmentBytes < sizeof(void*)) {
    throw Napi::RangeError::New(env, "alignment must be a power of two of at least " +
                                         std::to_string(sizeof(void*)));
  }
  void* memory = nullptr;
  int errnum = posix_memalign(&memory, alignmentBytes, sizeBytes);
  if (errnum != 0) {
    throw errnoError(env, "posix_memalign", errnum, std::to_string(sizeBytes) + " bytes");
  }
  std::memset(memory, 0, sizeBytes);
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(memory), sizeBytes,
                                    [](Napi::Env, uint8_t* data) { std::free(data); });
}

void registerAlignedMemoryFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("allocAligned", Napi::Function::New(env, allocAligned, "allocAligned"));
}

}  // namespace twinsan
