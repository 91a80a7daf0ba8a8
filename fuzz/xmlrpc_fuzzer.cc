// supervisord's XML-RPC replies, as sarge decodes them: any bytes either
// decode or fail with sarge::Error (a SupervisorFault for a <fault>) with a
// one-line message. A decoded value can be printed as JSON, as `list` does.
// Read in pieces, as replies arrive, the bytes give the same value or fault
// wherever they are cut (malformed bytes fail either way, though expat may
// name the fault differently, depending on how much it has seen).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sarge/error.h"
#include "sarge/supervisor.h"
#include "sarge/xmlrpc.h"

namespace {

// The verdict of a reader fed `xml` cut at `cuts`: the value, the fault
// supervisord answered, or "malformed".
std::string ReadInPieces(std::string_view xml, std::initializer_list<size_t> cuts) {
  sarge::xmlrpc::ResponseReader reader;
  try {
    size_t at = 0;
    for (size_t cut : cuts) {
      cut = std::min(cut, xml.size());
      reader.Feed(xml.substr(at, cut - at));
      at = std::max(at, cut);
    }
    reader.Feed(xml.substr(at));
    return reader.Finish().dump();
  } catch (const sarge::SupervisorFault& f) {
    return std::string("fault: ") + f.what();
  } catch (const sarge::Error&) {
    return "malformed";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  std::string whole = ReadInPieces(xml, {});
  for (size_t cut : {size_t{1}, size / 3, size / 2, size - std::min<size_t>(size, 2)})
    if (ReadInPieces(xml, {cut, cut + 1, cut + 3}) != whole)
      sarge::fuzz::Broken("a reply cut in pieces decodes differently", whole);
  // The element-at-a-time decoding that `list` uses: the same verdicts.
  try {
    sarge::xmlrpc::DecodeArrayResponse(xml, [](nlohmann::json element) { (void)element.dump(2); });
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
  } catch (const nlohmann::json::exception& e) {
    sarge::fuzz::Broken("a decoded array element cannot be printed as JSON", e.what());
  }
  nlohmann::json value;
  try {
    value = sarge::xmlrpc::DecodeResponse(xml);
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
