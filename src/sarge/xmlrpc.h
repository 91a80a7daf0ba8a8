// XML-RPC as supervisord speaks it, with values modelled as JSON:
// int/i4 <-> integer, boolean <-> bool, string <-> string, double <-> number,
// array <-> array, struct <-> object, nil <-> null.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sarge::xmlrpc {

// The <methodCall> document for `method` with `params` (a JSON array).
std::string EncodeCall(std::string_view method, const nlohmann::json& params);

// The value of a <methodResponse>. Throws SupervisorFault for a <fault> and
// Error for a document that is not a well-formed response.
nlohmann::json DecodeResponse(std::string xml);

}  // namespace sarge::xmlrpc
