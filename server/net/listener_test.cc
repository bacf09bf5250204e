#include "server/net/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"

namespace epollhttp::net {
namespace {

// Connect() opens a blocking client connection to 127.0.0.1:`port`. On
// loopback connect() returns once the handshake is done.
Fd Connect(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)
      << errno;
  return fd;
}

TEST(ListenerTest, PortZeroPicksAFreePortAndAcceptReportsEagainWhenNothingWaits) {
  absl::StatusOr<Listener> listener = Listener::Bind("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_NE(listener->port(), 0);
  int error = 0;
  EXPECT_FALSE(listener->Accept(&error));
  EXPECT_EQ(error, EAGAIN);
}

TEST(ListenerTest, AcceptReturnsANonBlockingConnectedSocket) {
  absl::StatusOr<Listener> listener = Listener::Bind("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  Fd client = Connect(listener->port());
  int error = -1;
  Fd accepted = listener->Accept(&error);
  ASSERT_TRUE(accepted) << error;
  EXPECT_EQ(error, 0);
  char byte;
  EXPECT_EQ(::read(accepted.get(), &byte, 1), -1);
  EXPECT_EQ(errno, EAGAIN);  // Non-blocking: nothing sent yet.
}

TEST(ListenerTest, DeferredAcceptQueuesAConnectionOnlyOnceItsBytesArrive) {
  absl::StatusOr<Listener> listener = Listener::Bind("127.0.0.1", 0, /*defer_accept=*/true);
  ASSERT_TRUE(listener.ok()) << listener.status();
  Fd client = Connect(listener->port());
  int error = 0;
  EXPECT_FALSE(listener->Accept(&error));  // Handshake done, but no bytes yet.
  EXPECT_EQ(error, EAGAIN);
  ASSERT_EQ(::send(client.get(), "GET", 3, 0), 3);  // Loopback delivers within send().
  Fd accepted = listener->Accept(&error);
  ASSERT_TRUE(accepted) << error;
  char bytes[8];
  EXPECT_EQ(::read(accepted.get(), bytes, sizeof(bytes)), 3);  // Readable at once.
}

TEST(ListenerTest, ADupSharesTheAcceptQueue) {
  absl::StatusOr<Listener> listener = Listener::Bind("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  absl::StatusOr<Listener> copy = listener->Dup();
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->port(), listener->port());
  EXPECT_NE(copy->fd(), listener->fd());
  Fd client = Connect(listener->port());
  int error = 0;
  EXPECT_TRUE(copy->Accept(&error));       // Queued once, taken through the copy...
  EXPECT_FALSE(listener->Accept(&error));  // ...and so no longer there for the original.
  EXPECT_EQ(error, EAGAIN);
}

TEST(ListenerTest, BadAddressIsAnInvalidArgument) {
  EXPECT_EQ(Listener::Bind("localhost", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Listener::CheckPortFree("300.1.1.1", 80).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ListenerTest, CheckPortFreeFailsWhileAListenerHoldsThePort) {
  absl::StatusOr<Listener> listener = Listener::Bind("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  EXPECT_FALSE(Listener::CheckPortFree("127.0.0.1", listener->port()).ok());
  // Bind() alone would join the SO_REUSEPORT group: that is what the check is for.
  EXPECT_TRUE(Listener::Bind("127.0.0.1", listener->port()).ok());
}

}  // namespace
}  // namespace epollhttp::net
