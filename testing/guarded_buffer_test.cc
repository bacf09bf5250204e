#include "testing/guarded_buffer.h"

#include "gtest/gtest.h"

namespace epollhttp::test {
namespace {

TEST(GuardedBufferTest, HoldsACopyOfTheBytes) {
  const GuardedBuffer buffer("GET / HTTP/1.1\r\n");
  EXPECT_EQ(buffer.view(), "GET / HTTP/1.1\r\n");
}

TEST(GuardedBufferTest, EmptyInputHasSizeZero) {
  const GuardedBuffer buffer("");
  EXPECT_TRUE(buffer.view().empty());
}

TEST(GuardedBufferDeathTest, ReadingOnePastTheEndCrashes) {
  const GuardedBuffer buffer("abc");
  const volatile char* end = buffer.view().data() + buffer.view().size();
  EXPECT_DEATH({ [[maybe_unused]] char c = *end; }, "");
}

}  // namespace
}  // namespace epollhttp::test
