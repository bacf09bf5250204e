// upload_recovery_fuzzer.cc: the upload store over a fake file system that
// cuts the power at a chosen call, then recovery.
//
// Input: two bytes pick the call at which every file-system call starts to
// fail (the process is as good as dead from there), one byte how the power
// cut treats unsynced state (files keep what they held or only what was
// synced; the directory keeps its unsynced entries or not), then steps: a
// byte per step (write N bytes, commit, roll back), N from the next byte.
// The bytes written are a function of their offset, so any prefix can be
// checked.
//
// Oracles, after recovery: an upload whose creation was acknowledged exists;
// its offset is at least the last one acknowledged and at most the bytes
// written; its data file holds exactly the bytes sent below that offset.
// Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "server/upload/fake_file_system.h"
#include "server/upload/store.h"

namespace {

using ::epollhttp::upload::FakeFileSystem;
using ::epollhttp::upload::UploadStore;

constexpr char kDir[] = "/up";

char ByteAt(int64_t offset) { return static_cast<char>('a' + offset * 7 % 26); }

[[noreturn]] void Fail(const char* what, int64_t acknowledged, int64_t written, int64_t got) {
  std::fprintf(stderr,
               "upload_recovery_fuzzer: %s (acknowledged %lld, written %lld, recovered %lld)\n",
               what, static_cast<long long>(acknowledged), static_cast<long long>(written),
               static_cast<long long>(got));
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int64_t cut = data[0] | (data[1] << 8);
  const uint8_t variant = data[2];
  data += 3;
  size -= 3;
  FakeFileSystem fs(kDir);
  std::string id;
  int64_t acknowledged = -1;  // -1: the creation was not acknowledged.
  int64_t written = 0;
  {
    auto store = UploadStore::Open(&fs, kDir);
    if (!store.ok()) std::abort();  // An empty directory always opens.
    const int64_t start = fs.calls();
    fs.set_fault([&fs, start, cut](FakeFileSystem::Op, const std::string&) -> int64_t {
      return fs.calls() >= start + cut ? -5 /* EIO */ : 0;
    });
    auto created = (*store)->Create(-1, "", 1000);
    if (created.ok()) {
      id = created->id;
      acknowledged = 0;
      for (size_t i = 0; i < size; ++i) {
        const uint8_t step = data[i] % 3;
        if (step == 0 && i + 1 < size) {
          const int64_t n = data[++i] + 1;
          std::string bytes;
          const int64_t at = (*store)->written(id);
          for (int64_t k = 0; k < n; ++k) bytes += ByteAt(at + k);
          if ((*store)->Write(id, at, bytes) == 0) written = at + n;
        } else if (step == 1) {
          const int64_t committed = (*store)->Commit(id);
          if (committed >= 0) acknowledged = committed;
        } else {
          (*store)->Rollback(id);
        }
        if ((*store)->written(id) > written) written = (*store)->written(id);
      }
    }
    fs.set_fault(nullptr);
  }
  uint32_t mix = variant;
  fs.Crash(
      [&mix, variant](const std::string&) {
        mix = mix * 1103515245u + 12345u;
        return (variant & 1) != 0 && (mix >> 16) % 2 == 0;
      },
      (variant & 2) != 0);
  auto store = UploadStore::Open(&fs, kDir);
  if (!store.ok()) Fail("recovery failed", acknowledged, written, -1);
  if (acknowledged < 0) return 0;
  const auto state = (*store)->Get(id);
  if (!state.has_value()) Fail("an acknowledged upload is gone", acknowledged, written, -1);
  if (state->offset < acknowledged)
    Fail("an acknowledged byte was lost", acknowledged, written, state->offset);
  if (state->offset > written && state->offset > acknowledged) {
    Fail("more bytes than were written", acknowledged, written, state->offset);
  }
  const std::string contents = fs.Contents(std::string(kDir) + "/" + id + ".bin");
  if (static_cast<int64_t>(contents.size()) != state->offset) {
    Fail("the data file is not cut to the offset", acknowledged, written, state->offset);
  }
  for (int64_t k = 0; k < state->offset; ++k) {
    if (contents[static_cast<size_t>(k)] != ByteAt(k)) {
      Fail("a recovered byte differs from the one sent", acknowledged, written, k);
    }
  }
  return 0;
}
