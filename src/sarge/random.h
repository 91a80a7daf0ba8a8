// Random numbers from the kernel, for instance ids and port offsets.
#pragma once

#include <cstdint>

namespace sarge {

// A uniformly distributed number in [0, n), n > 0, from getrandom(2).
// std::random_device costs more here: constructing it probes the CPU with
// cpuid, which a virtual machine traps.
uint64_t RandomBelow(uint64_t n);

}  // namespace sarge
