#include "server/upload/upload_locks.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace epollhttp::upload {
namespace {

class Recorder final : public UploadLocks::Client {
 public:
  Recorder(std::vector<std::string>* log, std::string name) : log_(log), name_(std::move(name)) {}
  void Granted() override { log_->push_back(name_ + " granted"); }
  void Preempt() override { log_->push_back(name_ + " preempted"); }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

TEST(UploadLocksTest, WaitersGoInTurnAndAPatchIsAskedToEndOnce) {
  auto loop = net::EventLoop::Create().value();
  UploadLocks locks;
  std::vector<std::string> log;
  Recorder patch(&log, "patch"), head(&log, "head"), del(&log, "delete");
  bool granted = false;
  const uint64_t p = locks.Acquire("u", loop.get(), &patch, /*preemptible=*/true, &granted);
  EXPECT_TRUE(granted);
  const uint64_t h = locks.Acquire("u", loop.get(), &head, false, &granted);
  EXPECT_FALSE(granted);
  const uint64_t d = locks.Acquire("u", loop.get(), &del, false, &granted);
  EXPECT_FALSE(granted);
  loop->RunUntilIdle();
  EXPECT_EQ(log, std::vector<std::string>{"patch preempted"});  // Once, though two wait.
  locks.Release("u", p);
  loop->RunUntilIdle();
  EXPECT_EQ(log.back(), "head granted");
  locks.Release("u", d);  // The DELETE gave up waiting (its request died).
  locks.Release("u", h);
  loop->RunUntilIdle();
  EXPECT_EQ(log.size(), 2u);  // Nobody is granted twice, or after leaving.
  EXPECT_EQ(locks.locked(), 0u);
  // Other uploads are independent.
  EXPECT_NE(locks.Acquire("v", loop.get(), &head, false, &granted), 0u);
  EXPECT_TRUE(granted);
}

TEST(UploadLocksTest, APostForAClientThatLeftIsDropped) {
  auto loop = net::EventLoop::Create().value();
  UploadLocks locks;
  std::vector<std::string> log;
  auto patch = std::make_unique<Recorder>(&log, "patch");
  Recorder head(&log, "head");
  bool granted = false;
  const uint64_t p = locks.Acquire("u", loop.get(), patch.get(), true, &granted);
  const uint64_t h = locks.Acquire("u", loop.get(), &head, false, &granted);
  // The PATCH leaves before the posted Preempt() runs: it must not hear it.
  locks.Release("u", p);
  patch.reset();
  loop->RunUntilIdle();
  EXPECT_EQ(log, std::vector<std::string>{"head granted"});
  locks.Release("u", h);
}

TEST(UploadLocksTest, AnOrphanedHolderKeepsTheLockButHearsNothing) {
  auto loop = net::EventLoop::Create().value();
  UploadLocks locks;
  std::vector<std::string> log;
  auto patch = std::make_unique<Recorder>(&log, "patch");
  Recorder head(&log, "head");
  bool granted = false;
  const uint64_t p = locks.Acquire("u", loop.get(), patch.get(), true, &granted);
  locks.Orphan("u", p);  // The request died; its last commit is still on the way.
  patch.reset();
  const uint64_t h = locks.Acquire("u", loop.get(), &head, false, &granted);
  EXPECT_FALSE(granted);
  loop->RunUntilIdle();
  EXPECT_TRUE(log.empty());  // The Preempt() posted for it reached no one.
  locks.Release("u", p);     // The commit is done.
  loop->RunUntilIdle();
  EXPECT_EQ(log, std::vector<std::string>{"head granted"});
  locks.Release("u", h);
}

TEST(UploadLocksTest, APatchWaitingBehindAPatchDoesNotEndIt) {
  auto loop = net::EventLoop::Create().value();
  UploadLocks locks;
  std::vector<std::string> log;
  Recorder first(&log, "first"), second(&log, "second"), head(&log, "head");
  bool granted = false;
  const uint64_t a = locks.Acquire("u", loop.get(), &first, true, &granted);
  const uint64_t b = locks.Acquire("u", loop.get(), &second, true, &granted);
  loop->RunUntilIdle();
  EXPECT_TRUE(log.empty());  // It may be the older one, read late: it waits.
  const uint64_t h = locks.Acquire("u", loop.get(), &head, false, &granted);
  loop->RunUntilIdle();
  EXPECT_EQ(log, std::vector<std::string>{"first preempted"});  // A HEAD does end it.
  locks.Release("u", a);
  loop->RunUntilIdle();
  // The second PATCH holds it now, with the HEAD behind: it is asked too.
  EXPECT_EQ(log,
            (std::vector<std::string>{"first preempted", "second granted", "second preempted"}));
  locks.Release("u", b);
  locks.Release("u", h);
}

}  // namespace
}  // namespace epollhttp::upload
