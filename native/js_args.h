// Checked reading of JS arguments: misuse from JS becomes a TypeError or RangeError naming the
// argument, never undefined behaviour in C++.
#pragma once

#include <napi.h>

#include <cstdint>

namespace twinsan {

// A Number that is an integer in [0, max]; max must not exceed 2^53 - 1.
uint64_t requireUint(const Napi::Value& value, const char* name, uint64_t max);

// `object[key]` as requireUint, or `fallback` when the property is undefined.
uint64_t optionalUint(const Napi::Object& object, const char* key, uint64_t fallback,
                      uint64_t max);

bool optionalBool(const Napi::Object& object, const char* key, bool fallback);

Napi::Object requireObject(const Napi::Value& value, const char* name);

// A file descriptor: an integer in [0, INT32_MAX].
int requireFd(const Napi::Value& value);

}  // namespace twinsan
