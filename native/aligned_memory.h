// Buffers over posix_memalign'd memory, freed by the Buffer's finalizer: O_DIRECT needs buffer
// addresses aligned to the logical block, which JS allocators do not promise.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace twinsan {

// Zero-filled unless zeroFill is false (for memory a read fills at once); throws a RangeError
// for a bad size or alignment and an Error when out of memory.
Napi::Buffer<uint8_t> newAlignedBuffer(Napi::Env env, size_t sizeBytes, size_t alignmentBytes,
                                       bool zeroFill = true);

void registerAlignedMemoryFunctions(Napi::Env env, Napi::Object exports);

}  // namespace twinsan
