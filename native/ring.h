// The Ring JS class: `new Ring({entries, slabCount, threads, ioUring}, onCompletions)`.
//
// submit() validates a batch, keeps each buffer referenced, and starts the batch with one
// io_uring_enter (or one hand-off to the thread pool). When completions are ready the Ring's
// completion thread posts one call to the JS thread, which reaps everything ready by then and
// passes it to onCompletions(pairs: Int32Array [id, result, ...], closed: boolean) after the
// buffers' references are dropped: one JS call per batch, never one per completion. close()
// lets in-flight requests finish; the last call has closed = true, after which the ring's fd
// and threads are gone.
//
// An open Ring holds a reference to itself until the closed call, so it is not collected while
// its thread runs: a Ring that is never closed lives until the process ends, like an open fd.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "io_request.h"
#include "request_parser.h"
#include "ring_core.h"

namespace twinsan {

class Ring : public Napi::ObjectWrap<Ring> {
 public:
  static Napi::Function defineClass(Napi::Env env);
  explicit Ring(const Napi::CallbackInfo& info);

 private:
  enum class State { kOpen, kClosing, kClosed };
  friend void deliverRingCompletions(Napi::Env, Napi::Function, Ring*, void*);

  void deliver(Napi::Env env, Napi::Function onCompletions);
  Napi::Int32Array takeDelivered(Napi::Env env);
  void claimSlots(Napi::Env env, size_t count);
  void releaseClaimedSlots(size_t count);

  void submit(const Napi::CallbackInfo& info);
  void close(const Napi::CallbackInfo& info);
  Napi::Value backendName(const Napi::CallbackInfo& info);
  Napi::Value fallbackReason(const Napi::CallbackInfo& info);
  Napi::Value capacity(const Napi::CallbackInfo& info);
  Napi::Value fixedBuffers(const Napi::CallbackInfo& info);
  Napi::Value slabs(const Napi::CallbackInfo& info);

  std::shared_ptr<RingCore> core_;
  State state_ = State::kOpen;
  bool closeCompleted_ = false;  // the close request (a nop with id == capacity_) completed
  std::string backendName_;
  std::string fallbackReason_;
  uint32_t capacity_ = 0;  // most requests in flight; ids are below it

  SlabRegion slabRegion_;
  Napi::ObjectReference slabs_;  // the Buffer owning the slab memory

  // Per id, on the JS thread only: whether a request holds the slot, and its buffer, kept
  // referenced so the garbage collector cannot free memory the kernel is still using.
  std::vector<uint8_t> slotBusy_;
  std::vector<Napi::ObjectReference> slotBuffers_;
  uint32_t busyCount_ = 0;

  std::vector<IoRequest> batch_;         // reused by submit
  std::vector<Napi::Value> batchViews_;  // the batch's buffers, valid during submit only
  std::vector<Completion> delivered_;    // reused by deliver
};

}  // namespace twinsan
