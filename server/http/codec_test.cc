#include "server/http/codec.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace epollhttp::http {
namespace {

// Answers "got N" with the body size it was told, and records what it saw.
class CountingHandler final : public Handler {
 public:
  void OnComplete(Request& request, ResponseWriter& writer) const override {
    body_ = absl::StrCat("got ", request.body_bytes);
    const ResponseField fields[] = {{"X-Seen", "yes"}};
    Response response;
    response.fields = fields;
    response.body = body_;
    writer.Write(response);
  }

 private:
  mutable std::string body_;  // Valid until the next request (tests are single-threaded).
};

// Reads the body and echoes it back, keeping it in per-request state.
class EchoHandler final : public Handler {
 public:
  struct Body final : RequestState {
    std::string bytes;
  };
  BodyMode OnHead(const RequestHead& head, Request& request) const override {
    (void)head;
    request.state = std::make_unique<Body>();
    return BodyMode::kRead;
  }
  void OnBody(absl::string_view data, Request& request) const override {
    static_cast<Body*>(request.state.get())->bytes.append(data.data(), data.size());
  }
  void OnComplete(Request& request, ResponseWriter& writer) const override {
    Response response;
    response.body = static_cast<Body*>(request.state.get())->bytes;
    writer.Write(response);
  }
};

class SilentHandler final : public Handler {
 public:
  void OnComplete(Request& request, ResponseWriter& writer) const override {
    (void)request;
    (void)writer;
  }
};

class RecordingObserver final : public CodecObserver {
 public:
  void OnRequestStart() override { events.push_back("start"); }
  void OnRequestHead(const RequestHead& head) override {
    events.push_back(absl::StrCat("head ", head.target));
  }
  void OnBodyBytes(int64_t n) override { events.push_back(absl::StrCat("body ", n)); }
  void OnResponse(int status, bool parse_error, int64_t body_bytes) override {
    events.push_back(
        absl::StrCat("response ", status, parse_error ? " error " : " ok ", body_bytes));
  }
  std::vector<std::string> events;
};

class CodecTest : public ::testing::Test {
 protected:
  CodecTest() {
    router_.SetDefault(&counting_);
    router_.Handle(Method::kPost, "/echo", &echo_);
    router_.Handle(Method::kGet, "/silent", &silent_);
  }
  CountingHandler counting_;
  EchoHandler echo_;
  SilentHandler silent_;
  Router router_;
};

TEST_F(CodecTest, FramesTheHandlersResponse) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string in = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(codec.OnInput(in, &out), in.size());
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "X-Seen: yes\r\n\r\ngot 0");
  EXPECT_TRUE(codec.idle());
  EXPECT_EQ(codec.responses(), 1);
}

TEST_F(CodecTest, HeadGetsTheFieldsButNoBody) {
  ServerCodec codec({}, &router_);
  std::string out;
  codec.OnInput("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "X-Seen: yes\r\n\r\n");
}

TEST_F(CodecTest, Http10KeepAliveIsEchoedAndPlainHttp10Closes) {
  ServerCodec keep({}, &router_);
  std::string out;
  keep.OnInput("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &out);
  EXPECT_NE(out.find("\r\nConnection: keep-alive\r\n\r\n"), std::string::npos) << out;
  EXPECT_FALSE(keep.closing());
  ServerCodec close({}, &router_);
  out.clear();
  close.OnInput("GET / HTTP/1.0\r\n\r\n", &out);
  EXPECT_NE(out.find("\r\nConnection: close\r\n\r\n"), std::string::npos) << out;
  EXPECT_TRUE(close.closing());
  EXPECT_FALSE(close.error_response());
}

TEST_F(CodecTest, HandlerThatReadsTheBodyGetsItAcrossReadsAndChunks) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string head = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(codec.OnInput(head + "3\r\nab", &out), head.size() + 5);
  EXPECT_EQ(codec.SkippableBodyBytes(), 0);
  EXPECT_EQ(codec.OnInput("c\r\n2\r\nde\r\n0\r\n\r\n", &out), 15u);
  EXPECT_NE(out.find("\r\n\r\nabcde"), std::string::npos) << out;
}

TEST_F(CodecTest, ABodyNobodyReadsMayBeSkipped) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string in = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nxy";
  EXPECT_EQ(codec.OnInput(in, &out), in.size());
  EXPECT_EQ(codec.SkippableBodyBytes(), 98);
  EXPECT_EQ(codec.body_bytes(), 2);
  codec.OnBodySkipped(90, &out);
  EXPECT_TRUE(out.empty());
  codec.OnBodySkipped(8, &out);
  EXPECT_NE(out.find("got 100"), std::string::npos) << out;
  EXPECT_EQ(codec.SkippableBodyBytes(), 0);
  EXPECT_TRUE(codec.idle());
}

TEST_F(CodecTest, ABodyTheHandlerReadsIsNeverSkipped) {
  ServerCodec codec({}, &router_);
  std::string out;
  codec.OnInput("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n", &out);
  EXPECT_EQ(codec.SkippableBodyBytes(), 0);
}

TEST_F(CodecTest, ExpectContinueIsAnsweredBeforeTheBody) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string head =
      "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(codec.OnInput(head, &out), head.size());
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  out.clear();
  EXPECT_EQ(codec.OnInput("ok", &out), 2u);
  EXPECT_NE(out.find("got 2"), std::string::npos);
}

TEST_F(CodecTest, PipelinedRequestsAreAnsweredInOrder) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none"
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo";
  EXPECT_EQ(codec.OnInput(in, &out), in.size());
  const size_t one = out.find("\r\n\r\none");
  const size_t got = out.find("got 0");
  const size_t two = out.find("\r\n\r\ntwo");
  EXPECT_TRUE(one < got && got < two) << out;
  EXPECT_EQ(codec.responses(), 3);
}

TEST_F(CodecTest, IncompleteHeadIsLeftUnconsumed) {
  ServerCodec codec({}, &router_);
  std::string out;
  EXPECT_EQ(codec.OnInput("GET / HTTP/1.1\r\nHo", &out), 0u);
  EXPECT_FALSE(codec.idle());
  EXPECT_EQ(codec.phase(), ServerCodec::Phase::kHead);
  EXPECT_EQ(codec.OnInput("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET", &out), 27u);
  EXPECT_EQ(codec.responses(), 1);
}

TEST_F(CodecTest, ErrorClosesAndIgnoresTheRest) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string in = "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(codec.OnInput(in, &out), in.size());
  EXPECT_TRUE(codec.closing());
  EXPECT_TRUE(codec.error_response());
  EXPECT_EQ(codec.responses(), 1);
  EXPECT_EQ(out,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            "Connection: close\r\n\r\nmissing Host\n");
  EXPECT_EQ(codec.OnInput("more", &out), 4u);
}

TEST_F(CodecTest, OversizedBodyIs413BeforeReadingIt) {
  CodecOptions options;
  options.body.max_body_bytes = 10;
  ServerCodec codec(options, &router_);
  std::string out;
  codec.OnInput("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", &out);
  EXPECT_EQ(out.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
}

TEST_F(CodecTest, AnErrorAnswerToHeadHasNoBody) {
  CodecOptions options;
  options.body.max_body_bytes = 10;
  ServerCodec codec(options, &router_);
  std::string out;
  codec.OnInput("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", &out);
  EXPECT_EQ(out,
            "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\n"
            "Content-Length: 15\r\nConnection: close\r\n\r\n");
  // After a HEAD that completed, an error in the next head still has its
  // body: that request's method is unknown.
  ServerCodec next({}, &router_);
  out.clear();
  next.OnInput("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n", &out);
  EXPECT_NE(out.find("\r\nConnection: close\r\n\r\nmissing Host\n"), std::string::npos) << out;
}

TEST_F(CodecTest, HeaderTimeoutAnswers408OnlyMidHead) {
  ServerCodec idle({}, &router_);
  std::string out;
  idle.OnHeaderTimeout(&out);
  EXPECT_TRUE(out.empty());
  ServerCodec mid({}, &router_);
  mid.OnInput("GET / HT", &out);
  mid.OnHeaderTimeout(&out);
  EXPECT_EQ(out.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_TRUE(mid.closing());
}

TEST_F(CodecTest, DrainingMakesTheNextResponseClose) {
  ServerCodec codec({}, &router_);
  std::string out;
  codec.StartDraining();
  codec.OnInput("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &out);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(codec.closing());
  EXPECT_EQ(codec.responses(), 1);
}

TEST_F(CodecTest, AHandlerThatWritesNothingGets500) {
  ServerCodec codec({}, &router_);
  std::string out;
  codec.OnInput("GET /silent HTTP/1.1\r\nHost: a\r\n\r\n", &out);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
}

TEST_F(CodecTest, BudgetStopsBeforeTheNextRequest) {
  ServerCodec codec({}, &router_);
  std::string out;
  const std::string one = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string in = one + one + one;
  CodecBudget budget;
  budget.max_responses = 2;
  EXPECT_EQ(codec.OnInput(in, &out, budget), 2 * one.size());
  EXPECT_TRUE(codec.yielded());
  EXPECT_EQ(codec.responses(), 2);
  // Output budget: a request starts only while output is under the limit.
  budget = {};
  budget.max_output = 1;
  EXPECT_EQ(codec.OnInput(one + one, &out, budget), 0u);  // `out` is already over.
  EXPECT_TRUE(codec.yielded());
  out.clear();
  EXPECT_EQ(codec.OnInput(one + one, &out, budget), one.size());
  EXPECT_TRUE(codec.yielded());
  EXPECT_EQ(codec.OnInput(one, &out, {}), one.size());
  EXPECT_FALSE(codec.yielded());
}

TEST_F(CodecTest, ObserverSeesEachRequestsLife) {
  RecordingObserver observer;
  ServerCodec codec({}, &router_, &observer);
  std::string out;
  codec.OnInput("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", &out);
  codec.OnInput("BAD\r\n\r\n", &out);
  EXPECT_EQ(observer.events,
            (std::vector<std::string>{"start", "head /a", "body 2", "response 200 ok 2", "start",
                                      "response 400 error 0"}));
}

}  // namespace
}  // namespace epollhttp::http
