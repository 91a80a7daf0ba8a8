#include "sarge/xmlrpc.h"

#include <sstream>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "sarge/error.h"
#include "sarge/names.h"
#include "sarge/supervisor.h"

namespace sarge::xmlrpc {
namespace {

using nlohmann::json;

void EncodeValue(pugi::xml_node parent, const json& value) {
  auto v = parent.append_child("value");
  switch (value.type()) {
    case json::value_t::string:
      v.append_child("string").text().set(value.get_ref<const std::string&>().c_str());
      break;
    case json::value_t::boolean:
      v.append_child("boolean").text().set(value.get<bool>() ? "1" : "0");
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      v.append_child("int").text().set(value.get<long long>());
      break;
    case json::value_t::number_float:
      v.append_child("double").text().set(value.get<double>());
      break;
    case json::value_t::array: {
      auto data = v.append_child("array").append_child("data");
      for (const auto& item : value) EncodeValue(data, item);
      break;
    }
    case json::value_t::object: {
      auto s = v.append_child("struct");
      for (const auto& item : value.items()) {
        auto member = s.append_child("member");
        member.append_child("name").text().set(item.key().c_str());
        EncodeValue(member, item.value());
      }
      break;
    }
    default:
      v.append_child("nil");
  }
}

[[noreturn]] void Malformed(std::string_view why) {
  throw Error(fmt::format("supervisord sent a malformed XML-RPC reply: {}", why));
}

// supervisord's replies nest a few levels; a reply nested deeper than this
// is refused rather than followed down the stack.
constexpr int kMaxDepth = 32;

// Text as sarge keeps it: valid UTF-8 (it is printed as JSON by `list`).
json Text(pugi::xml_node node) { return ValidUtf8(node.text().get()); }

json DecodeValue(pugi::xml_node value, int depth = 0) {
  if (depth > kMaxDepth) Malformed(fmt::format("values nested deeper than {}", kMaxDepth));
  auto typed = value.first_child();
  if (!typed || typed.type() != pugi::node_element) return Text(value);  // bare string
  std::string_view type = typed.name();
  if (type == "string") return Text(typed);
  if (type == "int" || type == "i4" || type == "i8") {
    std::string_view text = typed.text().get();
    try {
      return std::stoll(std::string(text));
    } catch (const std::exception&) {
      Malformed(fmt::format("{} is not an integer", Quoted(text)));
    }
  }
  if (type == "boolean") return std::string_view(typed.text().get()) == "1";
  if (type == "double") return typed.text().as_double();
  if (type == "nil") return nullptr;
  if (type == "array") {
    json out = json::array();
    for (auto item : typed.child("data").children("value"))
      out.push_back(DecodeValue(item, depth + 1));
    return out;
  }
  if (type == "struct") {
    json out = json::object();
    for (auto member : typed.children("member"))
      out[ValidUtf8(member.child_value("name"))] = DecodeValue(member.child("value"), depth + 1);
    return out;
  }
  Malformed(fmt::format("unknown value type {}", Quoted(type)));
}

}  // namespace

std::string EncodeCall(std::string_view method, const json& params) {
  pugi::xml_document doc;
  auto call = doc.append_child("methodCall");
  call.append_child("methodName").text().set(std::string(method).c_str());
  auto list = call.append_child("params");
  for (const auto& p : params) EncodeValue(list.append_child("param"), p);
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw);
  return out.str();
}

namespace {

// The <value> of the <methodResponse> parsed into `doc` from `xml` (in
// place: `xml` must outlive `doc`'s use). Throws SupervisorFault for a
// <fault>.
pugi::xml_node ResponseValue(pugi::xml_document& doc, std::string& xml) {
  auto parsed = doc.load_buffer_inplace(xml.data(), xml.size());
  if (!parsed) Malformed(parsed.description());
  auto response = doc.child("methodResponse");
  if (!response) Malformed("no <methodResponse>");
  if (auto fault = response.child("fault")) {
    json f = DecodeValue(fault.child("value"));
    if (!f.is_object() || !f.contains("faultCode") || !f["faultCode"].is_number_integer())
      Malformed("a <fault> without faultCode");
    // faultString is a string from supervisord; from anything else, show what came.
    const json text = f.contains("faultString") ? f["faultString"] : json("");
    throw SupervisorFault(f["faultCode"].get<int>(),
                          text.is_string() ? text.get<std::string>() : text.dump());
  }
  auto value = response.child("params").child("param").child("value");
  if (!value) Malformed("no <params><param><value>");
  return value;
}

}  // namespace

json DecodeResponse(std::string xml) {
  pugi::xml_document doc;
  return DecodeValue(ResponseValue(doc, xml));
}

void DecodeArrayResponse(std::string xml, const std::function<void(json)>& each) {
  pugi::xml_document doc;
  auto typed = ResponseValue(doc, xml).first_child();
  if (!typed || typed.type() != pugi::node_element || std::string_view(typed.name()) != "array")
    Malformed("the reply is not an array");
  for (auto item : typed.child("data").children("value")) each(DecodeValue(item, 1));
}

}  // namespace sarge::xmlrpc
