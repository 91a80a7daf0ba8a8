// The command line: one table of commands, each with its help text and
// handler. Handlers throw Error/UsageError; main() reports them.
#pragma once

namespace sarge {

// Parses argv and runs the command. Returns the exit status (0 on success);
// throws Error (status 1) or UsageError (status 2) with a one-line message.
int RunCommandLine(int argc, char** argv);

}  // namespace sarge
