#include "server/upload/write_buffer.h"

#include <cstdint>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace epollhttp::upload {
namespace {

TEST(WriteBufferTest, BytesStartWhereTheyFallInTheirBlockAndGrowAligned) {
  WriteBuffer buffer;
  EXPECT_TRUE(buffer.view().empty());
  buffer.Reset(int64_t{3} * 4096 + 5);
  EXPECT_EQ(buffer.room(), 5u);
  std::string expected;
  for (int i = 0; i < 100; ++i) {  // Grows from nothing, past several blocks.
    const std::string piece(1000 + i, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(buffer.Append(piece));
    expected += piece;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.block()) % WriteBuffer::kAlign, 0u);
    EXPECT_EQ(buffer.view().data(), buffer.block() + 5);
  }
  EXPECT_EQ(buffer.view(), expected);
  EXPECT_EQ(buffer.size(), expected.size());
  // Reset keeps the memory for the next piece, with its own room.
  char* block = buffer.block();
  buffer.Reset(4095);
  EXPECT_TRUE(buffer.empty());
  ASSERT_TRUE(buffer.Append("xyz"));
  EXPECT_EQ(buffer.block(), block);
  EXPECT_EQ(buffer.view(), "xyz");
  EXPECT_EQ(buffer.room(), 4095u);
}

TEST(WriteBufferTest, MovingLeavesTheSourceEmptyWithNoMemory) {
  WriteBuffer a;
  a.Reset(7);
  ASSERT_TRUE(a.Append("hello"));
  WriteBuffer b = std::move(a);
  EXPECT_EQ(b.view(), "hello");
  EXPECT_EQ(b.room(), 7u);
  EXPECT_EQ(a.block(), nullptr);  // NOLINT(bugprone-use-after-move): the contract.
  EXPECT_TRUE(a.empty());
  a.Reset(0);
  ASSERT_TRUE(a.Append("again"));  // Usable again.
  EXPECT_EQ(a.view(), "again");
  std::swap(a, b);
  EXPECT_EQ(a.view(), "hello");
  EXPECT_EQ(b.view(), "again");
}

}  // namespace
}  // namespace epollhttp::upload
