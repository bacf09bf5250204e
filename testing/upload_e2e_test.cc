// End-to-end: the real server with --upload_dir speaking tus 1.0 and the
// IETF resumable-upload draft over real sockets: the protocol's answers,
// what lands on disk, and what survives a disconnect and a SIGKILL.
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

std::string NewDir(const std::string& name) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  int status = 0;
  RunCommand(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir), &status);
  return dir;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Send() makes one request on a fresh connection and reads its response.
Response Send(uint16_t port, const std::string& request) {
  Fd fd = ConnectLoopback(port);
  if (!SendAll(fd.get(), request)) return Response();
  std::string leftover;
  return ReadResponse(fd.get(), &leftover);
}

std::string Tus(const std::string& method, const std::string& path, const std::string& fields,
                const std::string& body = "") {
  return absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\n", fields,
                      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

std::string Patch(const std::string& path, int64_t offset, const std::string& body) {
  return Tus("PATCH", path,
             absl::StrCat("Upload-Offset: ", offset,
                          "\r\nContent-Type: application/offset+octet-stream\r\n"),
             body);
}

int64_t Offset(const Response& r) {
  int64_t n = -1;
  return absl::SimpleAtoi(HeaderValue(r.head, "Upload-Offset"), &n) ? n : -1;
}

// Create() makes an upload and returns its path (/files/ID).
std::string Create(uint16_t port, const std::string& fields) {
  const Response r = Send(port, Tus("POST", "/files/", fields));
  EXPECT_EQ(r.status, 201) << r.head;
  return HeaderValue(r.head, "Location");
}

// HeadOffset() is the upload's offset as HEAD reports it.
int64_t HeadOffset(uint16_t port, const std::string& path) {
  return Offset(Send(port, Tus("HEAD", path, "")));
}

TEST(UploadE2eTest, TusCoreStoresTheBytesAndAnswersEachStep) {
  const std::string dir = NewDir("core");
  auto server = ServerProcess::Start({{"--upload_dir=" + dir}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  Response r = Send(port, "OPTIONS /files/ HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(HeaderValue(r.head, "Tus-Version"), "1.0.0");
  EXPECT_EQ(HeaderValue(r.head, "Tus-Extension"),
            "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum");
  EXPECT_EQ(HeaderValue(r.head, "Tus-Checksum-Algorithm"), "sha1,sha256");
  const std::string path =
      Create(port, "Upload-Length: 11\r\nUpload-Metadata: filename aGVsbG8udHh0\r\n");
  ASSERT_EQ(path.rfind("/files/", 0), 0u);
  const std::string id = path.substr(7);
  EXPECT_EQ(id.size(), 32u);
  r = Send(port, Patch(path, 0, "hello"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 5);
  r = Send(port, Tus("HEAD", path, ""));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Offset(r), 5);
  EXPECT_EQ(HeaderValue(r.head, "Upload-Length"), "11");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Metadata"), "filename aGVsbG8udHh0");
  EXPECT_EQ(HeaderValue(r.head, "Cache-Control"), "no-store");
  r = Send(port, Patch(path, 3, "x"));  // Not the offset: nothing written.
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Offset(r), 5);
  r = Send(port, Patch(path, 5, " world!"));  // Past the length.
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(HeadOffset(port, path), 5);
  r = Send(port, Patch(path, 5, " world"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 11);
  EXPECT_EQ(ReadFileBytes(dir + "/" + id + ".bin"), "hello world");
  EXPECT_NE(ReadFileBytes(dir + "/" + id + ".info").find("complete 1\n"), std::string::npos);
  r = Send(port, Tus("DELETE", path, ""));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Send(port, Tus("HEAD", path, "")).status, 404);
  EXPECT_FALSE(std::ifstream(dir + "/" + id + ".bin").good());
  EXPECT_EQ((*server)->Stop(), 0);
}

// Ietf() is an IETF draft request (interop version `version`).
std::string Ietf(const std::string& method, const std::string& path, const std::string& fields,
                 const std::string& body = "", int version = 8) {
  return absl::StrCat(method, " ", path,
                      " HTTP/1.1\r\nHost: t\r\nUpload-Draft-Interop-Version: ", version, "\r\n",
                      fields, "Content-Length: ", body.size(), "\r\n\r\n", body);
}

std::string Pattern(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(i * 131 % 251);
  return out;
}

TEST(UploadE2eTest, IetfDraftACutCreationResumesFromTheInterimLocation) {
  auto server = ServerProcess::Start({{"--upload_dir=" + NewDir("ietf")}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  Response r = Send(port, "OPTIONS /files/ HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(HeaderValue(r.head, "Accept-Patch"), "application/partial-upload");
  EXPECT_NE(HeaderValue(r.head, "Upload-Limit").find("max-age=86400"), std::string::npos);
  const std::string body = Pattern(1000000);
  std::string path;
  {
    // An optimistic creation: the whole body with Upload-Complete: ?1. The
    // 104 names the upload once it exists, before any byte is read.
    Fd fd = ConnectLoopback(port);
    ASSERT_TRUE(SendAll(fd.get(),
                        "POST /files/ HTTP/1.1\r\nHost: t\r\n"
                        "Upload-Draft-Interop-Version: 8\r\nUpload-Complete: ?1\r\n"
                        "Content-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n"));
    std::string leftover;
    r = ReadResponse(fd.get(), &leftover);
    EXPECT_EQ(r.status, 104) << r.head;
    EXPECT_EQ(HeaderValue(r.head, "Upload-Draft-Interop-Version"), "8");
    EXPECT_NE(HeaderValue(r.head, "Upload-Limit").find("max-age="), std::string::npos);
    path = HeaderValue(r.head, "Location");
    ASSERT_EQ(path.rfind("/files/", 0), 0u) << r.head;
    ASSERT_TRUE(SendAll(fd.get(), body.substr(0, 300000)));
  }  // Cut mid-body: the bytes that arrived count.
  EXPECT_EQ(ScrapeUntil(port, "epollhttp_upload_bytes_stored_total", 300000), 300000);
  r = Send(port, Ietf("HEAD", path, ""));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(HeaderValue(r.head, "Upload-Offset"), "300000");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Complete"), "?0");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Length"), "1000000");
  EXPECT_EQ(HeaderValue(r.head, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderValue(r.head, "Tus-Resumable"), "");
  // An append at the wrong offset: 409 with the right one, as a problem.
  r = Send(port, Ietf("PATCH", path,
                      "Upload-Offset: 200000\r\nUpload-Complete: ?1\r\n"
                      "Content-Type: application/partial-upload\r\n",
                      body.substr(200000)));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(HeaderValue(r.head, "Upload-Offset"), "300000");
  EXPECT_EQ(HeaderValue(r.head, "Content-Type"), "application/problem+json");
  EXPECT_NE(r.body.find("\"expected-offset\":300000,\"provided-offset\":200000"), std::string::npos)
      << r.body;
  r = Send(port, Ietf("PATCH", path,
                      "Upload-Offset: 300000\r\nUpload-Complete: ?1\r\n"
                      "Content-Type: application/partial-upload\r\n",
                      body.substr(300000)));
  EXPECT_EQ(r.status, 201) << r.head;
  EXPECT_EQ(HeaderValue(r.head, "Upload-Complete"), "?1");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Offset"), "1000000");
  EXPECT_EQ(HeaderValue(r.head, "Location"), path);
  r = Send(port, Ietf("HEAD", path, ""));
  EXPECT_EQ(HeaderValue(r.head, "Upload-Complete"), "?1");
  r = Send(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == body);
  // More bytes for a complete upload: an inconsistent length.
  r = Send(port, Ietf("PATCH", path,
                      "Upload-Offset: 1000000\r\nUpload-Complete: ?1\r\n"
                      "Content-Type: application/partial-upload\r\n",
                      "x"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("inconsistent-upload-length"), std::string::npos) << r.body;
  EXPECT_EQ(Send(port, Ietf("DELETE", path, "")).status, 204);
  EXPECT_EQ(Send(port, Ietf("HEAD", path, "")).status, 404);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, IetfDraftPartsLengthsAndRefusals) {
  auto server =
      ServerProcess::Start({{"--upload_dir=" + NewDir("ietf2"), "--upload_max_bytes=5000"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  // Interop version 6 (draft-05, tus-js-client's ietf-draft-05): a careful
  // creation (no bytes) names its lifetime "expires".
  Response r = Send(port, Ietf("POST", "/files/", "Upload-Complete: ?0\r\n", "", 6));
  EXPECT_EQ(r.status, 104);  // Send() reads the first answer: the interim one.
  {
    Fd fd = ConnectLoopback(port);
    ASSERT_TRUE(SendAll(fd.get(), Ietf("POST", "/files/", "Upload-Complete: ?0\r\n", "", 6)));
    std::string leftover;
    r = ReadResponse(fd.get(), &leftover);
    EXPECT_EQ(r.status, 104);
    r = ReadResponse(fd.get(), &leftover);
  }
  EXPECT_EQ(r.status, 201) << r.head;
  EXPECT_EQ(HeaderValue(r.head, "Upload-Complete"), "?0");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Offset"), "0");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Limit").find("max-size=5000, expires="), 0u) << r.head;
  const std::string path = HeaderValue(r.head, "Location");
  // Parts: ?0 then ?1; the length is known only at the end (chunked).
  const std::string patch_head = "Content-Type: application/partial-upload\r\n";
  r = Send(port, Ietf("PATCH", path, "Upload-Offset: 0\r\nUpload-Complete: ?0\r\n" + patch_head,
                      "hello ", 6));
  EXPECT_EQ(r.status, 204) << r.head;
  EXPECT_EQ(HeaderValue(r.head, "Upload-Offset"), "6");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Complete"), "?0");
  r = Send(port,
           absl::StrCat("PATCH ", path,
                        " HTTP/1.1\r\nHost: t\r\nUpload-Draft-Interop-Version: 6\r\n"
                        "Upload-Offset: 6\r\nUpload-Complete: ?1\r\n",
                        patch_head, "Transfer-Encoding: chunked\r\n\r\n5\r\nworld\r\n0\r\n\r\n"));
  EXPECT_EQ(r.status, 201) << r.head;
  EXPECT_EQ(HeaderValue(r.head, "Upload-Offset"), "11");
  r = Send(port, Ietf("HEAD", path, ""));
  EXPECT_EQ(HeaderValue(r.head, "Upload-Length"), "11");
  EXPECT_EQ(HeaderValue(r.head, "Upload-Complete"), "?1");
  // Refusals.
  EXPECT_EQ(Send(port, Ietf("DELETE", path, "", "", 5)).status, 400);  // No such interop version.
  EXPECT_EQ(Send(port, Ietf("POST", "/files/", "")).status, 400);      // No Upload-Complete.
  EXPECT_EQ(Send(port, Ietf("POST", "/files/", "Upload-Complete: yes\r\n")).status, 400);
  r = Send(port, Ietf("POST", "/files/", "Upload-Complete: ?1\r\nUpload-Length: 9\r\n", "abc"));
  EXPECT_EQ(r.status, 400);  // Upload-Length and Content-Length disagree.
  EXPECT_NE(r.body.find("inconsistent-upload-length"), std::string::npos) << r.body;
  r = Send(port, Ietf("POST", "/files/", "Upload-Complete: ?0\r\nUpload-Length: 5001\r\n"));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(HeaderValue(r.head, "Upload-Limit"), "max-size=5000");
  EXPECT_EQ(Send(port, Ietf("PATCH", path,
                            "Upload-Offset: 11\r\nUpload-Complete: ?1\r\n"
                            "Content-Type: application/offset+octet-stream\r\n"))
                .status,
            415);
  EXPECT_EQ(Send(port, Ietf("PATCH", path, "Upload-Complete: ?1\r\n" + patch_head)).status,
            400);  // No Upload-Offset.
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, CreationWithUploadAndDeferredLength) {
  auto server = ServerProcess::Start({{"--upload_dir=" + NewDir("creation")}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  Response r = Send(
      port, Tus("POST", "/files/",
                "Upload-Length: 6\r\nContent-Type: application/offset+octet-stream\r\n", "abc"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(Offset(r), 3);  // The first bytes came with the creation, durably.
  EXPECT_EQ(HeadOffset(port, HeaderValue(r.head, "Location")), 3);
  const std::string deferred = Create(port, "Upload-Defer-Length: 1\r\n");
  r = Send(port, Tus("HEAD", deferred, ""));
  EXPECT_EQ(HeaderValue(r.head, "Upload-Defer-Length"), "1");
  r = Send(port, Tus("PATCH", deferred,
                     "Upload-Offset: 0\r\nUpload-Length: 4\r\n"
                     "Content-Type: application/offset+octet-stream\r\n",
                     "data"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 4);
  EXPECT_EQ(HeaderValue(Send(port, Tus("HEAD", deferred, "")).head, "Upload-Length"), "4");
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, BadRequestsAreRefusedWithTheirStatus) {
  auto server =
      ServerProcess::Start({{"--upload_dir=" + NewDir("refusals"), "--upload_max_bytes=1000"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = Create(port, "Upload-Length: 10\r\n");
  // Another protocol version.
  Response r = Send(port,
                    "POST /files/ HTTP/1.1\r\nHost: t\r\nTus-Resumable: 0.2.2\r\n"
                    "Upload-Length: 1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(HeaderValue(r.head, "Tus-Version"), "1.0.0");
  EXPECT_EQ(Send(port, Tus("PATCH", path, "Upload-Offset: 0\r\nContent-Type: text/plain\r\n", "x"))
                .status,
            415);
  EXPECT_EQ(Send(port, Tus("PATCH", path, "Content-Type: application/offset+octet-stream\r\n", "x"))
                .status,
            400);                                                 // No Upload-Offset.
  EXPECT_EQ(Send(port, Tus("POST", "/files/", "")).status, 400);  // No length.
  EXPECT_EQ(
      Send(port, Tus("POST", "/files/", "Upload-Length: 1\r\nUpload-Metadata: a b\r\n")).status,
      400);
  EXPECT_EQ(Send(port, Tus("POST", "/files/", "Upload-Length: 1001\r\n")).status, 413);
  // No request byte becomes a path except a store ID.
  for (const char* bad :
       {"/files/../../etc/passwd", "/files/0123", "/files/x/y",
        "/files/0123456789ABCDEF0123456789abcdef", "/files/00000000000000000000000000000000"}) {
    const int status = Send(port, Tus("HEAD", bad, "")).status;
    EXPECT_EQ(status, 404) << bad;
  }
  EXPECT_EQ(HeadOffset(port, path), 0);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, ADisconnectCommitsTheBytesThatArrived) {
  auto server = ServerProcess::Start({{"--upload_dir=" + NewDir("disconnect")}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = Create(port, "Upload-Length: 1000000\r\n");
  {
    Fd fd = ConnectLoopback(port);
    const std::string head = absl::StrCat(
        "PATCH ", path,
        " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
        "Content-Type: application/offset+octet-stream\r\nContent-Length: 1000000\r\n\r\n");
    ASSERT_TRUE(SendAll(fd.get(), head + std::string(300000, 'a')));
  }  // Closed mid-body: the server reads the 300,000 bytes, then the end.
  // Waiting on the metrics, not HEAD: a HEAD would end the PATCH before the
  // server has read all it was sent (one writer per upload).
  EXPECT_EQ(ScrapeUntil(port, "epollhttp_upload_bytes_stored_total", 300000), 300000);
  EXPECT_EQ(HeadOffset(port, path), 300000);
  const Response r = Send(port, Patch(path, 300000, std::string(700000, 'b')));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 1000000);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, AfterSigkillRecoveryResumesWithNoAcknowledgedByteLost) {
  const std::string dir = NewDir("sigkill");
  std::string path;
  int64_t acknowledged = 0;
  std::string sent;
  {
    auto server = ServerProcess::Start({{"--upload_dir=" + dir, "--upload_commit_bytes=65536"}});
    ASSERT_TRUE(server.ok()) << server.status();
    const uint16_t port = (*server)->port();
    path = Create(port, "Upload-Length: 4000000\r\n");
    // Acknowledged bytes first, then a PATCH cut by SIGKILL mid-body.
    const std::string first(1000000, 'x');
    const Response r = Send(port, Patch(path, 0, first));
    ASSERT_EQ(r.status, 204);
    acknowledged = Offset(r);
    sent = first;
    Fd fd = ConnectLoopback(port);
    const std::string more(1500000, 'y');
    ASSERT_TRUE(SendAll(fd.get(), absl::StrCat("PATCH ", path,
                                               " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\n"
                                               "Upload-Offset: 1000000\r\nContent-Type: "
                                               "application/offset+octet-stream\r\n"
                                               "Content-Length: 3000000\r\n\r\n",
                                               more)));
    sent += more;
    (*server)->Signal(SIGKILL);
    (*server)->Wait();
  }
  auto server = ServerProcess::Start({{"--upload_dir=" + dir}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const int64_t offset = HeadOffset(port, path);
  EXPECT_GE(offset, acknowledged);
  EXPECT_LE(offset, static_cast<int64_t>(sent.size()));
  const std::string rest_of_sent = sent.substr(static_cast<size_t>(offset));
  const std::string tail(static_cast<size_t>(4000000 - static_cast<int64_t>(sent.size())), 'z');
  const Response r = Send(port, Patch(path, offset, rest_of_sent + tail));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 4000000);
  EXPECT_EQ(ReadFileBytes(dir + "/" + path.substr(7) + ".bin"), sent + tail);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, ACompleteUploadIsServedBackAndAnIncompleteOneIsNot) {
  auto server = ServerProcess::Start({{"--upload_dir=" + NewDir("download")}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  std::string bytes(3 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 % 251);
  // The filename tries to inject a header; it must come back encoded.
  const std::string path = Create(
      port, absl::StrCat("Upload-Length: ", bytes.size(),
                         "\r\nUpload-Metadata: filename ZXZpbCJuYW1lDQpTZXQtQ29va2llOiB4\r\n"));
  EXPECT_EQ(Send(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\n\r\n")).status, 409);
  ASSERT_EQ(Offset(Send(port, Patch(path, 0, bytes))), static_cast<int64_t>(bytes.size()));
  Response r = Send(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == bytes) << r.body.size();
  EXPECT_EQ(HeaderValue(r.head, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(HeaderValue(r.head, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderValue(r.head, "Content-Disposition"),
            "attachment; filename=\"evil_name__Set-Cookie: x\"; "
            "filename*=UTF-8''evil%22name%0D%0ASet-Cookie%3A%20x");
  EXPECT_EQ(HeaderValue(r.head, "Set-Cookie"), "");
  const std::string etag = HeaderValue(r.head, "ETag");
  EXPECT_EQ(etag, absl::StrCat("\"", path.substr(7), "\""));
  r = Send(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\n\r\n"));
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, bytes.substr(10, 10));
  EXPECT_EQ(HeaderValue(r.head, "Content-Range"), absl::StrCat("bytes 10-19/", bytes.size()));
  r = Send(port,
           absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\nRange: bytes=99999999-\r\n\r\n"));
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(HeaderValue(r.head, "Content-Range"), absl::StrCat("bytes */", bytes.size()));
  r = Send(port,
           absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\nIf-None-Match: ", etag, "\r\n\r\n"));
  EXPECT_EQ(r.status, 304);
  // HEAD without Tus-Resumable is the download's head: its length, no body.
  Fd fd = ConnectLoopback(port);
  ASSERT_TRUE(
      SendAll(fd.get(), absl::StrCat("HEAD ", path, " HTTP/1.1\r\nHost: t\r\n\r\nGET ", path,
                                     " HTTP/1.1\r\nHost: t\r\nRange: bytes=-3\r\n\r\n")));
  std::string leftover;
  std::string head_only;
  {
    // ReadResponse() would wait for Content-Length bytes; a HEAD answer has none.
    char buffer[4096];
    while (head_only.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
      ASSERT_GT(n, 0);
      head_only.append(buffer, static_cast<size_t>(n));
    }
    leftover = head_only.substr(head_only.find("\r\n\r\n") + 4);
    head_only.resize(head_only.find("\r\n\r\n") + 4);
  }
  EXPECT_EQ(HeaderValue(head_only, "Content-Length"), absl::StrCat(bytes.size()));
  r = ReadResponse(fd.get(), &leftover);  // The pipelined GET after it.
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, bytes.substr(bytes.size() - 3));
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, AnIncompleteUploadExpiresAndIsRemoved) {
  const std::string dir = NewDir("expiry");
  auto server = ServerProcess::Start({{"--upload_dir=" + dir, "--upload_expiry=1s"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const Response created = Send(port, Tus("POST", "/files/", "Upload-Length: 10\r\n"));
  ASSERT_EQ(created.status, 201);
  EXPECT_NE(HeaderValue(created.head, "Upload-Expires").find(" GMT"), std::string::npos)
      << created.head;
  const std::string path = HeaderValue(created.head, "Location");
  const std::string done = Create(port, "Upload-Length: 1\r\n");
  ASSERT_EQ(Offset(Send(port, Patch(done, 0, "x"))), 1);
  // The sweeper runs every 100 ms; the upload is gone a second after its
  // creation, the complete one stays.
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((status = Send(port, Tus("HEAD", path, "")).status) == 200 &&
         std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_EQ(status, 404);
  EXPECT_EQ(Send(port, Tus("HEAD", done, "")).status, 200);
  EXPECT_EQ((*server)->Stop(), 0);  // The sweep under way finishes first.
  EXPECT_FALSE(std::ifstream(dir + "/" + path.substr(7) + ".bin").good());
  EXPECT_TRUE(std::ifstream(dir + "/" + done.substr(7) + ".bin").good());
}

TEST(UploadE2eTest, AChecksumMismatchDropsTheRequestsBytes) {
  const std::string dir = NewDir("checksum");
  auto server = ServerProcess::Start({{"--upload_dir=" + dir, "--upload_commit_bytes=4"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = Create(port, "Upload-Length: 22\r\n");
  auto patch = [&](int64_t offset, const std::string& checksum, const std::string& body) {
    return Send(port, Tus("PATCH", path,
                          absl::StrCat("Upload-Offset: ", offset,
                                       "\r\nContent-Type: application/offset+octet-stream\r\n"
                                       "Upload-Checksum: ",
                                       checksum, "\r\n"),
                          body));
  };
  // sha1("hello world") and sha256("hello world"), in base64.
  Response r = patch(0, "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "hello world");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 11);
  // A wrong digest: 460, and none of the request's bytes count, though the
  // commit interval (4 bytes) passed many times within it.
  r = patch(11, "sha256 uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=", "HELLO WORLD");
  EXPECT_EQ(r.status, 460);
  EXPECT_EQ(Offset(r), 11);
  EXPECT_EQ(HeadOffset(port, path), 11);
  r = patch(11, "sha256 uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=", "hello world");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 22);
  EXPECT_EQ(ReadFileBytes(dir + "/" + path.substr(7) + ".bin"), "hello worldhello world");
  EXPECT_EQ(patch(22, "md5 XrY7u+Ae7tCTyyK7j1rNww==", "").status, 400);  // Unknown algorithm.
  // The metrics saw it all, and promtool accepts their text.
  const std::string metrics = ScrapeMetrics(port);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_uploads_created_total"), 1);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_uploads_completed_total"), 1);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_upload_bytes_stored_total"), 22);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_upload_bytes_in_flight"), 0);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_upload_checksum_mismatches_total"), 1);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_uploads_failed_total"), 0);
  // Creation: data file, record, directory; each commit: data, then the
  // record appended to its log.
  EXPECT_EQ(MetricValue(metrics, "epollhttp_upload_sync_duration_seconds_count"), 7) << metrics;
  int code = -1;
  const std::string promtool = RunCommand(
      absl::StrCat("curl -s http://127.0.0.1:", port, "/metrics | promtool check metrics 2>&1"),
      &code);
  EXPECT_EQ(code, 0) << promtool;
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, ATokenGuardsEveryRequestButOptions) {
  const std::string dir = NewDir("token");
  const std::string token_file = dir + "-token";
  {
    std::ofstream out(token_file);
    out << "s3cret-token\n";
  }
  auto server =
      ServerProcess::Start({{"--upload_dir=" + dir, "--upload_token_file=" + token_file}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  for (const char* auth :
       {"", "Authorization: Bearer wrong-token\r\n", "Authorization: Bearer s3cret-toke\r\n",
        "Authorization: Basic s3cret-token\r\n"}) {
    const Response r =
        Send(port, Tus("POST", "/files/", absl::StrCat("Upload-Length: 1\r\n", auth)));
    EXPECT_EQ(r.status, 401) << auth;
    EXPECT_EQ(HeaderValue(r.head, "WWW-Authenticate"), "Bearer realm=\"uploads\"");
  }
  EXPECT_EQ(Send(port, "OPTIONS /files/ HTTP/1.1\r\nHost: t\r\n\r\n").status, 204);
  const Response r = Send(
      port, Tus("POST", "/files/", "Upload-Length: 1\r\nAuthorization: Bearer s3cret-token\r\n"));
  EXPECT_EQ(r.status, 201);
  // The rest of the server does not ask for it.
  EXPECT_EQ(Send(port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, CorsLetsTheAllowedOriginUploadFromABrowser) {
  auto server = ServerProcess::Start(
      {{"--upload_dir=" + NewDir("cors"), "--cors_origin=https://app.example"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  Response r = Send(port,
                    "OPTIONS /files/ HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n"
                    "Access-Control-Request-Method: POST\r\n"
                    "Access-Control-Request-Headers: tus-resumable, upload-length\r\n\r\n");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(HeaderValue(r.head, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(HeaderValue(r.head, "Access-Control-Allow-Methods").find("PATCH"), std::string::npos);
  EXPECT_NE(HeaderValue(r.head, "Access-Control-Allow-Headers").find("Upload-Offset"),
            std::string::npos);
  r = Send(port, Tus("POST", "/files/", "Upload-Length: 1\r\nOrigin: https://app.example\r\n"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(HeaderValue(r.head, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(HeaderValue(r.head, "Access-Control-Expose-Headers").find("Location"),
            std::string::npos);
  r = Send(port, Tus("POST", "/files/", "Upload-Length: 1\r\nOrigin: https://evil.example\r\n"));
  EXPECT_EQ(HeaderValue(r.head, "Access-Control-Allow-Origin"), "");  // The browser blocks it.
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, ANewRequestEndsTheOlderPatchAfterCommittingIt) {
  auto server = ServerProcess::Start({{"--upload_dir=" + NewDir("one-writer")}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = Create(port, "Upload-Length: 1000000\r\n");
  // An old PATCH sends 300,000 of its 1,000,000 bytes and stalls, its
  // connection open (a client that lost track of it, say).
  Fd old = ConnectLoopback(port);
  ASSERT_TRUE(
      SendAll(old.get(),
              absl::StrCat("PATCH ", path,
                           " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\n"
                           "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                           "Content-Length: 1000000\r\n\r\n",
                           std::string(300000, 'a'))));
  // Once the server has received all of it (not yet durable: part written,
  // part gathering for its next write)...
  EXPECT_EQ(ScrapeUntil(port, "epollhttp_request_body_bytes_total", 300000), 300000);
  EXPECT_EQ(MetricValue(ScrapeMetrics(port), "epollhttp_upload_bytes_stored_total"), 0);
  // ...a HEAD has the old PATCH commit and end first, so it sees the bytes.
  EXPECT_EQ(HeadOffset(port, path), 300000);
  bool reset = false;
  ReadToEof(old.get(), &reset);  // The old request's connection is closed.
  Response r = Send(port, Patch(path, 300000, std::string(700000, 'b')));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 1000000);
  EXPECT_EQ((*server)->Stop(), 0);
}

// A small tmpfs as the upload directory: a full disk for real. Mounting
// needs root (CAP_SYS_ADMIN); elsewhere the test says why it skips.
class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewDir("small");
    int status = -1;
    const std::string out =
        RunCommand(absl::StrCat("mount -t tmpfs -o size=2m tmpfs ", dir_, " 2>&1"), &status);
    mounted_ = status == 0;
    if (!mounted_) GTEST_SKIP() << "cannot mount a tmpfs here: " << out;
  }
  void TearDown() override {
    int status = 0;
    if (mounted_) RunCommand(absl::StrCat("umount ", dir_), &status);
  }
  std::string dir_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, AFullDiskIs507AndLeavesNothingHalfWrittenBehind) {
  auto server = ServerProcess::Start({{"--upload_dir=" + dir_}});
  ASSERT_TRUE(server.ok()) << server.status();
  uint16_t port = (*server)->port();
  // 1.5 MB of the 2 MB is reserved (fallocate) at creation...
  const std::string big = Create(port, "Upload-Length: 1500000\r\n");
  // ...so another 1.5 MB cannot be.
  EXPECT_EQ(Send(port, Tus("POST", "/files/", "Upload-Length: 1500000\r\n")).status, 507);
  // A deferred-length upload runs out of disk mid-body.
  const std::string deferred = Create(port, "Upload-Defer-Length: 1\r\n");
  Response r = Send(port, Patch(deferred, 0, std::string(1000000, 'd')));
  EXPECT_EQ(r.status, 507);
  const int64_t kept = Offset(r);
  EXPECT_GE(kept, 0);
  EXPECT_LT(kept, 1000000);
  EXPECT_EQ(HeadOffset(port, deferred), kept);  // The answer and HEAD agree.
  EXPECT_GE(MetricValue(ScrapeMetrics(port), "epollhttp_upload_insufficient_storage_total"), 2);
  // Space comes back: the rest goes in.
  EXPECT_EQ(Send(port, Tus("DELETE", big, "")).status, 204);
  r = Send(port, Tus("PATCH", deferred,
                     "Upload-Offset: " + std::to_string(kept) +
                         "\r\nUpload-Length: 1000000\r\n"
                         "Content-Type: application/offset+octet-stream\r\n",
                     std::string(static_cast<size_t>(1000000 - kept), 'd')));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Offset(r), 1000000);
  EXPECT_EQ((*server)->Stop(), 0);
  // And a restart recovers the directory as it was.
  server = ServerProcess::Start({{"--upload_dir=" + dir_}});
  ASSERT_TRUE(server.ok()) << server.status();
  port = (*server)->port();
  EXPECT_EQ(HeadOffset(port, deferred), 1000000);
  r = Send(port, absl::StrCat("GET ", deferred, " HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(r.body, std::string(1000000, 'd'));
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(UploadE2eTest, TheDirectoryQuotaAndTheIncompleteCap) {
  auto server =
      ServerProcess::Start({{"--upload_dir=" + NewDir("quota"), "--upload_dir_max_bytes=1000",
                             "--upload_max_incomplete=2"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string a = Create(port, "Upload-Length: 600\r\n");
  EXPECT_EQ(Send(port, Tus("POST", "/files/", "Upload-Length: 600\r\n")).status, 507);
  const std::string b = Create(port, "Upload-Length: 100\r\n");
  EXPECT_EQ(Send(port, Tus("POST", "/files/", "Upload-Length: 1\r\n")).status, 503);  // Cap.
  EXPECT_EQ(Offset(Send(port, Patch(b, 0, std::string(100, 'b')))), 100);  // b completes,
  EXPECT_EQ(Send(port, Tus("POST", "/files/", "Upload-Length: 1\r\n")).status, 201);  // room.
  EXPECT_EQ((*server)->Stop(), 0);
}

// A cut PATCH, then at once a HEAD and a PATCH from its offset, 30 times.
// The server sees requests on different connections in the order it reads
// them: the HEAD may even be served before the cut PATCH's head is read, and
// then report the offset from before it; the PATCH that follows gets 409,
// and a client asks HEAD again (as tus-js-client does). What must hold: the
// server stays up, every offset it reports is settled (the next PATCH from a
// HEAD taken after the cut one ended fits), and offsets never go back.
TEST(UploadE2eTest, ACutPatchThenAnImmediateHeadAndResume) {
  // A client cuts its PATCH and asks HEAD at once, on a new connection, as
  // tus clients do after a drop: the HEAD may arrive before the server has
  // seen the old connection end. It must wait for the old request's bytes to
  // be settled, and the PATCH it leads to must fit (no 409).
  auto server = ServerProcess::Start({{"--upload_dir=" + NewDir("cut-then-head")}});
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = Create(port, "Upload-Length: 100000000\r\n");
  int64_t offset = 0;
  for (int round = 0; round < 30; ++round) {
    {
      Fd fd = ConnectLoopback(port);
      ASSERT_TRUE(
          SendAll(fd.get(), absl::StrCat("PATCH ", path,
                                         " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\n"
                                         "Upload-Offset: ",
                                         offset,
                                         "\r\nContent-Type: application/offset+octet-stream\r\n"
                                         "Content-Length: 1000000\r\n\r\n",
                                         std::string(300000, 'c'))));
    }  // Cut.
    int64_t now = HeadOffset(port, path);
    Response r = Send(port, Patch(path, now, std::string(1000, 'p')));
    for (int retry = 0; r.status == 409 && retry < 5; ++retry) {
      // The cut PATCH was read after the HEAD: ask again.
      const int64_t again = HeadOffset(port, path);
      ASSERT_GE(again, now) << "round " << round;
      now = again;
      r = Send(port, Patch(path, now, std::string(1000, 'p')));
    }
    ASSERT_GE(now, offset) << "round " << round;
    ASSERT_LE(now, offset + 300000) << "round " << round;
    ASSERT_EQ(r.status, 204) << "round " << round << ": " << r.head;
    offset = Offset(r);
    ASSERT_EQ(offset, now + 1000);
  }
  EXPECT_EQ((*server)->Stop(), 0);  // Alive and well.
}

TEST(UploadE2eTest, WithoutUploadDirFilesIsTheHelloReply) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const Response r = Send((*server)->port(), Tus("POST", "/files/", "Upload-Length: 1\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello! I am an epoll server.");
  EXPECT_EQ((*server)->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
