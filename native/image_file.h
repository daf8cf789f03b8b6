// Image file calls: openImage, fallocate, punchHole, close, fileSize, seekData, seekHole.
#pragma once

#include <napi.h>

namespace twinsan {

void registerImageFileFunctions(Napi::Env env, Napi::Object exports);

}  // namespace twinsan
