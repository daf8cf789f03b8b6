#include "ring_core.h"

#include <system_error>
#include <thread>

#include "errno_error.h"

namespace twinsan {

void RingCore::start(const std::shared_ptr<RingCore>& core, Napi::Env env,
                     Napi::Function onCompletions, Ring* ring) {
  // The finalizer runs after stop() released the function, or at environment teardown while the
  // thread may still sleep: the function is freed when the finalizer returns, so the thread must
  // have ended by then.
  auto* finalizerShare = new std::shared_ptr<RingCore>(core);
  core->completionCall_ = CompletionCall::New(
      env, onCompletions, "twinsan.Ring", 0, 1, ring,
      [](Napi::Env, std::shared_ptr<RingCore>* share, Ring*) {
        (*share)->stopThread();
        delete share;
      },
      finalizerShare);
  // Only requests in flight keep the event loop alive (the Ring refs and unrefs the call).
  core->completionCall_.Unref(env);
  try {
    std::thread([core] { core->run(); }).detach();  // stopThread is the join
  } catch (const std::system_error& error) {
    core->threadExited_ = true;  // lets the finalizer return
    core->completionCall_.Release();
    throw SystemCallError{"pthread_create", error.code().value()};
  }
}

// A refused call means the environment is being torn down: nobody is left to reap.
void RingCore::run() {
  while (!stopRequested_.load()) {
    backend_->waitForCompletions();
    if (stopRequested_.load()) break;
    if (!callPosted_.exchange(true) && completionCall_.NonBlockingCall() != napi_ok) break;
  }
  std::lock_guard<std::mutex> lock(exitMutex_);
  threadExited_ = true;
  exited_.notify_all();
}

void RingCore::stopThread() {
  if (!stopRequested_.exchange(true)) backend_->wake();
  std::unique_lock<std::mutex> lock(exitMutex_);
  exited_.wait(lock, [this] { return threadExited_; });
}

void RingCore::stop() {
  stopThread();
  backend_.reset();
  completionCall_.Release();
}

}  // namespace twinsan
