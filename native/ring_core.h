// The part of a Ring its completion thread shares: the backend, the thread-safe function that
// asks the JS thread to reap, and the thread itself. The thread only sleeps in
// waitForCompletions() and posts a call; submitting and reaping stay on the JS thread.
// Held through shared_ptr by the Ring, the thread and the thread-safe function's finalizer, so
// it outlives whichever of them goes first (at environment teardown the order is not ours).
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "io_backend.h"

namespace twinsan {

class Ring;

// Runs on the JS thread once per posted call; defined with the Ring.
void deliverRingCompletions(Napi::Env env, Napi::Function onCompletions, Ring* ring, void*);

using CompletionCall = Napi::TypedThreadSafeFunction<Ring, void, deliverRingCompletions>;

class RingCore {
 public:
  explicit RingCore(std::unique_ptr<IoBackend> backend) : backend_(std::move(backend)) {}

  // Starts the completion thread (std::thread: uv_thread_create aborts under Bun) and the
  // thread-safe function, whose finalizer stops the thread if it still runs.
  static void start(const std::shared_ptr<RingCore>& core, Napi::Env env,
                    Napi::Function onCompletions, Ring* ring);

  // JS thread: the backend to submit to and reap from; null once stopped.
  IoBackend* backend() { return backend_.get(); }
  CompletionCall& completionCall() { return completionCall_; }

  // JS thread, at the start of a posted call and before reaping: completions that become ready
  // from here on post a new call.
  void acceptNextCall() { callPosted_.store(false); }

  // JS thread. Ends the thread and destroys the backend (its fd, its pool threads).
  void stop();

 private:
  void run();
  void stopThread();

  std::unique_ptr<IoBackend> backend_;
  CompletionCall completionCall_;
  std::atomic<bool> callPosted_{false};  // one call pending at a time: completions batch up
  std::atomic<bool> stopRequested_{false};

  std::mutex exitMutex_;
  std::condition_variable exited_;
  bool threadExited_ = false;
};

}  // namespace twinsan
