#include "sarge/xmlrpc.h"

#include <expat.h>

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

}  // namespace

// A <methodResponse> decoded with expat as its text goes by: no tree of
// the document is ever built, and the elements of a top-level array can be
// handed over one at a time (`list` of thousands of programs).
class ResponseDecoder {
 public:
  // With `each`, a top-level array's elements go to it instead of into the
  // decoded value.
  explicit ResponseDecoder(const std::function<void(json)>* each = nullptr)
      : parser_(XML_ParserCreate(nullptr), XML_ParserFree), each_(each) {
    if (!parser_) throw Error("cannot create an XML parser: out of memory");
    XML_SetUserData(parser_.get(), this);
    XML_SetElementHandler(parser_.get(), &ResponseDecoder::OnStart, &ResponseDecoder::OnEnd);
    XML_SetCharacterDataHandler(parser_.get(), &ResponseDecoder::OnText);
    // A DOCTYPE could declare entities; a reply has no business with one.
    XML_SetStartDoctypeDeclHandler(parser_.get(), &ResponseDecoder::OnDoctype);
  }

  void Feed(std::string_view text, bool last) {
    constexpr size_t kPiece = 1 << 20;  // XML_Parse takes an int length
    do {
      std::string_view piece = text.substr(0, kPiece);
      text.remove_prefix(piece.size());
      if (XML_Parse(parser_.get(), piece.data(), static_cast<int>(piece.size()),
                    last && text.empty()) != XML_STATUS_OK)
        Fail();
    } while (!text.empty());
  }

  // The decoded value; throws SupervisorFault for a <fault>.
  json Finish() {
    if (!saw_response_) Malformed("no <methodResponse>");
    if (fault_) {
      const json& f = *fault_;
      if (!f.is_object() || !f.contains("faultCode") || !f["faultCode"].is_number_integer())
        Malformed("a <fault> without faultCode");
      // faultString is a string from supervisord; from anything else, show what came.
      const json text = f.contains("faultString") ? f["faultString"] : json("");
      throw SupervisorFault(f["faultCode"].get<int>(),
                            text.is_string() ? text.get<std::string>() : text.dump());
    }
    if (!result_) Malformed("no <params><param><value>");
    if (each_ && !result_->is_array()) Malformed("the reply is not an array");
    return std::move(*result_);
  }

 private:
  // One open <value>, <member> or other element on the way down.
  struct Frame {
    enum Kind { kValue, kMember, kOther } kind;
    std::string element;  // for kOther, and the type element of a kValue
    json value;           // kValue: the array or struct being filled; kMember: its value
    std::string text;     // character data of a kValue or of a <name>
    std::string name;     // kMember: its <name>
    bool typed = false;   // kValue: a type element was seen
    bool has_value = false;
  };

  [[noreturn]] void Fail() {
    if (thrown_) std::rethrow_exception(thrown_);
    if (!error_.empty()) Malformed(error_);
    Malformed(fmt::format("{} at line {}", XML_ErrorString(XML_GetErrorCode(parser_.get())),
                          XML_GetCurrentLineNumber(parser_.get())));
  }
  void Stop(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    XML_StopParser(parser_.get(), XML_FALSE);
  }
  bool Stopped() const { return !error_.empty(); }

  int ValueDepth() const {
    int depth = 0;
    for (const auto& f : stack_) depth += f.kind == Frame::kValue;
    return depth;
  }
  void Start(std::string_view name) {
    if (stack_.empty() && name != "methodResponse") return Stop("no <methodResponse>");
    saw_response_ = true;
    Frame* top = stack_.empty() ? nullptr : &stack_.back();
    if (name == "value") {
      if (ValueDepth() >= kMaxDepth + 1)
        return Stop(fmt::format("values nested deeper than {}", kMaxDepth));
      stack_.push_back({Frame::kValue, "", json(), "", "", false, false});
      return;
    }
    if (top && top->kind == Frame::kValue) {
      if (top->typed)
        return Stop(
            fmt::format("a value with two types, {} and {}", Quoted(top->element), Quoted(name)));
      top->typed = true;
      top->element = std::string(name);
      top->text.clear();
      if (name == "array")
        top->value = json::array();
      else if (name == "struct")
        top->value = json::object();
      else if (name != "string" && name != "int" && name != "i4" && name != "i8" &&
               name != "boolean" && name != "double" && name != "nil")
        return Stop(fmt::format("unknown value type {}", Quoted(name)));
      stack_.push_back({Frame::kOther, std::string(name), json(), "", "", false, false});
      return;
    }
    if (name == "member") {
      stack_.push_back({Frame::kMember, "", json(), "", "", false, false});
      return;
    }
    stack_.push_back({Frame::kOther, std::string(name), json(), "", "", false, false});
  }

  void End(std::string_view name) {
    if (stack_.empty()) return;
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.kind == Frame::kOther) {
      // The text of a type element or of a <name> belongs to its parent.
      if (name == "name" && !stack_.empty() && stack_.back().kind == Frame::kMember)
        stack_.back().name = ValidUtf8(frame.text);
      else if (!stack_.empty() && stack_.back().kind == Frame::kValue && stack_.back().typed &&
               stack_.back().element == name)
        stack_.back().text = std::move(frame.text);
      return;
    }
    if (frame.kind == Frame::kMember) {
      Frame* strukt = stack_.empty() ? nullptr : &stack_.back();
      if (strukt && strukt->kind == Frame::kOther && strukt->element == "struct")
        strukt = stack_.size() >= 2 ? &stack_[stack_.size() - 2] : nullptr;
      if (strukt && strukt->kind == Frame::kValue && strukt->value.is_object() && frame.has_value)
        strukt->value[frame.name] = std::move(frame.value);
      return;
    }
    json value;
    try {
      value = Typed(frame);
    } catch (const Error& e) {
      return Stop(e.what());
    }
    Deliver(std::move(value));
  }

  // The value of a closed <value>.
  static json Typed(Frame& f) {
    if (!f.typed) return ValidUtf8(f.text);  // a bare string
    const std::string& type = f.element;
    if (type == "string") return ValidUtf8(f.text);
    if (type == "int" || type == "i4" || type == "i8") {
      try {
        return std::stoll(f.text);
      } catch (const std::exception&) {
        throw Error(fmt::format("{} is not an integer", Quoted(f.text)));
      }
    }
    if (type == "boolean") return f.text == "1";
    if (type == "double") return std::strtod(f.text.c_str(), nullptr);
    if (type == "nil") return nullptr;
    return std::move(f.value);  // array or struct
  }

  // Puts a closed value where it belongs: in its array, its member, or at
  // the top (params or fault).
  void Deliver(json value) {
    // Skip the <data> and the type element between this value and its parent.
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      if (it->kind == Frame::kMember) {
        it->value = std::move(value);
        it->has_value = true;
        return;
      }
      if (it->kind == Frame::kValue) {
        if (!it->value.is_array()) return;               // text next to a type: ignored, as before
        if (each_ && ValueDepth() == 1 && InParams()) {  // an element of the reply's own array
          (*each_)(std::move(value));
        } else {
          it->value.push_back(std::move(value));
        }
        return;
      }
      if (it->kind == Frame::kOther && it->element == "fault") {
        fault_ = std::move(value);
        return;
      }
      if (it->kind == Frame::kOther && it->element == "param") {
        if (!result_) result_ = std::move(value);
        return;
      }
    }
  }
  // Inside <params> (not a <fault>).
  bool InParams() const {
    return std::any_of(stack_.begin(), stack_.end(), [](const Frame& f) {
      return f.kind == Frame::kOther && f.element == "param";
    });
  }

  void Text(std::string_view text) {
    if (stack_.empty()) return;
    Frame& top = stack_.back();
    if (top.kind == Frame::kOther || (top.kind == Frame::kValue && !top.typed)) top.text += text;
  }

  // expat is C: nothing may be thrown through it. What a handler throws
  // (out of `each`, or bad_alloc) stops the parser and is rethrown by Fail().
  template <typename Body>
  static void Guarded(void* self, Body&& body) {
    auto* d = static_cast<ResponseDecoder*>(self);
    if (d->Stopped()) return;
    try {
      body(*d);
    } catch (...) {
      d->thrown_ = std::current_exception();
      d->Stop("a handler failed");
    }
  }
  static void OnStart(void* self, const XML_Char* name, const XML_Char**) {
    Guarded(self, [&](ResponseDecoder& d) { d.Start(name); });
  }
  static void OnEnd(void* self, const XML_Char* name) {
    Guarded(self, [&](ResponseDecoder& d) { d.End(name); });
  }
  static void OnText(void* self, const XML_Char* text, int length) {
    Guarded(self, [&](ResponseDecoder& d) {
      d.Text(std::string_view(text, static_cast<size_t>(length)));
    });
  }
  static void OnDoctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<ResponseDecoder*>(self)->Stop("a DOCTYPE in the reply");
  }

  std::unique_ptr<std::remove_pointer_t<XML_Parser>, decltype(&XML_ParserFree)> parser_;
  const std::function<void(json)>* each_;
  std::vector<Frame> stack_;
  std::optional<json> result_, fault_;
  std::string error_;
  std::exception_ptr thrown_;
  bool saw_response_ = false;
};

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

ResponseReader::ResponseReader(const std::function<void(json)>* each)
    : decoder_(std::make_unique<ResponseDecoder>(each)) {}

ResponseReader::~ResponseReader() = default;

void ResponseReader::Feed(std::string_view piece) {
  // Invalid UTF-8 would stop expat; sarge keeps what it can read of such a
  // reply, as it keeps every text (ValidUtf8), so such bytes become U+FFFD
  // first (a copy only when there are any). A sequence the piece cuts short
  // waits for the next: the bytes before it decode the same either way.
  std::string joined;
  if (!held_.empty()) {
    joined = std::move(held_) + std::string(piece);
    held_.clear();
    piece = joined;
  }
  bool valid = true;
  size_t at = 0;
  while (at < piece.size()) {
    size_t wants = Utf8LeadLength(static_cast<unsigned char>(piece[at]));
    if (wants > 1 && at + wants > piece.size()) break;  // ends in the next piece
    size_t length = Utf8SequenceLength(piece, at);
    if (length == 0) valid = false;
    at += std::max<size_t>(length, 1);
  }
  held_.assign(piece.substr(at));
  piece = piece.substr(0, at);
  if (valid)
    decoder_->Feed(piece, false);
  else
    decoder_->Feed(ValidUtf8(piece), false);
}

json ResponseReader::Finish() {
  // Bytes still held never got the rest of their sequence.
  decoder_->Feed(ValidUtf8(held_), true);
  held_.clear();
  return decoder_->Finish();
}

json DecodeResponse(std::string_view xml) {
  ResponseReader reader;
  reader.Feed(xml);
  return reader.Finish();
}

void DecodeArrayResponse(std::string_view xml, const std::function<void(json)>& each) {
  ResponseReader reader(&each);
  reader.Feed(xml);
  reader.Finish();
}

}  // namespace sarge::xmlrpc
