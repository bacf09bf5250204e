#include "server/upload/sweeper.h"

#include "gtest/gtest.h"
#include "server/upload/fake_file_system.h"

namespace epollhttp::upload {
namespace {

TEST(UploadSweeperTest, RemovesOnlyIncompleteExpiredUploads) {
  FakeFileSystem fs("/up");
  auto store = UploadStore::Open(&fs, "/up").value();
  const std::string old = store->Create(10, "", 100)->id;
  const std::string fresh = store->Create(10, "", 300)->id;
  const std::string done = store->Create(1, "", 100)->id;
  ASSERT_EQ(store->Write(done, 0, "x"), 0);
  ASSERT_EQ(store->Commit(done), 1);
  int heard = 0;
  // Simulated time: the clock is the argument.
  EXPECT_EQ(UploadSweeper::SweepOnce(store.get(), 99, [&] { ++heard; }), 0);
  EXPECT_EQ(UploadSweeper::SweepOnce(store.get(), 200, [&] { ++heard; }), 1);
  EXPECT_EQ(heard, 1);
  EXPECT_FALSE(store->Get(old).has_value());
  EXPECT_FALSE(fs.Exists("/up/" + old + ".bin"));
  EXPECT_TRUE(store->Get(fresh).has_value());
  EXPECT_TRUE(store->Get(done).has_value());  // Complete: kept whatever its expiry.
  EXPECT_EQ(UploadSweeper::SweepOnce(store.get(), 1000), 1);
  EXPECT_TRUE(store->Get(done).has_value());
}

}  // namespace
}  // namespace epollhttp::upload
