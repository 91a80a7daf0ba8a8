#include "sarge/xmlrpc.h"

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/supervisor.h"

namespace sarge::xmlrpc {
namespace {

using nlohmann::json;

TEST(XmlRpcTest, EncodesACallWithEscapedParams) {
  EXPECT_EQ(
      EncodeCall("supervisor.startProcess", {"web-<&>", true}),
      "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.startProcess</methodName><params>"
      "<param><value><string>web-&lt;&amp;&gt;</string></value></param>"
      "<param><value><boolean>1</boolean></value></param></params></methodCall>");
  json call = {{"methodName", "a"}, {"params", json::array({1})}};
  EXPECT_EQ(EncodeCall("system.multicall", json::array({json::array({call})})),
            "<?xml "
            "version=\"1.0\"?><methodCall><methodName>system.multicall</"
            "methodName><params><param><value><array>"
            "<data><value><struct><member><name>methodName</name><value><string>a</string>"
            "</value></member><member><name>params</name><value><array><data><value><int>1</int>"
            "</value></data></array></value></member></struct></value></data></array></value>"
            "</param></params></methodCall>");
}

TEST(XmlRpcTest, DecodesSupervisordValues) {
  json v = DecodeResponse(R"(<?xml version='1.0'?>
<methodResponse><params><param><value><array><data>
<value><struct>
<member><name>name</name><value><string>web-abc</string></value></member>
<member><name>pid</name><value><int>42</int></value></member>
<member><name>ok</name><value><boolean>0</boolean></value></member>
<member><name>bare</name><value>text</value></member>
<member><name>empty</name><value><string></string></value></member>
</struct></value>
</data></array></value></param></params></methodResponse>)");
  EXPECT_EQ(
      v,
      json::parse(R"([{"name": "web-abc", "pid": 42, "ok": false, "bare": "text", "empty": ""}])"));
}

TEST(XmlRpcTest, AnArrayIsHandedOverAnElementAtATime) {
  std::vector<json> seen;
  DecodeArrayResponse(
      "<methodResponse><params><param><value><array><data>"
      "<value><struct><member><name>name</name><value>a</value></member></struct></value>"
      "<value><int>7</int></value><value><array><data></data></array></value>"
      "</data></array></value></param></params></methodResponse>",
      [&](json v) { seen.push_back(std::move(v)); });
  EXPECT_EQ(json(seen), json::parse(R"([{"name": "a"}, 7, []])"));
  try {
    DecodeArrayResponse(
        "<methodResponse><params><param><value><int>1</int></value></param></params>"
        "</methodResponse>",
        [](json) {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "supervisord sent a malformed XML-RPC reply: the reply is not an array");
  }
  EXPECT_THROW(DecodeArrayResponse("<methodResponse><fault><value><struct><member><name>faultCode"
                                   "</name><value><int>6</int></value></member></struct></value>"
                                   "</fault></methodResponse>",
                                   [](json) {}),
               SupervisorFault);
}

TEST(XmlRpcTest, FaultsBecomeSupervisorFaults) {
  try {
    DecodeResponse(
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>10</int>"
        "</value></member><member><name>faultString</name><value><string>BAD_NAME: x</string>"
        "</value></member></struct></value></fault></methodResponse>");
    FAIL();
  } catch (const SupervisorFault& f) {
    EXPECT_EQ(f.code(), fault::kBadName);
    EXPECT_STREQ(f.what(), "supervisord answered: BAD_NAME: x");
  }
}

TEST(XmlRpcTest, MalformedRepliesAreErrors) {
  for (const char* bad :
       {"", "<html/>", "<methodResponse><params/></methodResponse>",
        "<methodResponse><params><param><value><int>x</int></value></param>"
        "</params></methodResponse>",
        "<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
        "<methodResponse><params><param><value><weird/></value></param></params>"
        "</methodResponse>"}) {
    EXPECT_THROW(DecodeResponse(bad), Error) << bad;
  }
}

TEST(XmlRpcTest, RefusesDeepNestingInsteadOfRecursingDown) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<value><array><data>";
  for (int i = 0; i < 100000; ++i) deep += "</data></array></value>";
  try {
    DecodeResponse("<methodResponse><params><param>" + deep + "</param></params></methodResponse>");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "supervisord sent a malformed XML-RPC reply: values nested deeper than 32");
  }
}

// Found by CI's fuzz run: a faultString that is not a string threw
// nlohmann's type_error out of DecodeResponse.
TEST(XmlRpcTest, FaultStringOfAnotherTypeIsShownAsJson) {
  try {
    DecodeResponse(
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>2</int>"
        "</value></member><member><name>faultString</name><value><int>7</int></value></member>"
        "</struct></value></fault></methodResponse>");
    FAIL() << "accepted";
  } catch (const SupervisorFault& f) {
    EXPECT_STREQ(f.what(), "supervisord answered: 7");
  }
}

// Found by fuzz/xmlrpc_fuzzer.cc: a fault's text went into the message whole.
TEST(XmlRpcTest, CutsLongFaultStrings) {
  try {
    DecodeResponse(
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>2</int>"
        "</value></member><member><name>faultString</name><value><string>" +
        std::string(5000, 'x') +
        "</string></value></member></struct></value></fault></methodResponse>");
    FAIL() << "accepted";
  } catch (const SupervisorFault& f) {
    EXPECT_EQ(f.what(), "supervisord answered: " + std::string(500, 'x') + "…");
  }
}

TEST(XmlRpcTest, WhatTheElementHandlerThrowsComesOutOfTheDecoder) {
  std::string reply =
      "<methodResponse><params><param><value><array><data><value><int>1</int></value>"
      "<value><int>2</int></value></data></array></value></param></params></methodResponse>";
  int seen = 0;
  try {
    DecodeArrayResponse(reply, [&](json) {
      if (++seen == 1) throw Error("not a struct");
    });
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "not a struct");
  }
  EXPECT_EQ(seen, 1);  // the parser stopped there
  // A fault's array is not handed over as the reply's elements.
  EXPECT_THROW(DecodeArrayResponse("<methodResponse><fault><value><array><data><value><int>1"
                                   "</int></value></data></array></value></fault></methodResponse>",
                                   [](json) { FAIL() << "handed over"; }),
               Error);
}

TEST(XmlRpcTest, ADoctypeIsRefused) {
  // Entities declared in a DOCTYPE could expand a small reply into gigabytes.
  try {
    DecodeResponse(
        "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
        "<methodResponse><params><param><value><string>&b;</string></value></param></params>"
        "</methodResponse>");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "supervisord sent a malformed XML-RPC reply: a DOCTYPE in the reply");
  }
}

TEST(XmlRpcTest, KeepsStringsValidUtf8AndFaultsOnOneLine) {
  json v = DecodeResponse(
      "<methodResponse><params><param><value><string>a\xff\xfe"
      "b</string></value></param></params>"
      "</methodResponse>");
  EXPECT_EQ(v,
            "a\xef\xbf\xbd\xef\xbf\xbd"
            "b");
  try {
    DecodeResponse(
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>92</int>"
        "</value></member><member><name>faultString</name><value><string>CANT_REREAD: bad\n"
        "[line 3]</string></value></member></struct></value></fault></methodResponse>");
    FAIL() << "accepted";
  } catch (const SupervisorFault& f) {
    EXPECT_STREQ(f.what(), "supervisord answered: CANT_REREAD: bad\\n[line 3]");
  }
}

// What a reader fed `pieces` makes of them: the elements, then the value,
// or the error.
std::string ReadInPieces(const std::vector<std::string_view>& pieces) {
  std::vector<json> elements;
  const std::function<void(json)> each = [&](json v) { elements.push_back(std::move(v)); };
  ResponseReader reader(&each);
  try {
    for (auto piece : pieces) reader.Feed(piece);
    json value = reader.Finish();
    return json(elements).dump() + " " + value.dump();
  } catch (const std::exception& e) {
    return json(elements).dump() + " error: " + e.what();
  }
}

TEST(XmlRpcTest, AReplyReadInPiecesDecodesAsAWholeWhereverItIsCut) {
  // Two- three- and four-byte characters, invalid bytes (alone, a lead
  // byte without its continuation, an overlong form), and a sequence cut
  // short by the end of the reply.
  const std::string replies[] = {
      "<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
      "<value><string>caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80</string></value>"
      "<value><string>a\xff\xfe b \xe2\x9c c \xe0\x80\xaf d \xc3</string></value>"
      "<value><struct><member><name>n\xc3\xa9</name><value><int>7</int></value></member>"
      "</struct></value></data></array></value></param></params></methodResponse>",
      "<methodResponse><params><param><value><array><data><value>x</value></data></array>"
      "</value></param></params></methodResponse>\xf0\x9f",
      "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>6</int>"
      "</value></member><member><name>faultString</name><value><string>SHUT\xe2\x9c\x93"
      "</string></value></member></struct></value></fault></methodResponse>",
  };
  for (const auto& reply : replies) {
    std::string whole = ReadInPieces({reply});
    for (size_t cut = 0; cut <= reply.size(); ++cut) {
      std::string_view text = reply;
      ASSERT_EQ(ReadInPieces({text.substr(0, cut), text.substr(cut)}), whole) << "cut at " << cut;
    }
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < reply.size(); ++i) bytes.push_back(std::string_view(reply).substr(i, 1));
    EXPECT_EQ(ReadInPieces(bytes), whole) << "a byte at a time";
  }
  // The elements went to `each`: the value left is an empty array.
  EXPECT_EQ(ReadInPieces({replies[0]}),
            "[\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80\",\"a\xef\xbf\xbd\xef\xbf\xbd b "
            "\xef\xbf\xbd\xef\xbf\xbd c \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd d "
            "\xef\xbf\xbd\",{\"n\xc3\xa9\":7}] []");
  // Bytes after the document: the elements before them were handed over.
  EXPECT_EQ(ReadInPieces({replies[1]}),
            "[\"x\"] error: supervisord sent a malformed XML-RPC reply: not well-formed (invalid "
            "token) at line 1");
  EXPECT_EQ(ReadInPieces({replies[2]}), "[] error: supervisord answered: SHUT\xe2\x9c\x93");
}

}  // namespace
}  // namespace sarge::xmlrpc
