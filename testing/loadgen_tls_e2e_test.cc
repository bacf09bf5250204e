// End-to-end: the real `//loadgen` binary against a local TLS server
// (cpp-httplib's SSLServer) whose certificates are made at test time with the
// openssl tool: a test CA, a server certificate it signs for localhost and
// 127.0.0.1, a certificate for another name, and an unrelated CA.
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "testing/report_json.h"
#include "testing/server_process.h"

namespace epollhttp::test {
namespace {

// Certificates, made once for the whole test binary.
class Certificates {
 public:
  static const Certificates& Get() {
    static const Certificates* const certificates = new Certificates;
    return *certificates;
  }
  std::string dir;
  bool ok = false;

 private:
  Certificates() : dir(absl::StrCat(std::getenv("TEST_TMPDIR"), "/tls")) {
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    const std::string script = absl::StrCat(
        "set -e; mkdir -p ", dir, "; cd ", dir, ";", "openssl req -x509 ", key,
        " -keyout ca.key -out ca.pem -days 2 -subj '/CN=test CA';", "openssl req -x509 ", key,
        " -keyout other.key -out other.pem -days 2 -subj '/CN=other';", "openssl req ", key,
        " -keyout server.key -out server.csr -subj '/CN=localhost';",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.cnf;",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial",
        " -out server.pem -days 2 -extfile san.cnf;", "openssl req ", key,
        " -keyout wrong.key -out wrong.csr -subj '/CN=elsewhere.test';",
        "printf 'subjectAltName=DNS:elsewhere.test\\n' > wrong.cnf;",
        "openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial",
        " -out wrong.pem -days 2 -extfile wrong.cnf");
    int status = 0;
    RunCommand(absl::StrCat("(", script, ") >/dev/null 2>&1"), &status);
    ok = status == 0;
  }
};

// TlsServer answers GET with a greeting and POST with the number of body
// bytes it received (X-Received-Body-Bytes, which loadgen checks). With
// `backend` it also passes /files/... to the server on that port (the tus
// requests and answers: TLS in front of the upload endpoint).
class TlsServer {
 public:
  TlsServer(const std::string& cert, const std::string& key, int backend = 0)
      : server_(cert.c_str(), key.c_str()) {
    if (backend > 0) {
      const auto forward = [backend](const httplib::Request& req, httplib::Response& res) {
        httplib::Client client("127.0.0.1", backend);
        httplib::Request out;
        out.method = req.method;
        out.path = req.path;
        out.body = req.body;
        for (const auto& [name, value] : req.headers) {
          if (name.rfind("Tus-", 0) == 0 || name.rfind("Upload-", 0) == 0 ||
              name == "Content-Type") {
            out.headers.emplace(name, value);
          }
        }
        const httplib::Result answer = client.send(out);
        if (!answer) {
          res.status = 502;
          return;
        }
        res.status = answer->status;
        for (const auto& [name, value] : answer->headers) {
          if (name.rfind("Tus-", 0) == 0 || name.rfind("Upload-", 0) == 0 || name == "Location") {
            res.set_header(name, value);
          }
        }
        if (req.method == "GET") res.set_content(answer->body, "application/octet-stream");
      };
      const char* files = R"(/files/.*)";
      server_.Post(files, forward);
      server_.Patch(files, forward);
      server_.Get(files, forward);
      server_.Options(files, forward);
      server_.Delete(files, forward);
      // cpp-httplib answers HEAD with the GET handler.
    }
    server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("Hello! I am an epoll server.", "text/plain");
    });
    server_.Post("/", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Received-Body-Bytes", std::to_string(req.body.size()));
      res.set_content("ok", "text/plain");
    });
    server_.set_keep_alive_max_count(1000);  // cpp-httplib's default closes after 5.
    port_ = server_.bind_to_any_port("127.0.0.1");
    // bind_to_any_port() listens already: clients queue until the loop runs.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~TlsServer() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] bool ok() const { return port_ > 0 && server_.is_valid(); }

 private:
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
};

class LoadgenTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok) << "openssl could not make the test certificates";
    server_ = std::make_unique<TlsServer>(certs_.dir + "/server.pem", certs_.dir + "/server.key");
    ASSERT_TRUE(server_->ok());
  }

  // Run() runs loadgen against `host` on the server with `args`; returns its
  // JSON report (stdout) or, with `stderr_too`, stdout and stderr.
  std::string Run(const std::string& host, const std::string& args, int* status,
                  bool stderr_too = false) {
    return RunCommand(
        absl::StrCat(LoadgenPath(), " --url https://", host, ":", server_->port(),
                     "/ --progress=never --json=- ", args, stderr_too ? " 2>&1" : " 2>/dev/null"),
        status);
  }

  const Certificates& certs_ = Certificates::Get();
  std::unique_ptr<TlsServer> server_;
};

TEST_F(LoadgenTlsTest, VerifiedRunWithTheTestCa) {
  int status = 0;
  const std::string json =
      Run("localhost",
          "--method GET --threads 2 --clients 4 --requests 25 --cacert " + certs_.dir + "/ca.pem",
          &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "succeeded", "\"requests\""), 100) << json;
  EXPECT_EQ(JsonNumber(json, "tls", "\"errors\""), 0);
  EXPECT_EQ(JsonNumber(json, "tls_handshakes"), 4);  // One per kept-alive connection.
  // Each handshake is timed as its own phase, after its connect.
  EXPECT_EQ(JsonNumber(json, "count", "\"tls\": {\"min\""), 4) << json;
  EXPECT_EQ(JsonNumber(json, "count", "\"connect\": {\"min\""), 4) << json;
  EXPECT_GT(JsonNumber(json, "min", "\"tls\": {\"min\""), 0) << json;
  // An IP literal is checked against the certificate's IP addresses.
  const std::string by_ip =
      Run("127.0.0.1", "--method GET --threads 1 --requests 3 --cacert " + certs_.dir + "/ca.pem",
          &status);
  EXPECT_EQ(status, 0) << by_ip;
}

TEST_F(LoadgenTlsTest, AnUntrustedCertificateExits1AndSaysWhy) {
  int status = 0;
  // Without the test CA only the system's store is trusted.
  std::string out = Run("localhost", "--method GET --threads 1 --requests 3", &status, true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("loadgen: TLS with https://localhost:"), std::string::npos) << out;
  EXPECT_NE(out.find("certificate verify failed: unable to get local issuer certificate"),
            std::string::npos)
      << out;
  EXPECT_EQ(JsonNumber(out, "tls", "\"errors\""), 3) << out;
  // Another CA is no better.
  out = Run("localhost",
            "--method GET --threads 1 --requests 1 --cacert " + certs_.dir + "/other.pem", &status,
            true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("certificate verify failed"), std::string::npos) << out;
}

TEST_F(LoadgenTlsTest, ACertificateForAnotherNameFails) {
  TlsServer wrong(certs_.dir + "/wrong.pem", certs_.dir + "/wrong.key");
  ASSERT_TRUE(wrong.ok());
  int status = 0;
  const std::string out =
      RunCommand(absl::StrCat(LoadgenPath(), " --url https://localhost:", wrong.port(),
                              "/ --method GET --threads 1 --requests 1 --progress=never --cacert ",
                              certs_.dir, "/ca.pem 2>&1"),
                 &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("certificate verify failed: hostname mismatch"), std::string::npos) << out;
}

TEST_F(LoadgenTlsTest, InsecureSkipsVerification) {
  int status = 0;
  const std::string json =
      Run("localhost", "--method GET --threads 1 --requests 5 --insecure", &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "succeeded", "\"requests\""), 5) << json;
}

TEST_F(LoadgenTlsTest, UploadsArriveWhole) {
  int status = 0;
  const std::string json =
      Run("localhost", "--threads 2 --requests 3 --cacert " + certs_.dir + "/ca.pem", &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "succeeded", "\"requests\""), 6) << json;
  EXPECT_EQ(JsonNumber(json, "bytes_sent"), 6 * int64_t{3748935});
  EXPECT_EQ(JsonNumber(json, "lost_body_bytes", "\"errors\""), 0);  // The server counted them all.
}

TEST_F(LoadgenTlsTest, WholeResumableUploadsOverHttps) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/uploads");
  int status = 0;
  RunCommand(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir), &status);
  auto backend = ServerProcess::Start({{"--upload_dir=" + dir}});
  ASSERT_TRUE(backend.ok()) << backend.status();
  TlsServer front(certs_.dir + "/server.pem", certs_.dir + "/server.key", (*backend)->port());
  ASSERT_TRUE(front.ok());
  const std::string json = RunCommand(
      absl::StrCat(LoadgenPath(), " --url https://localhost:", front.port(),
                   "/files/ --upload tus --chunk_bytes 1000000 --interrupt 0.3 --threads 1 "
                   "--requests 3 --progress=never --json=- --cacert ",
                   certs_.dir, "/ca.pem 2>/dev/null"),
      &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "succeeded", "\"requests\""), 3) << json;
  EXPECT_EQ(JsonNumber(json, "verified", "\"uploads\""), 3) << json;
  EXPECT_EQ(JsonNumber(json, "tls", "\"errors\""), 0);
  EXPECT_EQ((*backend)->Stop(), 0);
}

TEST_F(LoadgenTlsTest, AConnectionPerRequestResumesItsSession) {
  int status = 0;
  const std::string json = Run("localhost",
                               "--method GET --threads 1 --clients 2 --requests 10 "
                               "--keepalive=false --cacert " +
                                   certs_.dir + "/ca.pem",
                               &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "tls_handshakes"), 20) << json;
  // Each client's first handshake is full; the rest resume.
  EXPECT_EQ(JsonNumber(json, "tls_resumed"), 18) << json;
}

TEST_F(LoadgenTlsTest, TlsFlagsAreCheckedUpFront) {
  int status = 0;
  std::string out = RunCommand(
      absl::StrCat(LoadgenPath(), " --url http://localhost:1/ --insecure 2>&1"), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(out, "loadgen: --cacert and --insecure apply only to an https:// --url\n");
  out = RunCommand(
      absl::StrCat(LoadgenPath(), " --url https://localhost:1/ --cacert /nonexistent.pem 2>&1"),
      &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(out, "loadgen: --cacert /nonexistent.pem: No such file or directory\n");
}

}  // namespace
}  // namespace epollhttp::test
