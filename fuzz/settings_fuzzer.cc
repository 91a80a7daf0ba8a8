// etc/sarge.yaml: any bytes either parse or fail with sarge::Error carrying
// a one-line message. Settings that parse can be written into a
// supervisord program file without adding a line, a section or an
// interpolation to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sarge/error.h"
#include "sarge/settings.h"
#include "sarge/supervisor_config.h"

namespace {

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sarge::Settings settings;
  try {
    settings = sarge::ParseSettings(text, "etc/sarge.yaml");
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
    return 0;
  }
  if (settings.port_first > settings.port_last) sarge::fuzz::Broken("an empty port range passed");
  sarge::Home home{"/var/local/fuzz"};
  std::string program;
  try {
    program = sarge::ProgramConf(home, "web-abcdef", settings);
  } catch (const sarge::Error& e) {
    sarge::fuzz::Broken("accepted settings cannot be written into a program file", e.what());
  }
  // As many lines as with the defaults, one section, and no '%' (the home
  // has none, so any would come from the settings).
  static const size_t kLines = Count(sarge::ProgramConf(home, "web-abcdef", {}), "\n");
  if (Count(program, "\n") != kLines || Count(program, "[") != 1 || Count(program, "%") != 0)
    sarge::fuzz::Broken("settings changed the shape of a program file", program);
  return 0;
}
