// The upload store over a fake file system that fails any call on request
// and cuts the power between any two calls.
#include "server/upload/store.h"

#include <cerrno>
#include <functional>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "server/upload/fake_file_system.h"

namespace epollhttp::upload {
namespace {

constexpr char kDir[] = "/up";
using Op = FakeFileSystem::Op;

std::string Data(absl::string_view id) { return absl::StrCat(kDir, "/", id, ".bin"); }
std::string Record(absl::string_view id) { return absl::StrCat(kDir, "/", id, ".info"); }

std::unique_ptr<UploadStore> OpenStore(FakeFileSystem* fs, RecoveryStats* stats = nullptr) {
  absl::StatusOr<std::unique_ptr<UploadStore>> store = UploadStore::Open(fs, kDir, stats);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(UploadStoreTest, WritesCommitAndComplete) {
  FakeFileSystem fs(kDir);
  auto store = OpenStore(&fs);
  const UploadState created = store->Create(10, "filename aGVsbG8=", 1000).value();
  EXPECT_TRUE(ValidId(created.id));
  EXPECT_EQ(created.offset, 0);
  EXPECT_FALSE(created.complete);
  EXPECT_EQ(store->Write(created.id, 0, "abcd"), 0);
  EXPECT_EQ(store->Get(created.id)->offset, 0);  // Written is not acknowledged.
  EXPECT_EQ(store->written(created.id), 4);
  EXPECT_EQ(store->Commit(created.id), 4);
  EXPECT_EQ(store->Get(created.id)->offset, 4);
  EXPECT_EQ(store->Write(created.id, 3, "x"), -ERANGE);       // Not where the bytes end.
  EXPECT_EQ(store->Write(created.id, 4, "1234567"), -EFBIG);  // Past the length.
  EXPECT_EQ(store->Write(created.id, 4, "efghij"), 0);
  EXPECT_EQ(store->Commit(created.id), 10);
  const UploadState done = *store->Get(created.id);
  EXPECT_TRUE(done.complete);
  EXPECT_EQ(done.metadata, "filename aGVsbG8=");
  EXPECT_EQ(store->Write(created.id, 10, "z"), -EEXIST);
  EXPECT_EQ(fs.Contents(Data(created.id)), "abcdefghij");
  size_t valid = 0;
  const std::string log = fs.Contents(Record(created.id));
  EXPECT_EQ(ParseRecordLog(created.id, log, &valid)->offset, 10);
  EXPECT_EQ(valid, log.size());
  const int fd = store->OpenData(created.id);
  ASSERT_GE(fd, 0);
  fs.Close(fd);
  EXPECT_EQ(store->Get("0123456789abcdef0123456789abcdef"), std::nullopt);
  EXPECT_EQ(store->Write("../etc/passwd", 0, "x"), -ENOENT);
}

TEST(UploadStoreTest, RecoveryCutsUnacknowledgedBytesAndKeepsAcknowledgedOnes) {
  FakeFileSystem fs(kDir);
  fs.set_direct(false);  // Buffered writes: every byte goes to the file at once.
  std::string id;
  {
    auto store = OpenStore(&fs);
    id = store->Create(-1, "", 1000)->id;
    ASSERT_EQ(store->Write(id, 0, "durable"), 0);
    ASSERT_EQ(store->Commit(id), 7);
    ASSERT_EQ(store->Write(id, 7, "-lost"), 0);
  }
  // The power goes with the unsynced bytes still in the file.
  fs.Crash([](const std::string&) { return true; }, false);
  RecoveryStats stats;
  auto store = OpenStore(&fs, &stats);
  EXPECT_EQ(stats.uploads, 1);
  EXPECT_EQ(stats.truncated, 1);
  EXPECT_EQ(store->Get(id)->offset, 7);
  EXPECT_EQ(fs.Contents(Data(id)), "durable");
  EXPECT_EQ(store->Write(id, 7, "+more"), 0);  // Resumes where it was acknowledged.
  EXPECT_EQ(store->Commit(id), 12);
}

TEST(UploadStoreTest, HalfMadeRecordsAndOrphanDataFilesAreRemoved) {
  FakeFileSystem fs(kDir);
  const std::string orphan = "00000000000000000000000000000001";
  const std::string torn = "00000000000000000000000000000002";
  fs.WriteFile(Data(orphan), "no record");
  fs.WriteFile(Record(orphan) + ".tmp", "epollhttp-upload 1\noffset 9\n");
  fs.WriteFile(Data(torn), "abc");
  fs.WriteFile(Record(torn), "epollhttp-upload 1\noffset 3\nlength -1\n");  // Cut short.
  fs.WriteFile(absl::StrCat(kDir, "/README"), "not ours");
  RecoveryStats stats;
  auto store = OpenStore(&fs, &stats);
  EXPECT_EQ(stats.uploads, 0);
  EXPECT_EQ(stats.half_made_records, 1);
  EXPECT_EQ(stats.orphan_data_files, 1);
  EXPECT_EQ(stats.unreadable_records, 1);
  EXPECT_FALSE(fs.Exists(Data(orphan)));
  EXPECT_FALSE(fs.Exists(Data(torn)));
  EXPECT_FALSE(fs.Exists(Record(torn)));
  EXPECT_TRUE(fs.Exists(absl::StrCat(kDir, "/README")));  // Not a name the store makes.
}

TEST(UploadStoreTest, AFailedSyncFailsTheUploadForGood) {
  FakeFileSystem fs(kDir);
  auto store = OpenStore(&fs);
  const std::string id = store->Create(-1, "", 1000)->id;
  ASSERT_EQ(store->Write(id, 0, "good"), 0);
  ASSERT_EQ(store->Commit(id), 4);
  ASSERT_EQ(store->Write(id, 4, "bad"), 0);
  bool fail = true;
  fs.set_fault([&fail](Op op, const std::string&) -> int64_t {
    return op == Op::kDataSync && fail ? -EIO : 0;
  });
  EXPECT_EQ(store->Commit(id), -EIO);
  fail = false;  // The disk "recovers": the store must not believe it.
  EXPECT_EQ(store->Commit(id), -EIO);
  EXPECT_EQ(store->Write(id, 7, "x"), -EIO);
  EXPECT_TRUE(store->Get(id)->failed);
  EXPECT_EQ(store->Get(id)->offset, 4);  // Never acknowledged past what was durable.
  EXPECT_EQ(store->OpenData(id), -ENOENT);
}

TEST(UploadStoreTest, DirectWritesKeepThePartBlockInMemoryUntilACommit) {
  FakeFileSystem fs(kDir);
  std::string id;
  const std::string bytes(20000, 'd');
  {
    auto store = OpenStore(&fs);
    id = store->Create(-1, "", 1000)->id;
    ASSERT_EQ(store->Write(id, 0, absl::string_view(bytes).substr(0, 5000)), 0);
    EXPECT_EQ(fs.Contents(Data(id)).size(), 4096u);  // One whole block; 904 bytes wait.
    ASSERT_EQ(store->Commit(id), 5000);
    EXPECT_EQ(fs.Contents(Data(id)), bytes.substr(0, 5000));  // Padded, then cut back.
    // The next write rewrites the part block whole, then unacknowledged blocks.
    ASSERT_EQ(store->Write(id, 5000, absl::string_view(bytes).substr(5000, 7000)), 0);
    EXPECT_EQ(fs.Contents(Data(id)).size(), 12000u - 12000u % 4096);
  }
  fs.Crash([](const std::string&) { return true; }, false);
  RecoveryStats stats;
  auto store = OpenStore(&fs, &stats);
  EXPECT_EQ(stats.truncated, 1);
  EXPECT_EQ(store->Get(id)->offset, 5000);
  EXPECT_EQ(fs.Contents(Data(id)), bytes.substr(0, 5000));
  // Resumes: the part block is read back from the file.
  ASSERT_EQ(store->Write(id, 5000, absl::string_view(bytes).substr(5000)), 0);
  ASSERT_EQ(store->Commit(id), 20000);
  EXPECT_EQ(fs.Contents(Data(id)), bytes);
  // Where the file system has no direct I/O, writes are buffered.
  FakeFileSystem tmpfs(kDir);
  tmpfs.set_direct(false);
  auto buffered = OpenStore(&tmpfs);
  const std::string other = buffered->Create(-1, "", 1000)->id;
  ASSERT_EQ(buffered->Write(other, 0, "abc"), 0);
  EXPECT_EQ(tmpfs.Contents(Data(other)), "abc");
}

TEST(UploadStoreTest, APieceInAnAlignedBufferIsWrittenFromItInBothModes) {
  for (const bool direct : {true, false}) {
    FakeFileSystem fs(kDir);
    fs.set_direct(direct);
    auto store = OpenStore(&fs);
    const std::string id = store->Create(-1, "", 1000)->id;
    std::string all;
    int64_t at = 0;
    for (const size_t size : {size_t{5000}, size_t{3}, size_t{9000}, size_t{4093}, size_t{1}}) {
      WriteBuffer piece;
      piece.Reset(at);
      const std::string bytes(size, static_cast<char>('a' + size % 26));
      ASSERT_TRUE(piece.Append(bytes));
      ASSERT_EQ(store->Write(id, at, &piece), 0) << size;
      EXPECT_EQ(piece.view(), bytes);  // The bytes themselves are left alone.
      all += bytes;
      at += static_cast<int64_t>(size);
      if (size == 3) {
        ASSERT_EQ(store->Commit(id), at);
      }
    }
    WriteBuffer misplaced;
    misplaced.Reset(at + 1);  // Its room says it goes elsewhere.
    ASSERT_TRUE(misplaced.Append("x"));
    EXPECT_EQ(store->Write(id, at, &misplaced), -EINVAL);
    ASSERT_EQ(store->Commit(id), at);
    EXPECT_EQ(fs.Contents(Data(id)), all) << direct;
  }
}

TEST(UploadStoreTest, AFullDiskUnderDirectWritesKeepsTheWholeBlocksThatFit) {
  FakeFileSystem fs(kDir);
  auto store = OpenStore(&fs);
  const std::string id = store->Create(-1, "", 1000)->id;
  const int64_t used = static_cast<int64_t>(fs.Contents(Record(id)).size());
  fs.set_capacity(used + 5000);
  EXPECT_EQ(store->Write(id, 0, std::string(10000, 'x')), -ENOSPC);
  EXPECT_EQ(store->written(id), 4096);  // A direct write stops on a block.
  EXPECT_EQ(store->Commit(id), 4096);
  fs.set_capacity(-1);
  EXPECT_EQ(store->Write(id, 4096, std::string(100, 'y')), 0);
  EXPECT_EQ(store->Commit(id), 4196);
  EXPECT_EQ(fs.Contents(Data(id)), std::string(4096, 'x') + std::string(100, 'y'));
}

TEST(UploadStoreTest, AFullDiskKeepsTheBytesThatFitAndAcknowledgesNothingMore) {
  FakeFileSystem fs(kDir);
  fs.set_direct(false);  // Buffered: a short write may end anywhere.
  auto store = OpenStore(&fs);
  const std::string id = store->Create(-1, "", 1000)->id;
  const int64_t used = static_cast<int64_t>(fs.Contents(Record(id)).size());
  fs.set_capacity(used + 5);
  EXPECT_EQ(store->Write(id, 0, "0123456789"), -ENOSPC);
  EXPECT_EQ(store->written(id), 5);
  EXPECT_EQ(store->Get(id)->offset, 0);
  // The record of a commit needs room too: the old record stays in force.
  EXPECT_EQ(store->Commit(id), -ENOSPC);
  EXPECT_EQ(store->Get(id)->offset, 0);
  EXPECT_FALSE(store->Get(id)->failed);
  EXPECT_EQ(store->Rollback(id), 0);
  fs.set_capacity(-1);
  EXPECT_EQ(store->Write(id, 0, "0123456789"), 0);
  EXPECT_EQ(store->Commit(id), 10);
  // Creating with a known length reserves the space, or fails cleanly.
  fs.set_capacity(static_cast<int64_t>(fs.Contents(Data(id)).size() + 2 * used + 100));
  EXPECT_FALSE(store->Create(1'000'000, "", 1000).ok());
  RecoveryStats stats;
  auto reopened = OpenStore(&fs, &stats);
  EXPECT_EQ(stats.uploads, 1);  // Nothing half-made from the refused creation.
}

TEST(UploadStoreTest, ShortWritesAreCompleted) {
  for (const bool direct : {false, true}) {
    FakeFileSystem fs(kDir);
    fs.set_direct(direct);
    auto store = OpenStore(&fs);
    const std::string id = store->Create(-1, "", 1000)->id;
    // Buffered writes stop anywhere; direct ones on a block.
    fs.set_fault([](Op op, const std::string&) -> int64_t { return op == Op::kWrite ? 5000 : 0; });
    std::string bytes(20000, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(store->Write(id, 0, bytes), 0);
    EXPECT_EQ(store->Commit(id), 20000);
    EXPECT_EQ(fs.Contents(Data(id)), bytes) << direct;
  }
}

TEST(UploadStoreTest, EveryFailingStepOfACreationLeavesNothingBehind) {
  int64_t steps = 0;
  {
    FakeFileSystem fs(kDir);
    auto store = OpenStore(&fs);
    const int64_t start = fs.calls();
    ASSERT_TRUE(store->Create(100, "", 1000).ok());
    steps = fs.calls() - start;
  }
  ASSERT_GT(steps, 5);
  static constexpr int kErrors[] = {-EIO, -ENOSPC, -EDQUOT, -EFBIG};
  for (int64_t n = 1; n <= steps; ++n) {
    for (const int error : kErrors) {
      FakeFileSystem fs(kDir);
      auto store = OpenStore(&fs);
      const int64_t start = fs.calls();
      fs.set_fault([&fs, start, n, error](Op, const std::string&) -> int64_t {
        return fs.calls() == start + n ? error : 0;
      });
      absl::StatusOr<UploadState> created = store->Create(100, "", 1000);
      fs.set_fault(nullptr);
      fs.Crash({}, false);
      RecoveryStats stats;
      auto reopened = OpenStore(&fs, &stats);
      std::vector<std::string> names;
      fs.List(kDir, &names);
      if (created.ok()) {
        // The failed step did not matter (removing a stale temporary record).
        EXPECT_EQ(reopened->Get(created->id)->offset, 0) << "step " << n;
        continue;
      }
      EXPECT_EQ(stats.uploads, 0) << "step " << n;
      EXPECT_TRUE(names.empty()) << "step " << n << ": " << names.front();
    }
  }
}

// A power cut at any call of a create, write and commit sequence, keeping any
// mix of unsynced state: the recovered offset is never below what was
// acknowledged, never above what was written, and the bytes below it are
// exactly the bytes sent.
TEST(UploadStoreTest, APowerCutAnywhereNeverLosesAnAcknowledgedByte) {
  // Buffered and direct writes; small pieces within one block, and pieces
  // that cross blocks.
  std::string long_payload(13000, '\0');
  for (size_t i = 0; i < long_payload.size(); ++i) long_payload[i] = static_cast<char>(i * 7 % 251);
  struct Mode {
    bool direct;
    std::string payload;
    size_t piece;
  };
  const Mode modes[] = {{false, "the quick brown fox jumps over the lazy dog", 10},
                        {true, "the quick brown fox jumps over the lazy dog", 10},
                        {true, long_payload, 3000}};
  std::mt19937 random(7);
  for (const Mode& mode : modes) {
    const std::string& payload = mode.payload;
    for (int cut = 1; cut < 200; ++cut) {
      for (int variant = 0; variant < 4; ++variant) {
        FakeFileSystem fs(kDir);
        fs.set_direct(mode.direct);
        std::string id;
        int64_t acknowledged = -1;  // -1: the creation itself was not acknowledged.
        int64_t written = 0;
        bool reached_end = false;
        {
          auto store = OpenStore(&fs);
          const int64_t start = fs.calls();
          // From call `cut` on, every call fails: the process is as good as dead.
          fs.set_fault([&fs, start, cut](Op, const std::string&) -> int64_t {
            return fs.calls() >= start + cut ? -EIO : 0;
          });
          absl::StatusOr<UploadState> created = store->Create(-1, "", 1000);
          if (created.ok()) {
            id = created->id;
            acknowledged = 0;
            for (size_t at = 0; at < payload.size(); at += mode.piece) {
              const absl::string_view piece = absl::string_view(payload).substr(at, mode.piece);
              if (store->Write(id, static_cast<int64_t>(at), piece) < 0) break;
              written = static_cast<int64_t>(at + piece.size());
              const int64_t committed = store->Commit(id);
              if (committed < 0) break;
              acknowledged = committed;
            }
            reached_end = acknowledged == static_cast<int64_t>(payload.size());
          }
          fs.set_fault(nullptr);
        }
        fs.Crash([&random, variant](const std::string&) { return variant & 1 && random() % 2; },
                 variant & 2);
        RecoveryStats stats;
        auto store = OpenStore(&fs, &stats);
        ASSERT_NE(store, nullptr);
        if (acknowledged < 0) continue;  // Never acknowledged: it may or may not exist.
        const std::optional<UploadState> state = store->Get(id);
        ASSERT_TRUE(state.has_value()) << "cut " << cut << " variant " << variant;
        EXPECT_GE(state->offset, acknowledged) << "cut " << cut;
        EXPECT_LE(state->offset, std::max(written, acknowledged)) << "cut " << cut;
        EXPECT_EQ(fs.Contents(Data(id)), payload.substr(0, static_cast<size_t>(state->offset)))
            << "cut " << cut;
        if (reached_end && variant == 0) break;
      }
    }
  }
}

TEST(UploadStoreTest, DeferredLengthRemoveAndExpiry) {
  FakeFileSystem fs(kDir);
  auto store = OpenStore(&fs);
  const std::string id = store->Create(-1, "", 500)->id;
  const std::string old = store->Create(-1, "", 100)->id;
  ASSERT_EQ(store->Write(id, 0, "abc"), 0);
  ASSERT_EQ(store->Commit(id), 3);
  EXPECT_EQ(store->DeclareLength(id, 2), -EINVAL);  // Below what was written.
  EXPECT_EQ(store->DeclareLength(id, 3), 0);
  EXPECT_TRUE(store->Get(id)->complete);
  EXPECT_EQ(store->DeclareLength(id, 4), -EINVAL);  // Set once.
  EXPECT_EQ(store->Expired(200), std::vector<std::string>{old});
  EXPECT_EQ(store->Remove(old), 0);
  EXPECT_EQ(store->Get(old), std::nullopt);
  EXPECT_FALSE(fs.Exists(Data(old)));
  EXPECT_EQ(store->Remove(old), -ENOENT);
  fs.Crash({}, false);
  RecoveryStats stats;
  auto reopened = OpenStore(&fs, &stats);
  EXPECT_EQ(stats.uploads, 1);
  EXPECT_TRUE(reopened->Get(id)->complete);
}

TEST(UploadStoreTest, RecordsParseOnlyInTheirCanonicalForm) {
  UploadState s;
  s.id = "0123456789abcdef0123456789abcdef";
  s.offset = 5;
  s.length = 9;
  s.expires_unix = 1700000000;
  s.metadata = "name Zm9v";
  const std::string text = EncodeRecord(s);
  const std::optional<UploadState> back = ParseRecord(s.id, text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->offset, 5);
  EXPECT_EQ(back->length, 9);
  EXPECT_EQ(back->metadata, "name Zm9v");
  for (size_t cut = 0; cut < text.size(); ++cut) {
    EXPECT_FALSE(ParseRecord(s.id, text.substr(0, cut)).has_value()) << cut;  // Torn.
  }
  std::string plus = text;
  plus.replace(plus.find("offset 5"), 8, "offset +5");
  EXPECT_FALSE(ParseRecord(s.id, plus).has_value());
  EXPECT_FALSE(ParseRecord(s.id, text + "x").has_value());
  s.offset = 10;  // Past the length.
  EXPECT_FALSE(ParseRecord(s.id, EncodeRecord(s)).has_value());
  EXPECT_TRUE(ValidId(s.id));
  EXPECT_FALSE(ValidId("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(ValidId("../../../../etc/passwd0123456789"));
  EXPECT_FALSE(ValidId("0123456789abcdef0123456789abcde"));
}

TEST(UploadStoreTest, TheQuotaAndTheIncompleteCapRefuseWithNothingLeftBehind) {
  FakeFileSystem fs(kDir);
  auto store = OpenStore(&fs);
  store->set_limits({/*max_bytes=*/100, /*max_incomplete=*/3});
  const std::string a = store->Create(60, "", 1000)->id;  // Reserves 60.
  EXPECT_EQ(store->reserved_bytes(), 60);
  absl::StatusOr<UploadState> b = store->Create(50, "", 1000);  // 110 > 100.
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string deferred = store->Create(-1, "", 1000)->id;
  EXPECT_EQ(store->Write(deferred, 0, std::string(30, 'x')), 0);         // 90.
  EXPECT_EQ(store->Write(deferred, 30, std::string(20, 'x')), -EDQUOT);  // 110.
  EXPECT_EQ(store->written(deferred), 30);
  EXPECT_EQ(store->DeclareLength(deferred, 50), -EDQUOT);
  EXPECT_EQ(store->DeclareLength(deferred, 40), 0);  // 100: exactly the quota.
  EXPECT_EQ(store->reserved_bytes(), 100);
  // The cap: a, deferred and one more are incomplete.
  const std::string c = store->Create(0, "", 1000)->id;  // Empty: complete at once.
  EXPECT_EQ(store->incomplete(), 2);
  const std::string d = store->Create(-1, "", 1000)->id;
  EXPECT_EQ(store->Create(-1, "", 1000).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Remove(d), 0);
  EXPECT_TRUE(store->Create(-1, "", 1000).ok());
  // Removing frees the reservation.
  EXPECT_EQ(store->Remove(a), 0);
  EXPECT_EQ(store->reserved_bytes(), 40);
  // Recovery counts the same.
  fs.Crash({}, false);
  auto reopened = OpenStore(&fs);
  EXPECT_EQ(reopened->reserved_bytes(), 40 + 0);
  EXPECT_EQ(reopened->incomplete(), 2);
}

TEST(UploadStoreTest, RecordsAreAppendedAndATornAppendIsCutAtRecovery) {
  FakeFileSystem fs(kDir);
  std::string id;
  {
    auto store = OpenStore(&fs);
    id = store->Create(-1, "k dg==", 1000)->id;
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(store->Write(id, i * 2, "ab"), 0);
      ASSERT_EQ(store->Commit(id), i * 2 + 2);
    }
  }
  const std::string log = fs.Contents(Record(id));
  EXPECT_EQ(log.size(),
            4 * EncodeRecord(UploadState{id, 0, -1, 1000, false, false, "k dg=="}).size());
  // A power cut mid-append leaves part of a record: the one before it rules.
  fs.WriteFile(Record(id), log + "epollhttp-upload 1\noffset 8\nlen");
  RecoveryStats stats;
  auto store = OpenStore(&fs, &stats);
  EXPECT_EQ(store->Get(id)->offset, 6);
  EXPECT_EQ(fs.Contents(Record(id)), log);  // Cut back: the next append follows it.
  ASSERT_EQ(store->Write(id, 6, "cd"), 0);
  EXPECT_EQ(store->Commit(id), 8);
  fs.Crash({}, false);
  EXPECT_EQ(OpenStore(&fs)->Get(id)->offset, 8);
  // A long log is rewritten whole rather than grown past 64 KiB.
  auto again = OpenStore(&fs);
  for (int i = 0; i < 800; ++i) {
    ASSERT_EQ(again->Write(id, 8 + i, "x"), 0);
    ASSERT_GE(again->Commit(id), 0);
  }
  EXPECT_LT(fs.Contents(Record(id)).size(), size_t{64 * 1024 + 200});
  EXPECT_EQ(again->Get(id)->offset, 808);
}

}  // namespace
}  // namespace epollhttp::upload
