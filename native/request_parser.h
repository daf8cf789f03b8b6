// Reads one request of Ring.submit's flat encoding and checks it against O_DIRECT's rules, so
// misuse is a JS exception before anything reaches the kernel (never an EINVAL later).
#pragma once

#include <napi.h>

#include "io_request.h"

namespace twinsan {

// Doubles per request in the Float64Array passed to Ring.submit: op, fd, offsetBytes, id.
constexpr size_t kRequestFieldCount = 4;

// The registered slabs; requests wholly inside one slab use its fixed-buffer index.
struct SlabRegion {
  uint8_t* base = nullptr;
  size_t count = 0;
  bool registered = false;
};

// `index` only names the request in error messages. The id is range-checked against `capacity`
// here; whether its slot is free is the Ring's business.
IoRequest parseRequest(Napi::Env env, const double* fields, const Napi::Value& view, size_t index,
                       uint32_t capacity, const SlabRegion& slabs);

}  // namespace twinsan
