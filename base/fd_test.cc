#include "base/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <type_traits>
#include <utility>

#include "gtest/gtest.h"
#include "testing/fd_util.h"

namespace epollhttp {
namespace {

using ::epollhttp::test::IsOpen;
using ::epollhttp::test::MakePipe;

static_assert(!std::is_copy_constructible_v<Fd>);
static_assert(!std::is_copy_assignable_v<Fd>);
static_assert(std::is_nothrow_move_constructible_v<Fd>);
static_assert(std::is_nothrow_move_assignable_v<Fd>);

TEST(FdTest, DefaultHoldsNothing) {
  Fd fd;
  EXPECT_EQ(fd.get(), -1);
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(static_cast<bool>(fd));
}

TEST(FdTest, DestructorCloses) {
  auto [r, w] = MakePipe();
  const int raw = r.get();
  ASSERT_TRUE(IsOpen(raw));
  { Fd owner(r.release()); }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(FdTest, MoveConstructionTransfersOwnership) {
  auto [r, w] = MakePipe();
  const int raw = r.get();
  Fd moved(std::move(r));
  EXPECT_EQ(moved.get(), raw);
  EXPECT_FALSE(r.valid());  // NOLINT(bugprone-use-after-move): checking the contract.
  EXPECT_TRUE(IsOpen(raw));
}

TEST(FdTest, MoveAssignmentClosesTheOldDescriptor) {
  auto [r1, w1] = MakePipe();
  auto [r2, w2] = MakePipe();
  const int old_raw = r1.get();
  const int new_raw = r2.get();
  r1 = std::move(r2);
  EXPECT_EQ(r1.get(), new_raw);
  EXPECT_FALSE(r2.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(IsOpen(old_raw));
  EXPECT_TRUE(IsOpen(new_raw));
}

TEST(FdTest, SelfMoveAssignmentKeepsTheDescriptor) {
  auto [r, w] = MakePipe();
  const int raw = r.get();
  Fd& alias = r;
  r = std::move(alias);
  EXPECT_EQ(r.get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

TEST(FdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  auto [r, w] = MakePipe();
  const int raw = r.get();
  const int released = r.release();
  EXPECT_EQ(released, raw);
  EXPECT_FALSE(r.valid());
  EXPECT_TRUE(IsOpen(raw));
  ::close(released);
}

TEST(FdTest, ResetClosesAndAdopts) {
  auto [r1, w1] = MakePipe();
  auto [r2, w2] = MakePipe();
  const int old_raw = r1.get();
  const int new_raw = r2.release();
  r1.reset(new_raw);
  EXPECT_FALSE(IsOpen(old_raw));
  EXPECT_EQ(r1.get(), new_raw);
  r1.reset();
  EXPECT_FALSE(IsOpen(new_raw));
  EXPECT_FALSE(r1.valid());
}

}  // namespace
}  // namespace epollhttp
