#include "ring.h"

#include <cstdio>
#include <cstdlib>

#include "aligned_memory.h"
#include "errno_error.h"
#include "js_args.h"

namespace twinsan {
namespace {

constexpr uint64_t kDefaultEntries = 256;
constexpr uint64_t kMaxEntries = 4096;
constexpr uint64_t kDefaultSlabCount = 64;
constexpr uint64_t kMaxSlabCount = 4096;
constexpr uint64_t kDefaultThreadCount = 4;
constexpr uint64_t kMaxThreadCount = 64;

enum SlotState : uint8_t { kSlotFree = 0, kSlotBusy = 1, kSlotClaimed = 2 };

[[noreturn]] void failInvariant(const char* message, uint32_t id) {
  std::fprintf(stderr, "twinsan native: %s (id %u)\n", message, id);
  std::abort();
}

}  // namespace

void deliverRingCompletions(Napi::Env env, Napi::Function onCompletions, Ring* ring, void*) {
  if (env == nullptr) return;  // the call is being torn down with the environment
  try {
    ring->deliver(env, onCompletions);
  } catch (const Napi::Error& error) {
    error.ThrowAsJavaScriptException();  // thrown by onCompletions itself: left uncaught
  }
}

Napi::Function Ring::defineClass(Napi::Env env) {
  return DefineClass(env, "Ring",
                     {InstanceMethod<&Ring::submit>("submit"),
                      InstanceMethod<&Ring::close>("close"),
                      InstanceAccessor<&Ring::backendName>("backend"),
                      InstanceAccessor<&Ring::fallbackReason>("fallbackReason"),
                      InstanceAccessor<&Ring::capacity>("capacity"),
                      InstanceAccessor<&Ring::fixedBuffers>("fixedBuffers"),
                      InstanceAccessor<&Ring::slabs>("slabs")});
}

Ring::Ring(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Ring>(info) {
  Napi::Env env = info.Env();
  Napi::Object options = requireObject(info[0], "options");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "onCompletions must be a function");
  capacity_ = static_cast<uint32_t>(optionalUint(options, "entries", kDefaultEntries, kMaxEntries));
  size_t slabCount = optionalUint(options, "slabCount", kDefaultSlabCount, kMaxSlabCount);
  auto threadCount =
      static_cast<uint32_t>(optionalUint(options, "threads", kDefaultThreadCount, kMaxThreadCount));
  bool ioUring = optionalBool(options, "ioUring", true);
  if (capacity_ == 0 || threadCount == 0) {
    throw Napi::RangeError::New(env, "entries and threads must be positive");
  }
  if (slabCount > 0) {
    Napi::Buffer<uint8_t> slabs =
        newAlignedBuffer(env, slabCount * kSlabSizeBytes, kSlabAlignmentBytes);
    slabs_ = Napi::Persistent(slabs.As<Napi::Object>());
    slabRegion_.base = slabs.Data();
    slabRegion_.count = slabCount;
  }
  slotBusy_.assign(capacity_, kSlotFree);
  slotBuffers_.resize(capacity_);

  try {
    OpenedIoBackend opened =
        openIoBackend({capacity_, slabRegion_.base, slabRegion_.count, threadCount, ioUring});
    backendName_ = opened.name;
    fallbackReason_ = opened.fallbackReason;
    core_ = std::make_shared<RingCore>(std::move(opened.backend));
    slabRegion_.registered = core_->backend()->registeredSlabs();
    RingCore::start(core_, env, info[1].As<Napi::Function>(), this);
  } catch (const SystemCallError& error) {
    throw errnoError(env, error.syscall, error.errnum, "(new Ring)");
  }
  Ref();  // dropped by the closed call in deliver
}

void Ring::deliver(Napi::Env env, Napi::Function onCompletions) {
  if (state_ == State::kClosed) return;  // a call posted just before the thread stopped
  core_->acceptNextCall();
  try {
    core_->backend()->reap(delivered_);
  } catch (const SystemCallError& error) {
    throw errnoError(env, error.syscall, error.errnum, "(Ring completions)");
  }
  size_t pairCount = 0;
  for (const Completion& completion : delivered_) {
    if (completion.id == capacity_) {
      closeCompleted_ = true;
      continue;
    }
    delivered_[pairCount++] = completion;
  }
  delivered_.resize(pairCount);
  bool closed = false;
  if (state_ == State::kClosing && closeCompleted_ && busyCount_ == pairCount) {
    core_->stop();
    state_ = State::kClosed;
    closed = true;
    Unref();
  }
  if (pairCount == 0 && !closed) return;  // woken by the GETEVENTS of an earlier call
  onCompletions.Call({takeDelivered(env), Napi::Boolean::New(env, closed)});
}

// Frees the slots of delivered_ (dropping their buffers' references) and returns the
// [id, result] pairs for JS.
Napi::Int32Array Ring::takeDelivered(Napi::Env env) {
  Napi::Int32Array pairs = Napi::Int32Array::New(env, delivered_.size() * 2);
  int32_t* pairData = pairs.Data();
  for (size_t i = 0; i < delivered_.size(); i++) {
    uint32_t id = delivered_[i].id;
    if (id >= capacity_ || slotBusy_[id] != kSlotBusy) {
      failInvariant("completion for a slot that holds no request", id);
    }
    slotBusy_[id] = kSlotFree;
    slotBuffers_[id].Reset();
    pairData[2 * i] = static_cast<int32_t>(id);
    pairData[2 * i + 1] = delivered_[i].result;
  }
  busyCount_ -= static_cast<uint32_t>(delivered_.size());
  delivered_.clear();
  if (busyCount_ == 0 && state_ == State::kOpen) core_->completionCall().Unref(env);
  return pairs;
}

// Marks the ids of batch_ claimed, so a duplicate id inside the batch is caught too.
void Ring::claimSlots(Napi::Env env, size_t count) {
  for (size_t i = 0; i < count; i++) {
    uint32_t id = batch_[i].id;
    if (slotBusy_[id] != kSlotFree) {
      releaseClaimedSlots(i);
      throw Napi::Error::New(env, "Ring.submit request " + std::to_string(i) + ": id " +
                                      std::to_string(id) + " is already in flight");
    }
    slotBusy_[id] = kSlotClaimed;
  }
}

void Ring::releaseClaimedSlots(size_t count) {
  for (size_t i = 0; i < count; i++) slotBusy_[batch_[i].id] = kSlotFree;
}

// submit(requests: Float64Array, buffers: (ArrayBufferView | undefined)[], count): request i is
// requests[4i .. 4i+3] = op, fd, offsetBytes, id and uses buffers[i] for read and write.
// Either every request is started or, on any invalid one, none is and it throws.
void Ring::submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_ != State::kOpen) throw Napi::Error::New(env, "Ring.submit: the ring is closed");
  if (!info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "Ring.submit: requests must be a Float64Array");
  }
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "Ring.submit: buffers must be an Array");
  auto fields = info[0].As<Napi::Float64Array>();
  auto views = info[1].As<Napi::Array>();
  size_t count = requireUint(info[2], "count", capacity_);
  if (fields.ElementLength() < count * kRequestFieldCount || views.Length() < count) {
    throw Napi::RangeError::New(env, "Ring.submit: requests or buffers shorter than count");
  }

  batch_.clear();
  batchViews_.clear();
  for (size_t i = 0; i < count; i++) {
    Napi::Value view = views.Get(static_cast<uint32_t>(i));
    batch_.push_back(parseRequest(env, fields.Data() + i * kRequestFieldCount, view, i, capacity_,
                                  slabRegion_));
    batchViews_.push_back(view);
  }
  claimSlots(env, count);

  for (size_t i = 0; i < count; i++) {
    const IoRequest& request = batch_[i];
    slotBusy_[request.id] = kSlotBusy;
    if (request.data != nullptr) {
      slotBuffers_[request.id] = Napi::Persistent(batchViews_[i].As<Napi::Object>());
    }
  }
  batchViews_.clear();
  if (busyCount_ == 0 && count > 0) core_->completionCall().Ref(env);
  busyCount_ += static_cast<uint32_t>(count);
  try {
    core_->backend()->submit(batch_.data(), count);
  } catch (const SystemCallError& error) {
    // Not reachable by misuse; the entries stay queued and start with a later submit or close.
    throw errnoError(env, error.syscall, error.errnum, "(Ring.submit)");
  }
}

// Stops new submissions and lets in-flight requests complete; onCompletions is then called
// with closed = true. A second call does nothing.
void Ring::close(const Napi::CallbackInfo& info) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  core_->completionCall().Ref(info.Env());  // the closed call must keep the loop alive
  IoRequest closeRequest{IoOp::kNop, -1, 0, nullptr, 0, capacity_, -1};
  try {
    core_->backend()->submit(&closeRequest, 1);
  } catch (const SystemCallError& error) {
    throw errnoError(info.Env(), error.syscall, error.errnum, "(Ring.close)");
  }
}

Napi::Value Ring::backendName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), backendName_);
}

Napi::Value Ring::fallbackReason(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), fallbackReason_);
}

Napi::Value Ring::capacity(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), capacity_);
}

Napi::Value Ring::fixedBuffers(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), slabRegion_.registered);
}

Napi::Value Ring::slabs(const Napi::CallbackInfo& info) {
  return slabs_.IsEmpty() ? info.Env().Undefined() : slabs_.Value();
}

}  // namespace twinsan
