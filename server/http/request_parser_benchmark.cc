// request_parser_benchmark.cc: Google Benchmark micro-benchmarks for the
// //server/http parsers (not a test; speed goals live here, see README.md).
//
//   bazel run -c opt //server/http:request_parser_benchmark
//
// - BM_ParseBrowserGet: a 703-byte browser GET with 10 headers (long cookie,
//   accept lists), parsed and fully validated in one call, with Reset() between
//   requests as a keep-alive connection does. Goal: <= 250 ns.
// - BM_ParseBrowserGetSplit: the same request arriving in two reads.
// - BM_ParseContentLength: a 7-digit Content-Length value. Goal: <= 5 ns.
// - BM_ChunkedBody: a body of 64 KiB chunks decoded by BodyReader. Goal:
//   >= 5 GB/s.
// - BM_ContentLengthBody: a Content-Length body streamed through BodyReader.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "server/http/body_reader.h"
#include "server/http/content_length.h"
#include "server/http/request_parser.h"

namespace epollhttp::http {
namespace {

// BrowserGet() returns a Chrome-like GET: request line plus 10 header fields,
// 703 bytes in total.
std::string BrowserGet() {
  std::string request = absl::StrCat(
      "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg "
      "HTTP/1.1\r\n",
      "Host: www.kittyhell.com\r\n",
      "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_6; ja-JP-mac) "
      "AppleWebKit/533.19.4 (KHTML, like Gecko) Version/5.0.3 Safari/533.19.4\r\n",
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
      "*/*;q=0.8\r\n",
      "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n", "Accept-Encoding: gzip, deflate, br\r\n",
      "Connection: keep-alive\r\n", "Referer: https://www.kittyhell.com/\r\n",
      "Upgrade-Insecure-Requests: 1\r\n", "Cache-Control: max-age=60\r\n",
      "Cookie: wp_ozh_wsa_visits=2; "
      "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
      "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor."
      "com|utmcct=/reader/\r\n",
      "\r\n");
  return request;
}

void BM_ParseBrowserGet(benchmark::State& state) {
  const std::string request = BrowserGet();
  RequestParser parser;
  for (auto _ : state) {
    parser.Reset();
    ParseStatus status = parser.Parse(request);
    benchmark::DoNotOptimize(status);
    if (status != ParseStatus::kComplete || parser.head().headers.size() != 10) {
      state.SkipWithError("browser GET did not parse");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(request.size()));
  state.counters["request_bytes"] = static_cast<double>(request.size());
}
BENCHMARK(BM_ParseBrowserGet);

void BM_ParseBrowserGetSplit(benchmark::State& state) {
  const std::string request = BrowserGet();
  const absl::string_view whole = request;
  const absl::string_view first = whole.substr(0, whole.size() / 2);
  RequestParser parser;
  for (auto _ : state) {
    parser.Reset();
    benchmark::DoNotOptimize(parser.Parse(first));
    ParseStatus status = parser.Parse(whole);
    benchmark::DoNotOptimize(status);
    if (status != ParseStatus::kComplete) {
      state.SkipWithError("split browser GET did not parse");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(request.size()));
}
BENCHMARK(BM_ParseBrowserGetSplit);

void BM_ParseContentLength(benchmark::State& state) {
  std::string value = "3748935";
  for (auto _ : state) {
    // Launder the pointer so the parse cannot be hoisted out of the loop.
    const char* data = value.data();
    benchmark::DoNotOptimize(data);
    ContentLength result = ParseContentLength(absl::string_view(data, value.size()));
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_ParseContentLength);

// ChunkedBody() returns `chunks` chunks of `chunk_size` bytes, then the last
// chunk.
std::string ChunkedBody(size_t chunk_size, int chunks) {
  std::string body;
  const std::string data(chunk_size, 'x');
  for (int i = 0; i < chunks; ++i) {
    absl::StrAppend(&body, absl::Hex(chunk_size), "\r\n", data, "\r\n");
  }
  body += "0\r\n\r\n";
  return body;
}

void BM_ChunkedBody(benchmark::State& state) {
  const size_t chunk_size = static_cast<size_t>(state.range(0));
  constexpr int kChunks = 64;
  const std::string body = ChunkedBody(chunk_size, kChunks);
  BodyReader reader;
  for (auto _ : state) {
    (void)reader.Start(BodyKind::kChunked, 0);
    absl::string_view input = body;
    int64_t data_bytes = 0;
    while (!input.empty()) {
      BodyChunk chunk = reader.Read(input);
      data_bytes += static_cast<int64_t>(chunk.data.size());
      benchmark::DoNotOptimize(chunk.data.data());
      input.remove_prefix(chunk.consumed);
      if (chunk.status != ParseStatus::kNeedMore) break;
    }
    if (!reader.done() || data_bytes != static_cast<int64_t>(chunk_size) * kChunks) {
      state.SkipWithError("chunked body did not decode");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ChunkedBody)->Arg(64 * 1024)->Arg(1024)->Arg(16);

void BM_ContentLengthBody(benchmark::State& state) {
  // A body arriving as 64 KiB reads, as Connection's scratch buffer delivers it.
  constexpr size_t kRead = 64 * 1024;
  constexpr int kReads = 64;
  const std::string read(kRead, 'x');
  BodyReader reader;
  for (auto _ : state) {
    (void)reader.Start(BodyKind::kContentLength, static_cast<int64_t>(kRead) * kReads);
    for (int i = 0; i < kReads; ++i) {
      BodyChunk chunk = reader.Read(read);
      benchmark::DoNotOptimize(chunk.data.data());
    }
    if (!reader.done()) {
      state.SkipWithError("body did not complete");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kRead) *
                          kReads);
}
BENCHMARK(BM_ContentLengthBody);

}  // namespace
}  // namespace epollhttp::http
