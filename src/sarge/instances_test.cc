#include "sarge/instances.h"

#include <sstream>

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

}  // namespace
}  // namespace sarge
