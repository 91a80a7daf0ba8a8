// The seam for running other programs: the operator's nginx commands, tar.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace sarge {

struct CommandResult {
  int exit_code = 0;   // 128 + signal if killed; -1 if it could not be started
  std::string output;  // stdout
  std::string errors;  // stderr (or why it could not be started)
  bool timed_out = false;

  // stderr then stdout, without trailing newlines: for error messages.
  std::string Both() const;
};

class CommandRunner {
 public:
  CommandRunner() = default;
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;
  virtual ~CommandRunner() = default;
  // Runs argv (argv[0] looked up in PATH) with `input` on its stdin,
  // capturing its output; kills it after `timeout`.
  virtual CommandResult Run(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                            const std::string& input = "") = 0;

  // Runs a command line with /bin/sh -c.
  CommandResult Shell(const std::string& command_line, std::chrono::seconds timeout) {
    return Run({"/bin/sh", "-c", command_line}, timeout);
  }
};

// Spawns real processes.
CommandRunner& RealCommandRunner();

}  // namespace sarge
