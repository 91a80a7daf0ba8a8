// Errors a person can act on. Library code throws these; main() is the one
// place that prints them as "sarge: error: …" and turns them into an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace sarge {

// A failure of the command: exit status 1. The message is one line saying
// what went wrong and what to do; Error::detail() may add more lines (a log
// tail) that are printed after it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string detail = {})
      : std::runtime_error(message), detail_(std::move(detail)) {}
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
};

// The command line itself is wrong: exit status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace sarge
