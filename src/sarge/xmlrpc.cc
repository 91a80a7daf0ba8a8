#include "sarge/xmlrpc.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <type_traits>
#include <vector>

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

// The character data of `node` (text and CDATA), kept valid UTF-8 as sarge
// keeps every text.
std::string TextOf(pugi::xml_node node) {
  std::string text = node.value();  // parse_embed_pcdata puts lone text there
  for (auto child : node.children())
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata)
      text += child.value();
  return ValidUtf8(text);
}

json DecodeValue(pugi::xml_node value, int depth);

json DecodeArray(pugi::xml_node array, int depth) {
  json out = json::array();
  for (auto value : array.child("data").children("value"))
    out.push_back(DecodeValue(value, depth + 1));
  return out;
}

json DecodeStruct(pugi::xml_node strukt, int depth) {
  json out = json::object();
  for (auto member : strukt.children("member")) {
    auto value = member.child("value");
    if (value) out[TextOf(member.child("name"))] = DecodeValue(value, depth + 1);
  }
  return out;
}

json DecodeInteger(const std::string& text) {
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    Malformed(fmt::format("{} is not an integer", Quoted(text)));
  }
}

// The value of one <value> element.
json DecodeValue(pugi::xml_node value, int depth) {
  if (depth > kMaxDepth) Malformed(fmt::format("values nested deeper than {}", kMaxDepth));
  auto type = value.first_child();
  while (type && type.type() != pugi::node_element) type = type.next_sibling();
  if (!type) return TextOf(value);  // a bare string
  for (auto other = type.next_sibling(); other; other = other.next_sibling())
    if (other.type() == pugi::node_element)
      Malformed(fmt::format("a value with two types, {} and {}", Quoted(type.name()),
                            Quoted(other.name())));
  std::string_view name = type.name();
  if (name == "string") return TextOf(type);
  if (name == "int" || name == "i4" || name == "i8") return DecodeInteger(TextOf(type));
  if (name == "boolean") return TextOf(type) == "1";
  if (name == "double") return std::strtod(TextOf(type).c_str(), nullptr);
  if (name == "nil") return nullptr;
  if (name == "array") return DecodeArray(type, depth);
  if (name == "struct") return DecodeStruct(type, depth);
  Malformed(fmt::format("unknown value type {}", Quoted(name)));
}

[[noreturn]] void ThrowFault(const json& f) {
  if (!f.is_object() || !f.contains("faultCode") || !f["faultCode"].is_number_integer())
    Malformed("a <fault> without faultCode");
  // faultString is a string from supervisord; from anything else, show what came.
  const json text = f.contains("faultString") ? f["faultString"] : json("");
  throw SupervisorFault(f["faultCode"].get<int>(),
                        text.is_string() ? text.get<std::string>() : text.dump());
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

json DecodeResponse(std::string xml) {
  pugi::xml_document doc;
  // Read as UTF-8 whatever the declaration says; a DOCTYPE is kept only to
  // be refused (pugixml never expands the entities one declares). Parsed in
  // place, each element's text as its value: a reply of thousands of
  // programs is megabytes, and this halves the memory its tree takes.
  auto parsed = doc.load_buffer_inplace(
      xml.data(), xml.size(), pugi::parse_default | pugi::parse_doctype | pugi::parse_embed_pcdata,
      pugi::encoding_utf8);
  if (!parsed) Malformed(fmt::format("{} at byte {}", parsed.description(), parsed.offset));
  for (auto node : doc.children())
    if (node.type() == pugi::node_doctype) Malformed("a DOCTYPE in the reply");
  auto response = doc.document_element();
  if (std::string_view(response.name()) != "methodResponse") Malformed("no <methodResponse>");
  if (auto fault = response.child("fault").child("value")) ThrowFault(DecodeValue(fault, 1));
  auto value = response.child("params").child("param").child("value");
  if (!value) Malformed("no <params><param><value>");
  return DecodeValue(value, 1);
}

}  // namespace sarge::xmlrpc
