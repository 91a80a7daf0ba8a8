#include "sarge/interrupt.h"

#include <signal.h>
#include <string.h>

#include <fmt/format.h>

namespace sarge {
namespace {

volatile sig_atomic_t noted = 0;
int undoing = 0;

void Note(int signal) { noted = signal; }

}  // namespace

Interrupted::Interrupted(int signal)
    : Error(fmt::format("interrupted by SIG{}", sigabbrev_np(signal))), signal_(signal) {}

void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = Note;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &action, nullptr);
}

int InterruptSignal() { return noted; }

void ThrowIfInterrupted() {
  if (noted != 0 && undoing == 0) throw Interrupted(noted);
}

UndoScope::UndoScope() { ++undoing; }
UndoScope::~UndoScope() { --undoing; }

}  // namespace sarge
