// What every fuzz target checks besides the sanitizers: the promises about
// error messages, and a way to fail that libFuzzer reports as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sarge/names.h"

namespace sarge::fuzz {

// Reports a broken invariant and aborts, which libFuzzer records as a crash
// with the input that caused it.
[[noreturn]] inline void Broken(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %.*s\n%.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// A message for `sarge: error: …` is one printable line of bounded length:
// no control characters, valid UTF-8, whatever the input held.
inline void CheckMessage(std::string_view message) {
  if (message.empty()) Broken("empty error message");
  if (message.size() > kMessageMax)
    Broken("error message longer than kMessageMax bytes", message.substr(0, 300));
  if (Printable(message) != message) Broken("error message is not one printable line", message);
}

}  // namespace sarge::fuzz
