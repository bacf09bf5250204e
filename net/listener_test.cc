#include "net/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"
#include "testing/socket_util.h"

namespace epollhttp::net {
namespace {

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
  Fd client = ::epollhttp::test::ConnectLoopback(listener->port());
  ASSERT_TRUE(client);
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
  Fd client = ::epollhttp::test::ConnectLoopback(listener->port());
  ASSERT_TRUE(client);
  int error = 0;
  EXPECT_FALSE(listener->Accept(&error));  // Handshake done, but no bytes yet.
  EXPECT_EQ(error, EAGAIN);
  ASSERT_TRUE(::epollhttp::test::SendAll(client.get(), "GET"));  // Delivered within send().
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
  Fd client = ::epollhttp::test::ConnectLoopback(listener->port());
  ASSERT_TRUE(client);
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
