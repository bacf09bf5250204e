// End-to-end: headless Chromium (Debian's chromium) loads a page from one
// origin that uploads to the server on another with tus-js-client's browser
// build. With --cors_origin naming the page's origin the upload completes
// and the bytes served back hash as the page's; without it, the browser
// refuses to read the answers and the upload fails.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

constexpr char kPage[] = R"(<!DOCTYPE html>
<html><head><script src="tus.min.js"></script></head><body><pre id="out">pending</pre>
<script>
const bytes = new Uint8Array(300000);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
const upload = new tus.Upload(new Blob([bytes]), {
  endpoint: 'ENDPOINT',
  chunkSize: 100000,
  retryDelays: null,
  metadata: {filename: 'from-the-browser.bin'},
  onError: (e) => { document.getElementById('out').textContent = 'error ' + e; },
  onSuccess: () => { document.getElementById('out').textContent = 'done ' + upload.url; },
});
upload.start();
</script></body></html>
)";

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int status = 0;
    RunCommand("command -v chromium", &status);
    if (status != 0) GTEST_SKIP() << "chromium is not installed (tools/setup.sh installs it)";
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/site");
    RunCommand(absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_, "/uploads && cp ",
                            RunfilePath("tools/node_modules/tus-js-client/dist/tus.min.js"), " ",
                            dir_, "/"),
               &status);
    ASSERT_EQ(status, 0);
  }

  // ServePage() writes the page for an upload server on `upload_port` and
  // serves it from its own origin (a Python static server on a free port,
  // started once); returns that origin.
  std::string ServePage(uint16_t upload_port) {
    std::string page = kPage;
    page.replace(page.find("ENDPOINT"), 8,
                 absl::StrCat("http://127.0.0.1:", upload_port, "/files/"));
    std::ofstream(dir_ + "/index.html") << page;
    if (!page_port_.empty()) return absl::StrCat("http://127.0.0.1:", page_port_);
    int status = 0;
    const std::string port = RunCommand(
        "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
        "print(s.getsockname()[1])'",
        &status);
    page_port_ = port.substr(0, port.find('\n'));
    RunCommand(absl::StrCat("cd ", dir_, " && (python3 -m http.server --bind 127.0.0.1 ",
                            page_port_, " >/dev/null 2>&1 & echo $! > ", dir_, "/http.pid)"),
               &status);
    // Until it answers.
    for (int i = 0; i < 200; ++i) {
      RunCommand(absl::StrCat("curl -sf -o /dev/null http://127.0.0.1:", page_port_, "/index.html"),
                 &status);
      if (status == 0) break;
    }
    return absl::StrCat("http://127.0.0.1:", page_port_);
  }

  void TearDown() override {
    int status = 0;
    if (!page_port_.empty()) RunCommand(absl::StrCat("kill $(cat ", dir_, "/http.pid)"), &status);
  }

  // Browse() is the page's text after its script ran.
  std::string Browse(const std::string& origin) {
    int status = 0;
    const std::string dom = RunCommand(
        absl::StrCat("chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=20000 "
                     "--dump-dom ",
                     origin, "/index.html 2>/dev/null"),
        &status);
    const size_t at = dom.find("<pre id=\"out\">");
    return at == std::string::npos ? dom : dom.substr(at + 14, dom.find("</pre>", at) - at - 14);
  }

  std::string dir_;
  std::string page_port_;
};

TEST_F(BrowserTest, APageOnTheAllowedOriginUploadsAndAnotherCannot) {
  // The page's origin is known only once it is served: start the upload
  // server after, allowing exactly it.
  auto probe = ServerProcess::Start({{"--upload_dir=" + dir_ + "/uploads"}});
  ASSERT_TRUE(probe.ok()) << probe.status();
  const std::string origin = ServePage((*probe)->port());
  // Without CORS the browser will not let the page read the answers.
  EXPECT_EQ(Browse(origin).rfind("error", 0), 0u);
  EXPECT_EQ((*probe)->Stop(), 0);

  auto server =
      ServerProcess::Start({{"--upload_dir=" + dir_ + "/uploads", "--cors_origin=" + origin}});
  ASSERT_TRUE(server.ok()) << server.status();
  ServePage((*server)->port());
  const std::string out = Browse(origin);
  ASSERT_EQ(out.rfind("done http://127.0.0.1:", 0), 0u) << out;
  const std::string url = out.substr(5);
  int status = 0;
  std::string expected(300000, '\0');
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>(i * 7 % 251);
  const std::string got = RunCommand("curl -s " + url, &status);
  EXPECT_TRUE(got == expected) << got.size();
  EXPECT_EQ((*server)->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
