#include "sarge/random.h"

#include <gtest/gtest.h>

#include <vector>

namespace sarge {
namespace {

TEST(RandomTest, StaysBelowTheBound) {
  for (size_t n : {1, 2, 62, 10000}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(RandomBelow(n), n) << n;
  }
}

TEST(RandomTest, ReachesEveryValue) {
  // 62 letters and digits, as instance ids draw them: in 5000 draws each
  // is missed with a probability of about 1e-35.
  std::vector<int> seen(62);
  for (int i = 0; i < 5000; ++i) ++seen[RandomBelow(62)];
  for (size_t v = 0; v < seen.size(); ++v) EXPECT_GT(seen[v], 0) << v;
}

}  // namespace
}  // namespace sarge
