// sarge's entry point: wires the real outside world, runs the command line,
// and is the one place that turns an error into "sarge: error: …" and an
// exit status.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "sarge/commands.h"
#include "sarge/env.h"
#include "sarge/error.h"
#include "sarge/interrupt.h"
#include "sarge/names.h"
#include "sarge/rpc_supervisor.h"

namespace {

// The error, and the detail under it if any (a log's last lines, each
// escaped as Printable does: a server's output must not retitle or clear the
// operator's terminal), in one write to the unbuffered stderr: lines of
// commands run at once on one terminal or log do not interleave.
void PrintError(const char* what, const std::string& detail) {
  fmt::print(stderr, "sarge: error: {}\n{}{}", sarge::MessageLine(what),
             sarge::PrintableLines(detail), detail.empty() ? "" : "\n");
}

// 1 for a failure; 128 + N if signal N interrupted the command (interrupt.h),
// which undid what it began, as a shell reports a command a signal ended.
int FailureStatus() {
  int signal = sarge::InterruptSignal();
  return signal ? 128 + signal : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a closed pipe (a hook that exits early, `sarge logs -f | head`)
  // is an error to handle, not a reason to die. Children get the default
  // back (exec.cc, command_runner.cc).
  std::signal(SIGPIPE, SIG_IGN);
  // sarge's modes are its own, whatever the caller's umask (under umask 000
  // a home would be everyone's to change): it gives private files and
  // folders their modes itself (home.cc, fs.h).
  ::umask(022);
  // iostreams stay synchronised with stdio: `list` writes an instance at a
  // time, which stdio buffers as well, and unsynchronising costs every
  // command ~0.5 ms at start (eight new stream buffers, four of them wide).
  // The one place the real outside world is wired (env.h).
  sarge::World world{
      sarge::RealClock(), sarge::RealCommandRunner(), sarge::RealSystem(), sarge::StderrProgress(),
      [](const sarge::Home& home) -> std::unique_ptr<sarge::Supervisor> {
        return std::make_unique<sarge::RpcSupervisor>(
            home.Socket(),
            fmt::format("supervisord is not running for {}{}; start it with {}", home.root.string(),
                        home.SupervisordDied(), home.StartSupervisordHint()));
      }};
  try {
    return sarge::RunCommandLine(argc, argv, world);
  } catch (const sarge::UsageError& e) {
    PrintError(e.what(), "");
    return 2;
  } catch (const sarge::Error& e) {
    PrintError(e.what(), e.detail());
    return FailureStatus();
  } catch (const std::exception& e) {
    PrintError(e.what(), "");
    return FailureStatus();
  }
}
