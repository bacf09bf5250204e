// End-to-end: tus-js-client 4.3 (npm, installed by tools/setup.sh) uploads to
// the real server with --upload_dir, over tus 1.0 (tus-v1) and the IETF
// draft (ietf-draft-05: interop version 6), whole and interrupted then
// resumed by a fresh client object; the bytes served back hash as the file
// does.
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

std::string Sha256OfCommand(const std::string& command) {
  int status = 0;
  const std::string out = RunCommand(command + " | sha256sum", &status);
  return out.substr(0, 64);
}

class TusJsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/uploads");
    int status = 0;
    RunCommand(absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_), &status);
    file_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/image.bin");
    std::ofstream out(file_, std::ios::binary);
    for (int i = 0; i < 3748935; ++i) out.put(static_cast<char>(i * 131 % 251));
  }

  // Upload() runs the client; returns its stdout (url=... resumed_from=N).
  std::string Upload(uint16_t port, const std::string& protocol, const std::string& mode,
                     int* status) {
    const std::string modules = RunfilePath("tools/node_modules");
    return RunCommand(
        absl::StrCat("NODE_PATH=", modules, " node ",
                     RunfilePath("testing/tus_js_client_upload.js"), " http://127.0.0.1:", port,
                     "/files/ ", file_, " ", protocol, " ", mode, " 2>&1"),
        status);
  }

  std::string dir_;
  std::string file_;
};

TEST_F(TusJsClientTest, WholeAndResumedUploadsComeBackByteExact) {
  auto server = ServerProcess::Start({{"--upload_dir=" + dir_, "--upload_commit_bytes=65536"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string want = Sha256OfCommand("cat " + file_);
  for (const std::string protocol : {"tus-v1", "ietf-draft-05"}) {
    SCOPED_TRACE(protocol);
    for (const std::string mode : {"whole", "interrupt"}) {
      int status = -1;
      const std::string out = Upload(port, protocol, mode, &status);
      ASSERT_EQ(status, 0) << mode << ": " << out;
      const size_t at = out.find("url=");
      ASSERT_NE(at, std::string::npos) << out;
      const std::string url = out.substr(at + 4, out.find(' ', at) - at - 4);
      EXPECT_TRUE(absl::StartsWith(url, absl::StrCat("http://127.0.0.1:", port, "/files/"))) << url;
      if (mode == "interrupt") {
        int64_t resumed_from = -1;
        ASSERT_TRUE(
            absl::SimpleAtoi(out.substr(out.find("resumed_from=") + 13, 20).c_str(), &resumed_from))
            << out;
        EXPECT_GT(resumed_from, 3748935 / 3) << out;  // Resumed, not restarted.
      }
      EXPECT_EQ(Sha256OfCommand("curl -s " + url), want) << mode;
    }
  }
  EXPECT_EQ((*server)->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
