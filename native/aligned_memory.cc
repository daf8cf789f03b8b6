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

// allocAligned(sizeBytes, alignment = 4096, zeroFill = true) -> Buffer
Napi::Value allocAligned(const Napi::CallbackInfo& info) {
  size_t sizeBytes = requireUint(info[0], "sizeBytes", kMaxAlignedBufferBytes);
  size_t alignmentBytes = info[1].IsUndefined()
                              ? kDefaultAlignmentBytes
                              : requireUint(info[1], "alignment", kMaxAlignmentBytes);
  bool zeroFill = true;
  if (!info[2].IsUndefined()) {
    if (!info[2].IsBoolean()) throw Napi::TypeError::New(info.Env(), "zeroFill must be a boolean");
    zeroFill = info[2].As<Napi::Boolean>().Value();
  }
  return newAlignedBuffer(info.Env(), sizeBytes, alignmentBytes, zeroFill);
}

// misalignment(view, alignment) -> the view's start address modulo alignment (a power of two):
// 0 when the memory may be handed to O_DIRECT as it is.
Napi::Value misalignment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t alignmentBytes = requireUint(info[1], "alignment", kMaxAlignmentBytes);
  if (!isPowerOfTwo(alignmentBytes)) {
    throw Napi::RangeError::New(env, "alignment must be a power of two");
  }
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "view must be a TypedArray");
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, info[0], nullptr, nullptr, &data,
                                                     nullptr, nullptr),
                       Napi::Value());
  return Napi::Number::New(
      env, static_cast<double>(reinterpret_cast<uintptr_t>(data) & (alignmentBytes - 1)));
}

}  // namespace

Napi::Buffer<uint8_t> newAlignedBuffer(Napi::Env env, size_t sizeBytes, size_t alignmentBytes,
                                       bool zeroFill) {
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
  if (zeroFill) std::memset(memory, 0, sizeBytes);
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(memory), sizeBytes,
                                    [](Napi::Env, uint8_t* data) { std::free(data); });
}

void registerAlignedMemoryFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("allocAligned", Napi::Function::New(env, allocAligned, "allocAligned"));
  exports.Set("misalignment", Napi::Function::New(env, misalignment, "misalignment"));
}

}  // namespace twinsan
