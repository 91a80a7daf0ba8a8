#include "sarge/clock.h"

#include <thread>

#include "sarge/interrupt.h"

namespace sarge {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  // Every wait of a command goes through here: where a noted Ctrl-C or
  // SIGTERM turns into Interrupted (interrupt.h).
  void Sleep(std::chrono::milliseconds duration) override {
    ThrowIfInterrupted();
    std::this_thread::sleep_for(duration);
    ThrowIfInterrupted();
  }
};

}  // namespace

Clock& RealClock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace sarge
