#include "sarge/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "sarge/error.h"

namespace sarge {
namespace {

uint64_t RandomWord() {
  uint64_t word;
  ssize_t got;
  // 8 bytes never come back short once the pool is ready; EINTR only
  // before it is, early in a boot.
  do got = getrandom(&word, sizeof word, 0);
  while (got < 0 && errno == EINTR);
  if (got != static_cast<ssize_t>(sizeof word))
    throw Error(fmt::format("cannot read random bytes from the kernel: {}",
                            got < 0 ? std::strerror(errno) : "short read"));
  return word;
}

}  // namespace

uint64_t RandomBelow(uint64_t n) {
  // Rejects the top partial block of 2^64 so every value is equally likely.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  for (;;) {
    uint64_t word = RandomWord();
    if (word < limit) return word % n;
  }
}

}  // namespace sarge
