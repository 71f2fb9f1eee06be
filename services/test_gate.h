// For the services' tests: a gate that threads wait at until the test opens
// it. Unlike absl::Notification it may be opened any number of times, so a
// test's teardown can open it again safely.
#ifndef WINBACK_SERVICES_TEST_GATE_H_
#define WINBACK_SERVICES_TEST_GATE_H_

#include "absl/synchronization/mutex.h"

namespace winback {

class TestGate {
 public:
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&open_));
  }

 private:
  absl::Mutex mu_;
  bool open_ = false;
};

}  // namespace winback

#endif  // WINBACK_SERVICES_TEST_GATE_H_
