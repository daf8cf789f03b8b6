#include "js_args.h"

#include <cmath>
#include <string>

namespace twinsan {

uint64_t requireUint(const Napi::Value& value, const char* name, uint64_t max) {
  Napi::Env env = value.Env();
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0) || number != std::floor(number) || number > static_cast<double>(max)) {
    throw Napi::RangeError::New(env, std::string(name) + " must be an integer in [0, " +
                                         std::to_string(max) + "], got " +
                                         value.ToString().Utf8Value());
  }
  return static_cast<uint64_t>(number);
}

uint64_t optionalUint(const Napi::Object& object, const char* key, uint64_t fallback,
                      uint64_t max) {
  Napi::Value value = object.Get(key);
  return value.IsUndefined() ? fallback : requireUint(value, key, max);
}

bool optionalBool(const Napi::Object& object, const char* key, bool fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) {
    throw Napi::TypeError::New(object.Env(), std::string(key) + " must be a boolean");
  }
  return value.As<Napi::Boolean>().Value();
}

Napi::Object requireObject(const Napi::Value& value, const char* name) {
  if (!value.IsObject()) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must be an object");
  }
  return value.As<Napi::Object>();
}

int requireFd(const Napi::Value& value) {
  return static_cast<int>(requireUint(value, "fd", INT32_MAX));
}

}  // namespace twinsan
