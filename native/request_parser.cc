#include "request_parser.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace twinsan {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;
constexpr size_t kMaxTransferBytes = size_t{1} << 30;
const char* const kOpNames[] = {"read", "write", "fsync", "fdatasync", "writeDsync"};

std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

bool isUintAtMost(double value, double max) {
  return value >= 0 && value <= max && value == std::floor(value);
}

size_t typedArrayElementBytes(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;  // float64, bigint64, biguint64
  }
}

// The memory of a TypedArray (Buffer included) or DataView; false for anything else.
bool viewMemory(Napi::Env env, const Napi::Value& view, uint8_t** data, size_t* lengthBytes) {
  void* memory = nullptr;
  if (view.IsTypedArray()) {
    napi_typedarray_type type;
    size_t elementCount = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, view, &type, &elementCount, &memory,
                                                       nullptr, nullptr),
                         false);
    *lengthBytes = elementCount * typedArrayElementBytes(type);
  } else if (view.IsDataView()) {
    NAPI_THROW_IF_FAILED(
        env, napi_get_dataview_info(env, view, lengthBytes, &memory, nullptr, nullptr), false);
  } else {
    return false;
  }
  *data = static_cast<uint8_t*>(memory);
  return true;
}

int32_t fixedBufferIndex(const uint8_t* data, size_t lengthBytes, const SlabRegion& slabs) {
  if (!slabs.registered || data < slabs.base) return -1;
  size_t offsetBytes = static_cast<size_t>(data - slabs.base);
  size_t slabIndex = offsetBytes / kSlabSizeBytes;
  if (slabIndex >= slabs.count) return -1;
  bool withinSlab = offsetBytes + lengthBytes <= (slabIndex + 1) * kSlabSizeBytes;
  return withinSlab ? static_cast<int32_t>(slabIndex) : -1;
}

class RequestErrors {
 public:
  RequestErrors(Napi::Env env, size_t index) : env_(env), index_(index) {}
  [[noreturn]] void fail(const std::string& what, const std::string& problem) const {
    throw Napi::RangeError::New(env_, "Ring.submit request " + std::to_string(index_) + " (" +
                                          what + "): " + problem);
  }

 private:
  Napi::Env env_;
  size_t index_;
};

}  // namespace

IoRequest parseRequest(Napi::Env env, const double* fields, const Napi::Value& view, size_t index,
                       uint32_t capacity, const SlabRegion& slabs) {
  RequestErrors errors(env, index);
  double op = fields[0], fd = fields[1], offsetBytes = fields[2], id = fields[3];
  if (!isUintAtMost(op, static_cast<double>(IoOp::kWriteDsync))) {
    errors.fail("op " + formatNumber(op), "op must be 0 (read), 1 (write), 2 (fsync), "
                                            "3 (fdatasync) or 4 (writeDsync)");
  }
  std::string what = std::string(kOpNames[static_cast<int>(op)]);
  if (!isUintAtMost(fd, INT32_MAX)) errors.fail(what, "fd must be a non-negative integer");
  what += " fd " + std::to_string(static_cast<int>(fd));
  if (!isUintAtMost(id, capacity - 1.0)) {
    errors.fail(what, "id must be an integer below the ring capacity " + std::to_string(capacity));
  }
  IoRequest request{static_cast<IoOp>(op), static_cast<int>(fd), 0, nullptr, 0,
                    static_cast<uint32_t>(id), -1};
  if (request.op == IoOp::kFsync || request.op == IoOp::kFdatasync) return request;

  if (!isUintAtMost(offsetBytes, kMaxSafeInteger)) {
    errors.fail(what, "offset must be a non-negative safe integer");
  }
  request.offsetBytes = static_cast<uint64_t>(offsetBytes);
  what += " offset " + std::to_string(request.offsetBytes);
  size_t lengthBytes = 0;
  if (!viewMemory(env, view, &request.data, &lengthBytes)) {
    errors.fail(what, "buffer must be a TypedArray, Buffer or DataView");
  }
  what += " length " + std::to_string(lengthBytes);
  std::string alignment = std::to_string(kDirectIoAlignmentBytes);
  if (request.offsetBytes % kDirectIoAlignmentBytes != 0) {
    errors.fail(what, "offset is not a multiple of " + alignment + " bytes (O_DIRECT)");
  }
  if (lengthBytes == 0 || lengthBytes > kMaxTransferBytes ||
      lengthBytes % kDirectIoAlignmentBytes != 0) {
    errors.fail(what, "length must be a positive multiple of " + alignment +
                          " bytes up to 1 GiB (O_DIRECT)");
  }
  if (reinterpret_cast<uintptr_t>(request.data) % kDirectIoAlignmentBytes != 0) {
    errors.fail(what, "buffer address is not " + alignment +
                          "-byte aligned (O_DIRECT); use allocAligned or a ring slab");
  }
  request.lengthBytes = static_cast<uint32_t>(lengthBytes);
  request.fixedBufferIndex = fixedBufferIndex(request.data, lengthBytes, slabs);
  return request;
}

}  // namespace twinsan
