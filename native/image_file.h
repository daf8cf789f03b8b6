// Image file calls: openImage, fallocate, punchHole, close, fileSize.
#pragma once

#include <napi.h>

namespace twinsan {

void registerImageFileFunctions(Napi::Env env, Napi::Object exports);

}  // namespace twinsan
