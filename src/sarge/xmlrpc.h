// XML-RPC as supervisord speaks it, with values modelled as JSON:
// int/i4 <-> integer, boolean <-> bool, string <-> string, double <-> number,
// array <-> array, struct <-> object, nil <-> null.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sarge::xmlrpc {

// The <methodCall> document for `method` with `params` (a JSON array).
std::string EncodeCall(std::string_view method, const nlohmann::json& params);

// The value of a <methodResponse>. Throws SupervisorFault for a <fault> and
// Error for a document that is not a well-formed response. The text is
// decoded as it is read (expat): no tree of the document is built.
nlohmann::json DecodeResponse(std::string_view xml);

// DecodeResponse for a reply whose value is an array, one element at a
// time: `each` gets every element, in order, and the whole array is never
// held as JSON. Throws Error if the value is not an array.
void DecodeArrayResponse(std::string_view xml, const std::function<void(nlohmann::json)>& each);

class ResponseDecoder;

// A reply decoded as it arrives: Feed each piece as it is received (while
// supervisord is still sending the rest), then Finish. However the text is
// cut, the value or fault is that of DecodeResponse, or of
// DecodeArrayResponse when `each` is given (which must outlive the reader).
// Malformed text fails either way, though expat may name what is wrong
// differently depending on how much of it it had seen.
class ResponseReader {
 public:
  explicit ResponseReader(const std::function<void(nlohmann::json)>* each = nullptr);
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;
  ~ResponseReader();

  void Feed(std::string_view piece);
  nlohmann::json Finish();  // throws as DecodeResponse

 private:
  std::unique_ptr<ResponseDecoder> decoder_;
  std::string held_;  // the start of a UTF-8 sequence the next piece ends
};

}  // namespace sarge::xmlrpc
