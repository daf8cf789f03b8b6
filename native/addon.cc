// twinsan's native addon: O_DIRECT image files, aligned buffers and an io_uring Ring.
#include <napi.h>

#include "aligned_memory.h"
#include "dio_alignment.h"
#include "errno_error.h"
#include "image_file.h"
#include "io_request.h"
#include "js_args.h"
#include "ring.h"

namespace twinsan {
namespace {

Napi::Value errnoNameOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(),
                           errnoName(static_cast<int>(requireUint(info[0], "errno", 4095))));
}

Napi::Object ioOps(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("read", static_cast<int>(IoOp::kRead));
  ops.Set("write", static_cast<int>(IoOp::kWrite));
  ops.Set("fsync", static_cast<int>(IoOp::kFsync));
  ops.Set("fdatasync", static_cast<int>(IoOp::kFdatasync));
  ops.Set("writeDsync", static_cast<int>(IoOp::kWriteDsync));
  return ops;
}

}  // namespace
}  // namespace twinsan

// NODE_API_MODULE pastes the name into an identifier: it must be unqualified.
static Napi::Object initAddon(Napi::Env env, Napi::Object exports) {
  using namespace twinsan;
  registerImageFileFunctions(env, exports);
  registerAlignedMemoryFunctions(env, exports);
  registerDioAlignmentFunctions(env, exports);
  exports.Set("errnoName", Napi::Function::New(env, errnoNameOf, "errnoName"));
  exports.Set("IoOp", ioOps(env));
  exports.Set("slabSizeBytes", static_cast<double>(kSlabSizeBytes));
  exports.Set("directIoAlignmentBytes", static_cast<double>(kDirectIoAlignmentBytes));
  exports.Set("Ring", Ring::defineClass(env));
  return exports;
}

NODE_API_MODULE(twinsan_native, initAddon)
