#include "loadgen/phases.h"

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

using std::chrono::microseconds;

// Simulated time: every mark is an explicit instant.
PhaseMarks::Time At(int64_t us) { return PhaseMarks::Time() + microseconds(1'000'000 + us); }

int64_t Of(const std::array<int64_t, kPhases>& d, Phase p) { return d[static_cast<int>(p)]; }

TEST(PhaseMarksTest, ANewTlsConnectionGoesThroughEveryPhase) {
  PhaseMarks marks;
  marks.Start();
  marks.ConnectStarted(At(0));
  marks.ConnectDone(At(100));
  marks.TlsStarted(At(100));
  marks.TlsDone(At(350));
  marks.SendStarted(At(360));
  marks.Wrote(At(400));
  marks.Wrote(At(1400));  // The body's last write ends the send phase.
  marks.Read(At(2400));
  marks.Read(At(2500));  // Later reads do not move the first byte.
  const auto d = marks.Durations(At(2600));
  EXPECT_EQ(Of(d, Phase::kConnect), 100);
  EXPECT_EQ(Of(d, Phase::kTls), 250);
  EXPECT_EQ(Of(d, Phase::kSend), 1040);
  EXPECT_EQ(Of(d, Phase::kWait), 1000);
  EXPECT_EQ(Of(d, Phase::kReceive), 200);
}

TEST(PhaseMarksTest, AReusedConnectionHasNoConnectOrTlsPhase) {
  PhaseMarks marks;
  marks.ConnectStarted(At(0));
  marks.ConnectDone(At(10));
  marks.Start();  // The next request forgets the last one's connect.
  EXPECT_FALSE(marks.sending());
  marks.SendStarted(At(20));
  EXPECT_TRUE(marks.sending());
  marks.Wrote(At(30));
  marks.Read(At(50));
  const auto d = marks.Durations(At(55));
  EXPECT_EQ(Of(d, Phase::kConnect), -1);
  EXPECT_EQ(Of(d, Phase::kTls), -1);
  EXPECT_EQ(Of(d, Phase::kSend), 10);
  EXPECT_EQ(Of(d, Phase::kWait), 20);
  EXPECT_EQ(Of(d, Phase::kReceive), 5);
}

TEST(PhaseMarksTest, AnInterimResponseBeforeTheBodyDoesNotStartTheResponse) {
  // Expect: 100-continue: the head, then the 100 is read, then the body.
  PhaseMarks marks;
  marks.SendStarted(At(0));
  marks.Wrote(At(10));
  marks.Read(At(500));  // 100 Continue.
  EXPECT_FALSE(marks.needs_first_byte());
  marks.Wrote(At(900));
  EXPECT_TRUE(marks.needs_first_byte());
  marks.Read(At(1000));
  const auto d = marks.Durations(At(1001));
  EXPECT_EQ(Of(d, Phase::kSend), 900);
  EXPECT_EQ(Of(d, Phase::kWait), 100);
  EXPECT_EQ(Of(d, Phase::kReceive), 1);
  EXPECT_EQ(marks.sent_at(), At(900));
}

TEST(PhaseMarksTest, MissingMarksLeaveThePhasesTheyBoundUnmeasured) {
  PhaseMarks marks;
  marks.SendStarted(At(0));
  marks.Wrote(At(10));  // Never answered.
  auto d = marks.Durations(At(20));
  EXPECT_EQ(Of(d, Phase::kSend), 10);
  EXPECT_EQ(Of(d, Phase::kWait), -1);
  EXPECT_EQ(Of(d, Phase::kReceive), -1);
  marks.Start();
  marks.ConnectStarted(At(50));
  marks.ConnectDone(At(40));  // Out of order: not a negative time.
  d = marks.Durations(At(60));
  EXPECT_EQ(Of(d, Phase::kConnect), -1);
}

}  // namespace
}  // namespace epollhttp::loadgen
