#include "server/app.h"

#include <string>

#include "gtest/gtest.h"
#include "server/http/codec.h"
#include "server/http/test_sink.h"
#include "server/metrics.h"

namespace epollhttp {
namespace {

using ::epollhttp::http::Answer;

TEST(AppTest, EveryPathGetsTheHelloReplyWithTheBodyCount) {
  HelloApp app(nullptr, /*admin_listener=*/false);
  EXPECT_EQ(Answer(app.router(), "POST /any HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 28\r\n"
            "X-Received-Body-Bytes: 3\r\n\r\nHello! I am an epoll server.");
  EXPECT_EQ(Answer(app.router(), "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 28\r\n"
            "X-Received-Body-Bytes: 0\r\n\r\n");
}

TEST(AppTest, HealthAndMetricsOnGetAndHeadOnly) {
  Metrics metrics(1);
  HelloApp app(&metrics, /*admin_listener=*/false);
  EXPECT_NE(Answer(app.router(), "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").find("\r\n\r\nok\n"),
            std::string::npos);
  const std::string scrape = Answer(app.router(), "GET /metrics?x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_NE(scrape.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
  EXPECT_NE(scrape.find("epollhttp_requests_total"), std::string::npos);
  EXPECT_NE(Answer(app.router(), "POST /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
                .find("Hello! I am an epoll server."),
            std::string::npos);
}

TEST(AppTest, WithAnAdminListenerHealthAndMetricsMoveThere) {
  Metrics metrics(1);
  HelloApp app(&metrics, /*admin_listener=*/true);
  EXPECT_NE(Answer(app.router(), "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
                .find("Hello! I am an epoll server."),
            std::string::npos);
  EXPECT_NE(Answer(app.admin_router(), "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
                .find("epollhttp_requests_total"),
            std::string::npos);
  EXPECT_EQ(Answer(app.admin_router(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .rfind("HTTP/1.1 404 Not Found\r\n", 0),
            0u);
}

}  // namespace
}  // namespace epollhttp
