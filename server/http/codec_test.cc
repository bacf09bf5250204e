// ServerCodec over a TestSink: framing, keep-alive, pipelining, errors and
// budgets; and the asynchronous stream seam: answers after the callbacks
// returned, paused bodies, aborts, streamed and chunked bodies, interim
// responses, cancels and writability.
#include "server/http/codec.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/http/test_sink.h"

namespace epollhttp::http {
namespace {

// Answers "got N" with the body size it was told.
class CountingHandler final : public SimpleHandler {
 public:
  void Answer(ResponseWriter& writer) const override {
    body_ = absl::StrCat("got ", writer.request().body_bytes);
    const ResponseField fields[] = {{"X-Seen", "yes"}};
    Response response;
    response.fields = fields;
    response.body = body_;
    writer.Respond(response);
  }

 private:
  mutable std::string body_;  // Valid until the next request (tests are single-threaded).
};

// Reads the body and echoes it back.
class EchoHandler final : public Handler {
 public:
  class Stream final : public RequestStream {
   public:
    BodyAction OnBody(absl::string_view data, ResponseWriter& writer) override {
      (void)writer;
      bytes_.append(data.data(), data.size());
      return BodyAction::kContinue;
    }
    void OnEnd(ResponseWriter& writer) override {
      Response response;
      response.body = bytes_;
      writer.Respond(response);
    }

   private:
    std::string bytes_;
  };
  StreamStart Start(const RequestHead& head, ResponseWriter& writer) const override {
    (void)head;
    (void)writer;
    return {Owned(std::make_unique<Stream>()), BodyMode::kRead};
  }
};

// Offers 8 bytes at a time for the body to be read into, and echoes what
// came both ways (OnBody() pieces in brackets).
class DirectHandler final : public Handler {
 public:
  class Stream final : public RequestStream {
   public:
    absl::Span<char> BodyBuffer(size_t max) override {
      return absl::Span<char>(space_, std::min(max, sizeof(space_)));
    }
    BodyAction OnBodyRead(size_t n, ResponseWriter& writer) override {
      (void)writer;
      bytes_.append(space_, n);
      return BodyAction::kContinue;
    }
    BodyAction OnBody(absl::string_view data, ResponseWriter& writer) override {
      (void)writer;
      absl::StrAppend(&bytes_, "[", data, "]");
      return BodyAction::kContinue;
    }
    void OnEnd(ResponseWriter& writer) override {
      Response response;
      response.body = bytes_;
      writer.Respond(response);
    }

   private:
    char space_[8];
    std::string bytes_;
  };
  StreamStart Start(const RequestHead& head, ResponseWriter& writer) const override {
    (void)head;
    (void)writer;
    return {Owned(std::make_unique<Stream>()), BodyMode::kRead};
  }
};

// What an asynchronous stream saw; the test drives its writer afterwards.
struct Seen {
  ResponseWriter* writer = nullptr;  // Valid while `alive`.
  std::vector<std::string> pieces;
  std::vector<std::string> events;
  bool alive = false;
  bool pause = false;  // OnBody() answers kPause.
  int writes_in_abort = 0;
};

// A stream that answers nothing itself: the test answers through its writer.
class LaterHandler final : public Handler {
 public:
  explicit LaterHandler(Seen* seen, BodyMode body = BodyMode::kRead) : seen_(seen), body_(body) {}
  class Stream final : public RequestStream {
   public:
    explicit Stream(Seen* seen) : seen_(seen) { seen_->alive = true; }
    ~Stream() override {
      seen_->alive = false;
      seen_->writer = nullptr;
      seen_->events.push_back("destroyed");
    }
    BodyAction OnBody(absl::string_view data, ResponseWriter& writer) override {
      (void)writer;
      seen_->pieces.emplace_back(data);
      return seen_->pause ? BodyAction::kPause : BodyAction::kContinue;
    }
    void OnEnd(ResponseWriter& writer) override {
      (void)writer;
      seen_->events.push_back("end");
    }
    void OnWritable(ResponseWriter& writer) override {
      (void)writer;
      seen_->events.push_back("writable");
    }
    void OnAbort(AbortReason reason) override {
      seen_->events.push_back(absl::StrCat("abort ", AbortReasonName(reason)));
      if (seen_->writer->WriteBody("x") == -ECANCELED) ++seen_->writes_in_abort;
      if (seen_->writer->Respond({}) == -ECANCELED) ++seen_->writes_in_abort;
    }

   private:
    Seen* seen_;
  };
  StreamStart Start(const RequestHead& head, ResponseWriter& writer) const override {
    (void)head;
    seen_->writer = &writer;
    seen_->events.push_back("start");
    return {Owned(std::make_unique<Stream>(seen_)), body_};
  }

 private:
  Seen* seen_;
  BodyMode body_;
};

// Answers 413 from Start(), before any body byte.
class RejectHandler final : public Handler {
 public:
  StreamStart Start(const RequestHead& head, ResponseWriter& writer) const override {
    (void)head;
    Response response;
    response.status = 413;
    response.body = "too big\n";
    writer.Respond(response);
    return {Owned(std::make_unique<RequestStream>()), BodyMode::kDiscard};
  }
};

class NullHandler final : public Handler {
 public:
  StreamStart Start(const RequestHead& head, ResponseWriter& writer) const override {
    (void)head;
    (void)writer;
    return {};
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
  void OnAbort(AbortReason reason) override {
    events.push_back(absl::StrCat("abort ", AbortReasonName(reason)));
  }
  std::vector<std::string> events;
};

class CodecTest : public ::testing::Test {
 protected:
  CodecTest() {
    router_.SetDefault(&counting_);
    router_.Handle(Method::kPost, "/echo", &echo_);
    router_.Handle(Method::kGet, "/null", &null_);
    router_.Handle(Method::kPost, "/reject", &reject_);
    router_.Handle(Method::kPost, "/later", &later_);
    router_.Handle(Method::kGet, "/later", &later_);
    router_.Handle(Method::kPost, "/skip", &later_discard_);
    router_.Handle(Method::kPost, "/direct", &direct_);
  }

  // Codec() is a new codec writing to sink_.
  std::unique_ptr<ServerCodec> Codec(const CodecOptions& options = {},
                                     CodecObserver* observer = nullptr) {
    auto codec = std::make_unique<ServerCodec>(options, &router_, observer);
    codec->set_sink(&sink_);
    return codec;
  }

  CountingHandler counting_;
  EchoHandler echo_;
  NullHandler null_;
  RejectHandler reject_;
  Seen seen_;
  LaterHandler later_{&seen_};
  LaterHandler later_discard_{&seen_, BodyMode::kDiscard};
  DirectHandler direct_;
  Router router_;
  TestSink sink_;
};

constexpr char kGet[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

TEST_F(CodecTest, FramesTheHandlersResponse) {
  auto codec = Codec();
  const std::string in = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  const InputResult result = codec->OnInput(in);
  EXPECT_EQ(result.consumed, in.size());
  EXPECT_EQ(result.responses, 1);
  EXPECT_FALSE(result.held || result.closing || result.yielded);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "X-Seen: yes\r\n\r\ngot 0");
  EXPECT_TRUE(codec->idle());
  EXPECT_EQ(codec->responses(), 1);
}

TEST_F(CodecTest, HeadGetsTheFieldsButNoBody) {
  auto codec = Codec();
  codec->OnInput("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "X-Seen: yes\r\n\r\n");
}

TEST_F(CodecTest, Http10KeepAliveIsEchoedAndPlainHttp10Closes) {
  auto keep = Codec();
  keep->OnInput("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_NE(sink_.Take().find("\r\nConnection: keep-alive\r\n\r\n"), std::string::npos);
  EXPECT_FALSE(keep->closing());
  auto close = Codec();
  EXPECT_TRUE(close->OnInput("GET / HTTP/1.0\r\n\r\n").closing);
  EXPECT_NE(sink_.Take().find("\r\nConnection: close\r\n\r\n"), std::string::npos);
  EXPECT_TRUE(close->closing());
  EXPECT_FALSE(close->error_response());
}

TEST_F(CodecTest, HandlerThatReadsTheBodyGetsItAcrossReadsAndChunks) {
  auto codec = Codec();
  const std::string head = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(codec->OnInput(head + "3\r\nab").consumed, head.size() + 5);
  EXPECT_EQ(codec->SkippableBodyBytes(), 0);
  EXPECT_EQ(codec->OnInput("c\r\n2\r\nde\r\n0\r\n\r\n").consumed, 15u);
  EXPECT_NE(sink_.Take().find("\r\n\r\nabcde"), std::string::npos);
}

TEST_F(CodecTest, ABodyNobodyReadsMayBeSkipped) {
  auto codec = Codec();
  const std::string in = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nxy";
  EXPECT_EQ(codec->OnInput(in).consumed, in.size());
  EXPECT_EQ(codec->SkippableBodyBytes(), 98);
  EXPECT_EQ(codec->body_bytes(), 2);
  EXPECT_EQ(codec->OnBodySkipped(90).responses, 0);
  EXPECT_EQ(sink_.Take(), "");
  EXPECT_EQ(codec->OnBodySkipped(8).responses, 1);
  EXPECT_NE(sink_.Take().find("got 100"), std::string::npos);
  EXPECT_EQ(codec->SkippableBodyBytes(), 0);
  EXPECT_TRUE(codec->idle());
}

TEST_F(CodecTest, ABodyTheHandlerReadsIsNeverSkipped) {
  auto codec = Codec();
  codec->OnInput("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n");
  EXPECT_EQ(codec->SkippableBodyBytes(), 0);
}

TEST_F(CodecTest, ABodyIsReadStraightIntoTheMemoryItsStreamOffersNeverPastItsEnd) {
  auto codec = Codec();
  const std::string head = "POST /direct HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n";
  EXPECT_EQ(codec->OnInput(head + "ab").consumed, head.size() + 2);  // Read as usual.
  const std::string rest = "cdefghijklmnopqrst";
  size_t at = 0;
  while (at < rest.size()) {
    const absl::Span<char> space = codec->DirectBodyBuffer();
    ASSERT_EQ(space.size(), std::min<size_t>(8, rest.size() - at));  // Never past the body.
    std::memcpy(space.data(), rest.data() + at, space.size());
    codec->OnDirectBodyRead(static_cast<int64_t>(space.size()));
    at += space.size();
  }
  EXPECT_NE(sink_.Take().find("\r\n\r\n[ab]cdefghijklmnopqrst"), std::string::npos);
  EXPECT_EQ(codec->body_bytes(), 20);
  EXPECT_TRUE(codec->idle());
  EXPECT_TRUE(codec->DirectBodyBuffer().empty());  // Between requests.
  // A chunked body is read through its framing; a stream that offers no
  // memory gets OnBody().
  codec->OnInput("POST /direct HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(codec->DirectBodyBuffer().empty());
  auto echo = Codec();
  echo->OnInput("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  EXPECT_TRUE(echo->DirectBodyBuffer().empty());
}

TEST_F(CodecTest, PipeBytesNeedASinkThatSplices) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_NE(seen_.writer, nullptr);
  EXPECT_EQ(seen_.writer->WritePipe(-1, 0), -EINVAL);  // No head yet.
  ResponseHead head;
  head.content_length = 3;
  ASSERT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->WritePipe(-1, 0), -ENOSYS);  // The test sink cannot.
  EXPECT_EQ(seen_.writer->WritePipe(-1, 4), -EMSGSIZE);
  EXPECT_EQ(seen_.writer->WriteBody("abc"), 0);
  EXPECT_EQ(seen_.writer->Finish(), 0);
}

TEST_F(CodecTest, ExpectContinueIsAnsweredBeforeTheBody) {
  auto codec = Codec();
  const std::string head =
      "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(codec->OnInput(head).consumed, head.size());
  EXPECT_EQ(sink_.Take(), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(codec->OnInput("ok").consumed, 2u);
  EXPECT_NE(sink_.Take().find("got 2"), std::string::npos);
}

TEST_F(CodecTest, AnEarlyAnswerSkips100ContinueAndCloses) {
  auto codec = Codec();
  const InputResult result = codec->OnInput(
      "POST /reject HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n"
            "Connection: close\r\n\r\ntoo big\n");
  EXPECT_TRUE(result.closing);
  EXPECT_EQ(result.responses, 1);
  EXPECT_TRUE(codec->error_response());  // The client may send the body anyway: linger.
}

TEST_F(CodecTest, PipelinedRequestsAreAnsweredInOrder) {
  auto codec = Codec();
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none"
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo";
  EXPECT_EQ(codec->OnInput(in).consumed, in.size());
  const std::string out = sink_.Take();
  const size_t one = out.find("\r\n\r\none");
  const size_t got = out.find("got 0");
  const size_t two = out.find("\r\n\r\ntwo");
  EXPECT_TRUE(one < got && got < two) << out;
  EXPECT_EQ(codec->responses(), 3);
}

TEST_F(CodecTest, IncompleteHeadIsLeftUnconsumed) {
  auto codec = Codec();
  EXPECT_EQ(codec->OnInput("GET / HTTP/1.1\r\nHo").consumed, 0u);
  EXPECT_FALSE(codec->idle());
  EXPECT_EQ(codec->phase(), ServerCodec::Phase::kHead);
  EXPECT_EQ(codec->OnInput("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET").consumed, 27u);
  EXPECT_EQ(codec->responses(), 1);
}

TEST_F(CodecTest, ErrorClosesAndIgnoresTheRest) {
  auto codec = Codec();
  const std::string in = "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(codec->OnInput(in).consumed, in.size());
  EXPECT_TRUE(codec->closing());
  EXPECT_TRUE(codec->error_response());
  EXPECT_EQ(codec->responses(), 1);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            "Connection: close\r\n\r\nmissing Host\n");
  EXPECT_EQ(codec->OnInput("more").consumed, 4u);
}

TEST_F(CodecTest, OversizedBodyIs413BeforeReadingIt) {
  CodecOptions options;
  options.body.max_body_bytes = 10;
  auto codec = Codec(options);
  codec->OnInput("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(sink_.Take().rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
}

TEST_F(CodecTest, AnErrorAnswerToHeadHasNoBody) {
  CodecOptions options;
  options.body.max_body_bytes = 10;
  auto codec = Codec(options);
  codec->OnInput("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\n"
            "Content-Length: 15\r\nConnection: close\r\n\r\n");
  // After a HEAD that completed, an error in the next head still has its
  // body: that request's method is unknown.
  auto next = Codec();
  next->OnInput("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_NE(sink_.Take().find("\r\nConnection: close\r\n\r\nmissing Host\n"), std::string::npos);
}

TEST_F(CodecTest, HeaderTimeoutAnswers408OnlyMidHead) {
  auto idle = Codec();
  idle->OnHeaderTimeout();
  EXPECT_EQ(sink_.Take(), "");
  auto mid = Codec();
  mid->OnInput("GET / HT");
  mid->OnHeaderTimeout();
  EXPECT_EQ(sink_.Take().rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_TRUE(mid->closing());
}

TEST_F(CodecTest, DrainingMakesTheNextResponseClose) {
  auto codec = Codec();
  codec->StartDraining();
  codec->OnInput(absl::StrCat(kGet, kGet));
  EXPECT_NE(sink_.Take().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(codec->closing());
  EXPECT_EQ(codec->responses(), 1);
}

TEST_F(CodecTest, AHandlerThatStartsNoStreamGets500) {
  auto codec = Codec();
  codec->OnInput("GET /null HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(sink_.Take().rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
}

TEST_F(CodecTest, BudgetStopsBeforeTheNextRequest) {
  auto codec = Codec();
  const std::string one = kGet;
  CodecBudget budget;
  budget.max_responses = 2;
  InputResult result = codec->OnInput(one + one + one, budget);
  EXPECT_EQ(result.consumed, 2 * one.size());
  EXPECT_TRUE(result.yielded);
  EXPECT_EQ(codec->responses(), 2);
  // Output budget: a request starts only while output is under the limit.
  budget = {};
  budget.max_output = 1;
  result = codec->OnInput(one + one, budget);
  EXPECT_EQ(result.consumed, 0u);  // The output is already over.
  EXPECT_TRUE(result.yielded);
  sink_.Take();
  result = codec->OnInput(one + one, budget);
  EXPECT_EQ(result.consumed, one.size());
  EXPECT_TRUE(result.yielded);
  result = codec->OnInput(one, {});
  EXPECT_EQ(result.consumed, one.size());
  EXPECT_FALSE(result.yielded);
}

TEST_F(CodecTest, ObserverSeesEachRequestsLife) {
  RecordingObserver observer;
  auto codec = Codec({}, &observer);
  codec->OnInput("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
  codec->OnInput("BAD\r\n\r\n");
  EXPECT_EQ(observer.events,
            (std::vector<std::string>{"start", "head /a", "body 2", "response 200 ok 2", "start",
                                      "response 400 error 0"}));
}

// --- Asynchronous streams.

TEST_F(CodecTest, AnAnswerAfterTheCallbacksWaitsForPollAndHoldsThePipeline) {
  auto codec = Codec();
  const std::string later = "GET /later HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string in = later + kGet;
  InputResult result = codec->OnInput(in);
  EXPECT_EQ(result.consumed, later.size());  // The next request waits, unread.
  EXPECT_TRUE(result.held);
  EXPECT_EQ(codec->phase(), ServerCodec::Phase::kHeld);
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"start", "end"}));
  EXPECT_EQ(codec->OnInput(in.substr(result.consumed)).consumed, 0u);  // Still held.
  // Later, in pieces: each write outside the codec's calls asks for a wake-up.
  ResponseWriter& writer = *seen_.writer;
  ResponseHead head;
  head.content_length = 5;
  EXPECT_EQ(writer.WriteHead(head), 0);
  EXPECT_EQ(writer.WriteBody("ab"), 0);
  EXPECT_EQ(writer.WriteBody("cde"), 0);
  EXPECT_EQ(writer.Finish(), 0);
  EXPECT_EQ(sink_.wakes(), 4);
  EXPECT_TRUE(seen_.alive);  // Not destroyed inside its own writer call.
  result = codec->Poll();
  EXPECT_EQ(result.responses, 1);
  EXPECT_FALSE(result.held);
  EXPECT_FALSE(seen_.alive);
  result = codec->OnInput(in.substr(later.size()));
  EXPECT_EQ(result.responses, 1);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nabcde"
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "X-Seen: yes\r\n\r\ngot 0");
}

TEST_F(CodecTest, APausedBodyIsNeitherLostNorRepeatedAndItsEndWaitsForTheResume) {
  auto codec = Codec();
  seen_.pause = true;
  const std::string head = "POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n";
  InputResult result = codec->OnInput(head + "abc");
  EXPECT_EQ(result.consumed, head.size() + 3);  // The piece delivered is consumed.
  EXPECT_TRUE(result.held);
  EXPECT_EQ(codec->SkippableBodyBytes(), 0);
  EXPECT_EQ(codec->OnInput("def").consumed, 0u);  // Paused: nothing more is taken.
  EXPECT_EQ(seen_.pieces, (std::vector<std::string>{"abc"}));
  seen_.writer->ResumeBody();
  EXPECT_EQ(sink_.wakes(), 1);
  EXPECT_FALSE(codec->Poll().held);
  result = codec->OnInput("def");  // The last piece pauses again: the end waits.
  EXPECT_EQ(result.consumed, 3u);
  EXPECT_TRUE(result.held);
  EXPECT_EQ(seen_.pieces, (std::vector<std::string>{"abc", "def"}));
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"start"}));
  seen_.writer->ResumeBody();
  result = codec->Poll();  // The end arrives with the resume; the answer is still to come.
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"start", "end"}));
  EXPECT_TRUE(result.held);
  EXPECT_EQ(seen_.writer->Respond({}), 0);
  EXPECT_EQ(codec->Poll().responses, 1);
  EXPECT_EQ(codec->phase(), ServerCodec::Phase::kIdle);
}

TEST_F(CodecTest, AbortReachesTheStreamOnceAndItsWritesAreRefused) {
  RecordingObserver observer;
  auto codec = Codec({}, &observer);
  codec->OnInput("POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab");
  ResponseWriter* writer = seen_.writer;
  codec->Abort(AbortReason::kTimeout);
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"start", "abort timeout", "destroyed"}));
  EXPECT_EQ(seen_.writes_in_abort, 2);
  EXPECT_EQ(writer->Respond({}), -ECANCELED);  // The codec's writer outlives the stream.
  codec->Abort(AbortReason::kReset);           // Nothing left to abort.
  EXPECT_EQ(seen_.events.size(), 3u);
  EXPECT_TRUE(codec->closing());
  EXPECT_EQ(sink_.Take(), "");
  EXPECT_EQ(observer.events.back(), "abort timeout");
}

TEST_F(CodecTest, AMalformedBodyAbortsTheStreamThenAnswers400) {
  auto codec = Codec();
  codec->OnInput("POST /later HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX");
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"start", "abort bad request", "destroyed"}));
  EXPECT_EQ(sink_.Take().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_TRUE(codec->closing());
}

TEST_F(CodecTest, AnAnswerBeforeTheBodyEndsClosesTheConnection) {
  auto codec = Codec();
  codec->OnInput("POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab");
  Response response;
  response.status = 409;
  EXPECT_EQ(seen_.writer->Respond(response), 0);
  const InputResult result = codec->Poll();
  EXPECT_EQ(result.responses, 1);
  EXPECT_TRUE(result.closing);
  EXPECT_TRUE(codec->error_response());
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 409 Conflict\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n");
}

TEST_F(CodecTest, AnUnknownLengthIsChunkedAndToHttp10DelimitedByTheClose) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  ResponseHead head;  // content_length -1: unknown.
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->WriteBody("hello"), 0);
  EXPECT_EQ(seen_.writer->WriteBody(std::string(20, 'z')), 0);
  EXPECT_EQ(seen_.writer->Finish(), 0);
  EXPECT_FALSE(codec->Poll().closing);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n14\r\nzzzzzzzzzzzzzzzzzzzz\r\n0\r\n\r\n");
  auto old = Codec();
  old->OnInput("GET /later HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->WriteBody("hello"), 0);
  EXPECT_EQ(seen_.writer->Finish(), 0);
  EXPECT_TRUE(old->Poll().closing);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello");
}

TEST_F(CodecTest, NoContentAndHeadAnswersCarryNoBody) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  const ResponseField fields[] = {{"Upload-Offset", "7"}};
  ResponseHead head;
  head.status = 204;
  head.fields = fields;
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->WriteBody("x"), -EMSGSIZE);
  EXPECT_EQ(seen_.writer->Finish(), 0);
  codec->Poll();
  EXPECT_EQ(sink_.Take(), "HTTP/1.1 204 No Content\r\nUpload-Offset: 7\r\n\r\n");
  codec->OnInput("HEAD /later HTTP/1.1\r\nHost: a\r\n\r\n");
  head = {};
  head.content_length = 3;
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->WriteBody("abc"), 0);  // Counted, not sent.
  EXPECT_EQ(seen_.writer->Finish(), 0);
  codec->Poll();
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n");
  // A HEAD answer may state the length without writing the bytes it counts.
  codec->OnInput("HEAD /later HTTP/1.1\r\nHost: a\r\n\r\n");
  head.content_length = 1000000;
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->Finish(), 0);
  EXPECT_FALSE(codec->Poll().closing);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n");
}

TEST_F(CodecTest, WritesOutOfOrderOrBeyondTheLengthAreRefused) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  ResponseWriter& writer = *seen_.writer;
  EXPECT_EQ(writer.WriteBody("x"), -EINVAL);  // No head yet.
  EXPECT_EQ(writer.Finish(), -EINVAL);
  ResponseHead head;
  head.status = 99;
  EXPECT_EQ(writer.WriteHead(head), -EINVAL);
  head.status = 200;
  head.content_length = 2;
  EXPECT_EQ(writer.WriteHead(head), 0);
  EXPECT_EQ(writer.WriteHead(head), -EINVAL);
  EXPECT_EQ(writer.WriteInterim(104, {}), -EINVAL);  // After the final head.
  EXPECT_EQ(writer.WriteBody("abc"), -EMSGSIZE);
  EXPECT_EQ(writer.WriteBody("ab"), 0);
  EXPECT_EQ(writer.Finish(), 0);
  EXPECT_EQ(writer.Finish(), -EALREADY);
  EXPECT_EQ(writer.WriteBody("x"), -EALREADY);
  EXPECT_EQ(codec->Poll().responses, 1);
}

TEST_F(CodecTest, AShortFinishClosesAfterWhatWasWritten) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  ResponseHead head;
  head.content_length = 10;
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_EQ(seen_.writer->WriteBody("abc"), 0);
  EXPECT_EQ(seen_.writer->Finish(), -EMSGSIZE);
  EXPECT_TRUE(codec->Poll().closing);
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc");
}

TEST_F(CodecTest, CancelBeforeTheHeadAnswers500AndCloses) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  seen_.writer->Cancel();
  EXPECT_TRUE(codec->Poll().closing);
  EXPECT_EQ(sink_.Take().rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  EXPECT_EQ(seen_.events.back(), "destroyed");  // No abort: the stream gave up itself.
}

TEST_F(CodecTest, InterimResponsesGoBeforeTheFinalOneButNotToHttp10) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  const ResponseField fields[] = {{"Location", "/files/ab"}};
  EXPECT_EQ(seen_.writer->WriteInterim(101, fields), -EINVAL);
  EXPECT_EQ(seen_.writer->WriteInterim(104, fields), 0);
  EXPECT_EQ(seen_.writer->Respond({}), 0);
  codec->Poll();
  EXPECT_EQ(sink_.Take(),
            "HTTP/1.1 104 Upload Resumption Supported\r\nLocation: /files/ab\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n");
  auto old = Codec();
  old->OnInput("GET /later HTTP/1.0\r\n\r\n");
  EXPECT_EQ(seen_.writer->WriteInterim(104, fields), 0);
  EXPECT_EQ(sink_.Take(), "");
}

TEST_F(CodecTest, AStreamAboveTheHighWaterMarkHearsWhenOutputDrains) {
  auto codec = Codec();
  codec->OnInput("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  ResponseHead head;
  EXPECT_EQ(seen_.writer->WriteHead(head), 0);
  EXPECT_TRUE(seen_.writer->writable());
  sink_.set_unsent(ResponseWriter::kHighWater);
  EXPECT_EQ(seen_.writer->WriteBody("x"), 0);
  EXPECT_FALSE(seen_.writer->writable());
  EXPECT_TRUE(codec->wants_writable());
  sink_.Take();
  sink_.set_unsent(0);
  codec->OnOutputDrained();
  EXPECT_EQ(seen_.events.back(), "writable");
  EXPECT_FALSE(codec->wants_writable());
}

TEST_F(CodecTest, ADiscardingStreamThatAnswersLateStillHasItsBodyCounted) {
  auto codec = Codec();
  codec->OnInput("POST /skip HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
  EXPECT_EQ(codec->SkippableBodyBytes(), 8);
  codec->OnBodySkipped(8);
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"start", "end"}));
  EXPECT_EQ(seen_.writer->request().body_bytes, 10);
  EXPECT_EQ(seen_.writer->Respond({}), 0);
  EXPECT_EQ(codec->Poll().responses, 1);
  EXPECT_TRUE(codec->idle());
}

}  // namespace
}  // namespace epollhttp::http
