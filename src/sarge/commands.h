// The command line: one table of commands, each with its help text and
// handler. Handlers throw Error/UsageError; main() reports them.
#pragma once

#include "sarge/env.h"

namespace sarge {

// Parses argv and runs the command in `world`. Returns the exit status (0 on
// success); throws Error (status 1) or UsageError (status 2) with a one-line
// message.
int RunCommandLine(int argc, char** argv, World& world);

}  // namespace sarge
