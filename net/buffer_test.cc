#include "net/buffer.h"

#include <string>

#include "gtest/gtest.h"

namespace epollhttp::net {
namespace {

TEST(BufferTest, AppendConsumeAndRelease) {
  Buffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.capacity(), 0u);
  buffer.Append("hello ");
  buffer.Append("world");
  EXPECT_EQ(buffer.readable(), "hello world");
  buffer.Consume(6);
  EXPECT_EQ(buffer.readable(), "world");
  buffer.Consume(5);
  EXPECT_TRUE(buffer.empty());
  // Small capacity is kept for reuse; a grown buffer is released when emptied.
  EXPECT_GT(buffer.capacity(), 0u);
  buffer.Append(std::string(10000, 'x'));
  buffer.Consume(10000);
  EXPECT_EQ(buffer.capacity(), 0u);
}

TEST(BufferTest, CompactsInsteadOfGrowingWhenThePrefixIsConsumed) {
  Buffer buffer;
  buffer.Append(std::string(200, 'a'));
  const size_t capacity = buffer.capacity();
  buffer.Consume(150);
  buffer.Append(std::string(100, 'b'));
  EXPECT_EQ(buffer.capacity(), capacity);
  EXPECT_EQ(buffer.readable(), std::string(50, 'a') + std::string(100, 'b'));
}

TEST(BufferTest, ShrinksWhenMostlyConsumed) {
  Buffer buffer;
  buffer.Append(std::string(60000, 'a') + "GET / HT");
  EXPECT_GE(buffer.capacity(), 60008u);
  buffer.Consume(60000);
  // A few bytes of the next head must not keep the whole block.
  EXPECT_EQ(buffer.readable(), "GET / HT");
  EXPECT_LE(buffer.capacity(), 4096u);
  buffer.Append("TP/1.1\r\n");
  EXPECT_EQ(buffer.readable(), "GET / HTTP/1.1\r\n");
}

TEST(BufferTest, KeepsItsBlockWhileMoreThanAQuarterFull) {
  Buffer buffer;
  buffer.Append(std::string(10000, 'a'));
  const size_t capacity = buffer.capacity();
  buffer.Consume(5000);
  EXPECT_EQ(buffer.capacity(), capacity);
  EXPECT_EQ(buffer.readable(), std::string(5000, 'a'));
}

}  // namespace
}  // namespace epollhttp::net
