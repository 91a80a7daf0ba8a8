// The instance configuration given to `sarge new` (and `deploy`): any bytes
// either parse or fail with sarge::Error carrying a one-line message —
// never another exception, a crash or undefined behaviour. A configuration
// that parses reads back from its stored form (the record) unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "sarge/error.h"
#include "sarge/instance_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sarge::InstanceConfig config;
  try {
    config = sarge::ParseInstanceConfig(text);
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
    return 0;
  }
  nlohmann::json stored = config.ToJson();
  nlohmann::json again;
  try {
    again = sarge::InstanceConfigFromJson(stored).ToJson();
  } catch (const sarge::Error& e) {
    sarge::fuzz::Broken("a stored configuration is refused when read back", e.what());
  }
  if (again != stored) sarge::fuzz::Broken("the stored configuration changes when read back");
  // The record is written as JSON text: that must not throw (invalid UTF-8).
  (void)stored.dump(2);
  return 0;
}
