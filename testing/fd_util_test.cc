#include "testing/fd_util.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace epollhttp::test {
namespace {

TEST(OpenFdCountTest, CountsPipeEnds) {
  const int before = OpenFdCount();
  ASSERT_GE(before, 0);
  {
    auto pipe = MakePipe();
    EXPECT_EQ(OpenFdCount(), before + 2);
  }
  EXPECT_EQ(OpenFdCount(), before);
}

TEST(IsOpenTest, FalseForClosedDescriptor) {
  auto [r, w] = MakePipe();
  const int raw = r.release();
  EXPECT_TRUE(IsOpen(raw));
  ::close(raw);
  EXPECT_FALSE(IsOpen(raw));
}

}  // namespace
}  // namespace epollhttp::test
