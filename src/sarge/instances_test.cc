#include "sarge/instances.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "sarge/test_util.h"

namespace sarge {
namespace {

// `list` streams its output; it must read exactly as the whole tree would.
TEST(ListingTest, StreamedListingEqualsTheWholeTreeDumped) {
  testing::TempHome t;
  for (int n = 0; n < 3; ++n) {
    std::ostringstream streamed;
    WriteListing(t.home, streamed);
    EXPECT_EQ(streamed.str(), ListInstances(t.home).dump(2) + "\n") << n << " instances";
    NewInstance(t.home, R"({"application_name": "web", "services": {"web": {"type": "listen"}},
                            "env": {"A": "line\nbreak \"quoted\""}})");
  }
}

// Past 64 KiB the text goes out in chunks; none may be lost or repeated.
TEST(ListingTest, ALongListingEqualsTheWholeTreeDumped) {
  testing::TempHome t;
  std::string config =
      R"({"application_name": "web", "env": {"A": ")" + std::string(1000, 'x') + "\"}}";
  for (int n = 0; n < 200; ++n) NewInstance(t.home, config);
  std::ostringstream streamed;
  WriteListing(t.home, streamed);
  EXPECT_GT(streamed.str().size(), 2 * 64 * 1024);
  EXPECT_EQ(streamed.str(), ListInstances(t.home).dump(2) + "\n");
}

}  // namespace
}  // namespace sarge
