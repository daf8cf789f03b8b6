// directIoAlignment(fd): what O_DIRECT on this file needs of offsets, lengths and memory.
#pragma once

#include <napi.h>

namespace twinsan {

void registerDioAlignmentFunctions(Napi::Env env, Napi::Object exports);

}  // namespace twinsan
