// supervisord's XML-RPC replies, as sarge decodes them: any bytes either
// decode or fail with sarge::Error (a SupervisorFault for a <fault>) with a
// one-line message. A decoded value can be printed as JSON, as `list` does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sarge/error.h"
#include "sarge/xmlrpc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  nlohmann::json value;
  try {
    value = sarge::xmlrpc::DecodeResponse(std::string(xml));
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
    return 0;
  }
  try {
    (void)value.dump(2);
  } catch (const nlohmann::json::exception& e) {
    sarge::fuzz::Broken("a decoded reply cannot be printed as JSON", e.what());
  }
  return 0;
}
