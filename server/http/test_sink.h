// test_sink.h: `TestSink`, a CodecSink for codec and application tests: the
// output collects in a Buffer the test takes as a string, and wake-ups are
// counted instead of scheduled.
//
// Test-only. Thread safety: one thread, the test's.
#ifndef EPOLLHTTP_SERVER_HTTP_TEST_SINK_H_
#define EPOLLHTTP_SERVER_HTTP_TEST_SINK_H_

#include <cstddef>
#include <string>

#include "net/buffer.h"
#include "net/event_loop.h"
#include "server/http/codec.h"

namespace epollhttp::http {

class TestSink final : public CodecSink {
 public:
  net::Buffer* Output() override { return &output_; }
  [[nodiscard]] size_t QueuedOutput() const override { return output_.size() + unsent_; }
  void Wake() override { ++wakes_; }
  [[nodiscard]] net::EventLoop* loop() const override { return nullptr; }

  // Take() returns and forgets the output so far.
  std::string Take() {
    std::string out(output_.readable().data(), output_.size());
    output_.Consume(output_.size());
    return out;
  }
  // set_unsent() pretends `n` more bytes wait to be sent (for writable()).
  void set_unsent(size_t n) { unsent_ = n; }
  [[nodiscard]] int wakes() const { return wakes_; }

 private:
  net::Buffer output_;
  size_t unsent_ = 0;
  int wakes_ = 0;
};

// Answer() is the whole output of a new codec over `router` for `input`.
inline std::string Answer(const Router& router, absl::string_view input) {
  TestSink sink;
  ServerCodec codec({}, &router);
  codec.set_sink(&sink);
  codec.OnInput(input);
  return sink.Take();
}

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_TEST_SINK_H_
