// store.h: durable resumable uploads on disk, the storage under the tus and
// IETF resumable-upload endpoints. No HTTP here: the handlers (and their
// worker threads) call it.
//
// Layout, in one directory: each upload is `<id>.bin`, its bytes, and
// `<id>.info`, its record: the committed offset, the declared length (or
// none yet), when it expires, whether it is complete, and its metadata.
// IDs are 128 random bits in 32 lower-case hex digits; ValidId() is the only
// way a name from a request reaches a path.
//
// The durability contract (docs/uploads.md):
// - Create() returns once the new upload's record is durable (written in
//   place: a torn first record does not parse, and recovery drops it with
//   its data, as the creation was never acknowledged).
// - Write() puts bytes in the file; they are not promised to anyone. Where
//   the file system allows it, the file is written with O_DIRECT in whole
//   4 KiB blocks (no page-cache copy and no writeback in the syncing
//   thread); the bytes of a last part block wait in memory until a commit
//   writes the block zero-padded and cuts the file back to its offset.
// - Commit() makes every byte written so far durable (fdatasync), then
//   appends a new record to `<id>.info`, a log of records of which the
//   last complete one is in force, and fdatasyncs it (a log past 64 KiB is
//   rewritten instead: `<id>.info.tmp`, fsync, rename, directory fsync).
//   Only then is the new offset acknowledged: the offset a client hears
//   never exceeds what a power cut keeps. The record that reaches the committed offset of the
//   declared length also marks the upload complete, so completion is atomic.
// - Any failed fsync or fdatasync (EIO above all: Linux drops the dirty
//   pages, so a retry could succeed falsely) fails the upload for good:
//   every later call on it returns -EIO and it is never served.
// - Open() recovers: it deletes half-made records (`.tmp`) and data files
//   without a record (a creation cut short), truncates every data file to
//   its committed offset, and drops records it cannot read.
//
// Thread safety: every method may be called from any thread; calls on
// different uploads run in parallel (disk work is not done under a store-wide
// lock). Calls on one upload are serialised by the upload's own lock.
#ifndef EPOLLHTTP_SERVER_UPLOAD_STORE_H_
#define EPOLLHTTP_SERVER_UPLOAD_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/upload/file_system.h"
#include "server/upload/write_buffer.h"

namespace epollhttp::upload {

// What is known of an upload, as last committed.
struct UploadState {
  std::string id;
  int64_t offset = 0;        // Durable bytes: the offset clients hear.
  int64_t length = -1;       // Declared length, or -1 while deferred.
  int64_t expires_unix = 0;  // When an incomplete upload may be removed.
  bool complete = false;     // offset == length, committed.
  bool failed = false;       // A sync failed: gone for good.
  std::string metadata;      // Upload-Metadata as the client sent it.
};

// What Open() found and mended.
struct RecoveryStats {
  int uploads = 0;             // Records read back.
  int truncated = 0;           // Data files cut back to their committed offset.
  int half_made_records = 0;   // `.tmp` records deleted.
  int orphan_data_files = 0;   // Data files without a record, deleted.
  int unreadable_records = 0;  // Records that did not parse, deleted with their data.
  int short_data_files = 0;    // Data files shorter than their record: failed.
};

// What the store has done, for /metrics. Counters only grow; gauges say
// what is so now. Updated with relaxed atomics from any thread.
struct StoreCounters {
  // Upper bounds (ns) of the sync-latency histogram's buckets; a last bucket
  // holds what is slower.
  static constexpr int kSyncBuckets = 14;
  static constexpr int64_t kSyncBoundsNs[kSyncBuckets] = {
      100'000,    250'000,    500'000,     1'000'000,   2'500'000,   5'000'000,     10'000'000,
      25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000};

  std::atomic<int64_t> created{0};
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> bytes_committed{0};    // Counter: bytes made durable.
  std::atomic<int64_t> bytes_uncommitted{0};  // Gauge: written, not yet durable.
  std::atomic<int64_t> sync_failures{0};      // Uploads failed for good.
  std::array<std::atomic<int64_t>, kSyncBuckets + 1> sync_buckets{};  // fsync and fdatasync.
  std::atomic<int64_t> sync_count{0};
  std::atomic<int64_t> sync_ns{0};

  void ObserveSync(int64_t ns);
};

// ValidId() is whether `id` is exactly 32 lower-case hex digits.
bool ValidId(absl::string_view id);

// Limits on what the store holds; 0: none.
struct StoreLimits {
  // The bytes all uploads may take: a known length is reserved in full at
  // creation, a deferred one as its bytes arrive. Beyond it: -EDQUOT.
  int64_t max_bytes = 0;
  // How many incomplete uploads may exist at once. Beyond it, Create()
  // fails with Unavailable.
  int64_t max_incomplete = 0;
};

class UploadStore {
 public:
  // Open() opens the store in directory `dir` (which must exist) over `fs`
  // (not owned; it must outlive the store) and recovers it, filling `stats`
  // if not null. Fails if the directory cannot be listed or synced.
  static absl::StatusOr<std::unique_ptr<UploadStore>> Open(FileSystem* fs, std::string dir,
                                                           RecoveryStats* stats = nullptr);
  ~UploadStore();
  UploadStore(const UploadStore&) = delete;
  UploadStore& operator=(const UploadStore&) = delete;

  // Create() makes a new empty upload (length -1: declared later) and
  // returns it once its record is durable. With a known length, its space is
  // reserved first (fallocate). Errors: the file system's (-ENOSPC,
  // -EDQUOT, -EFBIG, -EIO...), -EDQUOT past the limits' max_bytes, with
  // nothing left behind that recovery would show; Unavailable at the limit
  // of incomplete uploads; InvalidArgument for metadata holding a line
  // break or a length below -1.
  absl::StatusOr<UploadState> Create(int64_t length, absl::string_view metadata,
                                     int64_t expires_unix);

  // set_limits() applies `limits` from now on (call before serving).
  void set_limits(StoreLimits limits) { limits_ = limits; }
  // reserved_bytes() and incomplete() are what the limits count now.
  [[nodiscard]] int64_t reserved_bytes() const { return reserved_.load(); }
  [[nodiscard]] int64_t incomplete() const { return incomplete_.load(); }

  // Get() is the upload's committed state, or nullopt for an unknown id.
  std::optional<UploadState> Get(absl::string_view id) const;

  // Write() appends `data` at `offset`, which must be where the upload's
  // bytes end (its committed offset plus what was written since): -ERANGE
  // otherwise. -EFBIG past the declared length, -ENOENT for an unknown id,
  // -EIO once failed, -EEXIST once complete. A file-system error (ENOSPC,
  // EDQUOT, EFBIG, EIO) returns after the bytes that did get written, which
  // count as written. Nothing is durable until Commit().
  int Write(absl::string_view id, int64_t offset, absl::string_view data);
  // Write() as above, of the bytes in `piece`, whose room must be
  // offset % WriteBuffer::kAlign (-EINVAL otherwise): a direct write goes
  // from the buffer itself, the room in front filled with the bytes before
  // them in their block.
  int Write(absl::string_view id, int64_t offset, WriteBuffer* piece);
  // written() is where the upload's bytes end now (-1: unknown id).
  int64_t written(absl::string_view id) const;

  // Commit() makes the bytes written so far durable and records them; returns
  // the new committed offset. A failed sync fails the upload for good
  // (-EIO from then on); a failed record write (e.g. -ENOSPC) leaves the last
  // committed state in force.
  int64_t Commit(absl::string_view id);

  // Rollback() drops the bytes written since the last commit (a checksum
  // that did not match): the file is cut back to the committed offset.
  int Rollback(absl::string_view id);

  // DeclareLength() sets a deferred length, durably (-EINVAL if one is set
  // or it is below the bytes written; the upload completes at once if it is
  // reached).
  int DeclareLength(absl::string_view id, int64_t length);

  // Remove() deletes the upload (termination, expiry): its record first, so
  // a power cut mid-way leaves an orphan data file that recovery deletes.
  int Remove(absl::string_view id);

  // Expired() lists the incomplete uploads whose expiry is at or before
  // `now_unix`.
  std::vector<std::string> Expired(int64_t now_unix) const;

  // OpenData() opens a complete upload's bytes for reading (a new
  // descriptor the caller closes with fs->Close()); -ENOENT unless complete.
  int OpenData(absl::string_view id);

  [[nodiscard]] const std::string& dir() const { return dir_; }
  // file_system() is the file system the store uses (to read what
  // OpenData() opened).
  [[nodiscard]] FileSystem* file_system() const { return fs_; }
  [[nodiscard]] const StoreCounters& counters() const { return counters_; }

 private:
  struct Upload;

  UploadStore(FileSystem* fs, std::string dir, int dir_fd);
  absl::Status Recover(RecoveryStats* stats);
  std::shared_ptr<Upload> Find(absl::string_view id) const;
  // WriteRecord() commits `state` as the upload's record: appended to its
  // record log and fdatasync'd; a new upload's `first` record written in
  // place, synced, and the directory synced; a log grown past 64 KiB
  // rewritten (temporary file, sync, rename, directory sync). `*sync_failed`
  // says whether a sync was what failed.
  int WriteRecord(const UploadState& state, bool first, Upload* upload, bool* sync_failed);
  std::string DataPath(absl::string_view id) const;
  // StartDirect() opens the upload for direct writes on its first write
  // (false: buffered, as the file system has none), reading back the bytes
  // of its last part block. StopDirect() closes that. WriteDirect() writes
  // `data` at the upload's end in whole blocks, keeping the rest in memory,
  // and says in `*done` how many of `data`'s bytes count as written.
  // FlushTail() writes the part block zero-padded (`*padded`: it did).
  // All with the upload's mutex held.
  bool StartDirect(Upload* upload);
  void StopDirect(Upload* upload);
  int WriteDirect(Upload* upload, absl::string_view data, WriteBuffer* piece, int64_t* done);
  // Write() of `data`, which is `piece`'s bytes when `piece` is not null.
  int Write(absl::string_view id, int64_t offset, absl::string_view data, WriteBuffer* piece);
  int FlushTail(Upload* upload, bool* padded);
  // DataSync() and Sync() are the file system's, timed into counters_.
  int DataSync(int fd) { return TimedSync(fd, /*data_only=*/true); }
  int Sync(int fd) { return TimedSync(fd, /*data_only=*/false); }
  int TimedSync(int fd, bool data_only);
  std::string RecordPath(absl::string_view id) const;

  FileSystem* const fs_;
  const std::string dir_;
  const int dir_fd_;
  mutable std::mutex mutex_;  // Guards uploads_ (not the uploads' own state).
  std::map<std::string, std::shared_ptr<Upload>, std::less<>> uploads_;
  StoreCounters counters_;
  StoreLimits limits_;
  std::atomic<bool> direct_{true};  // Direct writes work here, as far as known.
  // What the limits count: bytes reserved (a known length, or a deferred
  // one's bytes written) and incomplete uploads.
  std::atomic<int64_t> reserved_{0};
  std::atomic<int64_t> incomplete_{0};
  // TryReserve() adds `n` bytes unless that passes max_bytes (false).
  bool TryReserve(int64_t n);
  // Reservation() is what an upload holds against max_bytes.
  static int64_t Reservation(const Upload& upload);
};

// EncodeRecord() and ParseRecord() are the record's text form (for the store
// and its fuzzer): ParseRecord() is nullopt unless the text is exactly what
// EncodeRecord() makes of some state. ParseRecordLog() reads a log of
// records: the last of the complete ones before anything that does not
// parse, and in `*valid_bytes` where that one ends.
std::string EncodeRecord(const UploadState& state);
std::optional<UploadState> ParseRecord(absl::string_view id, absl::string_view text);
std::optional<UploadState> ParseRecordLog(absl::string_view id, absl::string_view text,
                                          size_t* valid_bytes);

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_STORE_H_
