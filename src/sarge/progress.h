// How a command shows a person what it is doing, on stderr. Off a terminal
// (a pipe, a log, a test) it writes plain lines, "sarge: …", that scripts may
// rely on. On a terminal it also keeps one live line per running step — a
// spinner and the time so far — and replaces it with "✓ step (123 ms)" when
// the step ends. Colour only on a terminal, and never with NO_COLOR set.
#pragma once

#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "sarge/clock.h"

namespace sarge {

// One step of a command: "deploy web" step 1 of 7, "create instance"; or a
// command that is one step, "start web-jCCbfV" (no name, not numbered).
struct Step {
  std::string what{};
  std::string name{};
  int index = 0;  // 1-based; 0: not part of a numbered sequence
  int count = 0;

  // "deploy web [1/7] create instance", "start web-jCCbfV".
  std::string Label() const;
};

// The interface commands report through; tests record it or give it a fake
// terminal. Begin and End nest (a step may run inside another).
class Progress {
 public:
  virtual ~Progress() = default;
  // A line said in passing: "started web-jCCbfV (pid 4242)".
  virtual void Say(const std::string& line) = 0;
  virtual void Begin(const Step& step) = 0;
  // Ends the innermost step begun; `ok` false if it failed.
  virtual void End(bool ok) = 0;
};

// Runs `body` as `step`: Begin, then End(true) when it returns or End(false)
// when it throws (the exception goes on). Returns what `body` returns.
template <typename F>
auto RunStep(Progress& progress, const Step& step, F&& body) -> decltype(body()) {
  progress.Begin(step);
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      progress.End(true);
    } else {
      auto result = body();
      progress.End(true);
      return result;
    }
  } catch (...) {
    progress.End(false);
    throw;
  }
}

// Plain lines, as scripts and logs see them: each Say as "sarge: LINE"; a
// numbered step as "sarge: WHAT: [i/n] NAME" when it begins and
// "sarge: WHAT: [i/n] done in N ms" when it succeeds; nothing for a step
// that is not numbered (its notes say enough).
class PlainProgress : public Progress {
 public:
  PlainProgress(std::ostream& out, Clock& clock) : out_(out), clock_(clock) {}
  void Say(const std::string& line) override;
  void Begin(const Step& step) override;
  void End(bool ok) override;

 private:
  std::ostream& out_;
  Clock& clock_;
  std::vector<std::pair<Step, Clock::TimePoint>> steps_;
};

// What the terminal on a file descriptor can show.
struct TerminalStyle {
  bool live = false;     // a terminal that understands "\r" and "erase line"
  bool colour = false;   // ANSI colours wanted (a terminal, NO_COLOR unset)
  bool unicode = false;  // a UTF-8 locale: spinner and check marks as such
  int width = 80;        // columns
};

// Looks at `fd` (isatty, its width), TERM, NO_COLOR and the locale.
TerminalStyle DetectTerminal(int fd);

// The live display. Say prints above the live line; Tick redraws it with
// the next spinner frame and the time so far. With `animate`, a thread calls
// Tick every 100 ms while a step runs; without, only the caller does (tests).
// Thread-safe.
class TerminalProgress : public Progress {
 public:
  TerminalProgress(std::ostream& out, Clock& clock, TerminalStyle style, bool animate);
  ~TerminalProgress() override;
  void Say(const std::string& line) override;
  void Begin(const Step& step) override;
  void End(bool ok) override;
  void Tick();

 private:
  void DrawLive();  // mutex held
  void ClearLive();
  std::string Paint(const char* colour, const std::string& text) const;
  void StopTicker();

  std::ostream& out_;
  Clock& clock_;
  TerminalStyle style_;
  bool animate_;
  std::mutex mutex_;
  std::vector<std::pair<Step, Clock::TimePoint>> steps_;
  bool live_shown_ = false;
  size_t frame_ = 0;
  std::jthread ticker_;
};

// The progress for this process's stderr: terminal or plain, decided once.
Progress& StderrProgress();

}  // namespace sarge
