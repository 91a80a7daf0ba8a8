#include "sarge/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

namespace sarge {
namespace {

using namespace std::chrono_literals;

constexpr auto kTickInterval = 100ms;
constexpr const char* kGreen = "\033[32m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kCyan = "\033[36m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kEraseLine = "\r\033[K";

const std::vector<std::string> kUnicodeFrames = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
const std::vector<std::string> kAsciiFrames = {"|", "/", "-", "\\"};

int64_t Milliseconds(Clock::TimePoint from, Clock::TimePoint to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Columns `text` takes: one per UTF-8 code point (labels are ids and words).
size_t Columns(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// `text` cut to `columns`, ending in an ellipsis if it was longer.
std::string Fit(const std::string& text, size_t columns, bool unicode) {
  if (Columns(text) <= columns) return text;
  std::string ellipsis = unicode ? "…" : "...";
  size_t keep = columns > Columns(ellipsis) ? columns - Columns(ellipsis) : 0;
  return text.substr(0, keep) + ellipsis;  // labels are ASCII: bytes are columns
}

bool IsUtf8Locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (!value || !*value) continue;
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return v.find("utf-8") != std::string::npos || v.find("utf8") != std::string::npos;
  }
  return false;
}

}  // namespace

std::string Step::Label() const {
  std::string label = what;
  if (index > 0) label += fmt::format(" [{}/{}]", index, count);
  if (!name.empty()) label += " " + name;
  return label;
}

// --- Plain ------------------------------------------------------------------

void PlainProgress::Say(const std::string& line) {
  out_ << "sarge: " << line << "\n" << std::flush;
}

void PlainProgress::Begin(const Step& step) {
  steps_.emplace_back(step, clock_.Now());
  if (step.index > 0)
    Say(fmt::format("{}: [{}/{}] {}", step.what, step.index, step.count, step.name));
}

void PlainProgress::End(bool ok) {
  if (steps_.empty()) return;
  auto [step, started] = steps_.back();
  steps_.pop_back();
  if (ok && step.index > 0)
    Say(fmt::format("{}: [{}/{}] done in {} ms", step.what, step.index, step.count,
                    Milliseconds(started, clock_.Now())));
}

// --- Terminal ---------------------------------------------------------------

TerminalStyle DetectTerminal(int fd) {
  TerminalStyle style;
  const char* term = std::getenv("TERM");
  style.live = ::isatty(fd) == 1 && term && *term && std::string(term) != "dumb";
  const char* no_colour = std::getenv("NO_COLOR");
  style.colour = style.live && !(no_colour && *no_colour);
  style.unicode = IsUtf8Locale();
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) style.width = size.ws_col;
  return style;
}

TerminalProgress::TerminalProgress(std::ostream& out, Clock& clock, TerminalStyle style,
                                   bool animate)
    : out_(out), clock_(clock), style_(style), animate_(animate) {}

TerminalProgress::~TerminalProgress() { StopTicker(); }

std::string TerminalProgress::Paint(const char* colour, const std::string& text) const {
  return style_.colour ? colour + text + "\033[0m" : text;
}

void TerminalProgress::ClearLive() {
  if (live_shown_) out_ << kEraseLine;
  live_shown_ = false;
}

void TerminalProgress::DrawLive() {
  ClearLive();
  if (steps_.empty()) return;
  const auto& [step, started] = steps_.back();
  const auto& frames = style_.unicode ? kUnicodeFrames : kAsciiFrames;
  std::string elapsed =
      fmt::format("{:.1f}s", static_cast<double>(Milliseconds(started, clock_.Now())) / 1000);
  // Never wider than the terminal: a wrapped line cannot be redrawn in place.
  size_t room = static_cast<size_t>(std::max(style_.width, 20)) - 1 - 2 - 2 - elapsed.size();
  out_ << Paint(kCyan, frames[frame_ % frames.size()]) << " "
       << Fit(step.Label(), room, style_.unicode) << "  " << Paint(kDim, elapsed) << std::flush;
  live_shown_ = true;
}

void TerminalProgress::Say(const std::string& line) {
  std::lock_guard lock(mutex_);
  ClearLive();
  out_ << "sarge: " << line << "\n";
  DrawLive();
  out_ << std::flush;
}

void TerminalProgress::Begin(const Step& step) {
  {
    std::lock_guard lock(mutex_);
    steps_.emplace_back(step, clock_.Now());
    DrawLive();
  }
  if (animate_ && !ticker_.joinable()) {
    ticker_ = std::jthread([this](std::stop_token stop) {
      std::mutex m;
      std::condition_variable_any wake;
      std::unique_lock lock(m);
      for (;;) {
        // Wakes early when End asks the thread to stop.
        wake.wait_for(lock, stop, kTickInterval, [] { return false; });
        if (stop.stop_requested()) return;
        Tick();
      }
    });
  }
}

void TerminalProgress::End(bool ok) {
  bool idle;
  {
    std::lock_guard lock(mutex_);
    if (steps_.empty()) return;
    auto [step, started] = steps_.back();
    steps_.pop_back();
    ClearLive();
    std::string mark = ok ? (style_.unicode ? "✓" : "ok") : (style_.unicode ? "✗" : "failed");
    out_ << Paint(ok ? kGreen : kRed, mark) << " " << step.Label() << " "
         << Paint(kDim, fmt::format("({} ms)", Milliseconds(started, clock_.Now()))) << "\n";
    DrawLive();
    out_ << std::flush;
    idle = steps_.empty();
  }
  if (idle) StopTicker();
}

void TerminalProgress::Tick() {
  std::lock_guard lock(mutex_);
  if (steps_.empty()) return;
  ++frame_;
  DrawLive();
}

void TerminalProgress::StopTicker() {
  if (!ticker_.joinable()) return;
  ticker_.request_stop();
  ticker_.join();
  ticker_ = std::jthread();
}

Progress& StderrProgress() {
  static std::unique_ptr<Progress> progress = [] {
    TerminalStyle style = DetectTerminal(STDERR_FILENO);
    if (!style.live) return std::unique_ptr<Progress>(new PlainProgress(std::cerr, RealClock()));
    return std::unique_ptr<Progress>(new TerminalProgress(std::cerr, RealClock(), style, true));
  }();
  return *progress;
}

}  // namespace sarge
