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

TEST(XmlRpcTest, SaysWhereAReplyStopsBeingXml) {
  try {
    DecodeResponse("<methodResponse><params><param><value><int>1</int></value></param>");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "supervisord sent a malformed XML-RPC reply: Start-end tags mismatch at byte 65");
  }
  try {
    DecodeResponse(
        "<methodResponse><params><param><value><i4>x12</i4></value></param></params>"
        "</methodResponse>");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "supervisord sent a malformed XML-RPC reply: 'x12' is not an integer");
  }
}

}  // namespace
}  // namespace sarge::xmlrpc
