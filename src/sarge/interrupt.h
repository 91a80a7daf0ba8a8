// Ctrl-C, SIGTERM and SIGHUP during a command that must undo what it began
// (start, deploy, rollback): the signal is noted, and the command's next
// wait throws Interrupted, so it undoes as for any failure, says so in one
// line, and exits 128 + the signal's number.
#pragma once

#include <string>

#include "sarge/error.h"

namespace sarge {

class Interrupted : public Error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// From now on SIGINT, SIGTERM and SIGHUP are noted instead of ending the
// process. Blocking calls go on (SA_RESTART); waits notice (RealClock,
// RealCommandRunner).
void CatchInterrupts();

// The signal noted, or 0.
int InterruptSignal();

// Throws Interrupted if a signal was noted, unless an UndoScope is open.
void ThrowIfInterrupted();

// While one is alive, ThrowIfInterrupted does not throw: the undo of an
// interrupted command runs to its end (a second Ctrl-C does not cut it).
class UndoScope {
 public:
  UndoScope();
  ~UndoScope();
  UndoScope(const UndoScope&) = delete;
  UndoScope& operator=(const UndoScope&) = delete;
};

}  // namespace sarge
