// The clock seam: time and sleeping, so waits can be tested without waiting.
#pragma once

#include <chrono>

namespace sarge {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  virtual void Sleep(std::chrono::milliseconds duration) = 0;
};

// The process's real steady clock.
Clock& RealClock();

}  // namespace sarge
