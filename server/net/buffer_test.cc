#include "server/net/buffer.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "testing/fd_util.h"

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

TEST(BufferTest, EmptyBufferSpillsEverythingWithoutCopying) {
  auto [read_end, write_end] = testing::MakePipe();
  ASSERT_EQ(::write(write_end.get(), "GET / HTTP/1.1\r\n", 16), 16);
  Buffer buffer;
  char spill[64];
  const Buffer::ReadResult r = buffer.ReadFrom(read_end.get(), absl::MakeSpan(spill));
  EXPECT_EQ(r.bytes, 16);
  EXPECT_EQ(r.spilled, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(r.spilled.data(), spill);
  EXPECT_TRUE(buffer.empty());
}

TEST(BufferTest, PartlyFilledBufferTakesBytesFirstThenSpills) {
  auto [read_end, write_end] = testing::MakePipe();
  Buffer buffer;
  buffer.Append("GET");
  const size_t free_space = buffer.capacity() - 3;
  const std::string more(free_space + 10, 'm');
  ASSERT_EQ(::write(write_end.get(), more.data(), more.size()),
            static_cast<ssize_t>(more.size()));
  char spill[64];
  const Buffer::ReadResult r = buffer.ReadFrom(read_end.get(), absl::MakeSpan(spill));
  EXPECT_EQ(r.bytes, static_cast<ssize_t>(more.size()));
  EXPECT_EQ(buffer.readable().size(), 3 + free_space);
  EXPECT_EQ(r.spilled, std::string(10, 'm'));
}

TEST(BufferTest, EofAndErrorsAreReported) {
  auto [read_end, write_end] = testing::MakePipe();
  write_end.reset();
  Buffer buffer;
  char spill[16];
  EXPECT_EQ(buffer.ReadFrom(read_end.get(), absl::MakeSpan(spill)).bytes, 0);
  const Buffer::ReadResult bad = buffer.ReadFrom(-1, absl::MakeSpan(spill));
  EXPECT_EQ(bad.bytes, -1);
  EXPECT_EQ(bad.error, EBADF);
}

}  // namespace
}  // namespace epollhttp::net
