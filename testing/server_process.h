// server_process.h: runs the real `//server` binary as a child process for
// end-to-end tests, the way a user runs it.
//
// Start() launches it with --port=0 (plus the test's flags), reads the bound
// port from its one startup line on stderr, and keeps collecting stderr in a
// background thread (so an access log never blocks the server). Stop() sends
// SIGTERM and reports how the process ended, so a test can assert a clean
// exit (0).
//
// Test-only. Thread safety: a ServerProcess is used by the test's main thread;
// stderr_text() may be called from any thread.
#ifndef EPOLLHTTP_TESTING_SERVER_PROCESS_H_
#define EPOLLHTTP_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/fd.h"

namespace epollhttp::test {

// RunfilePath() is the absolute path of `path` (relative to the workspace
// root, e.g. "server/server") in this test's runfiles.
std::string RunfilePath(const std::string& path);

// RunCommand() runs `command` with /bin/sh and returns its stdout; sets
// `*exit_code` (-1 if it could not run or was killed by a signal).
std::string RunCommand(const std::string& command, int* exit_code);

struct ServerProcessOptions {
  std::vector<std::string> flags;  // Extra flags, e.g. "--threads=1".
  int max_open_files = 0;          // RLIMIT_NOFILE for the child; 0: inherit.
};

class ServerProcess {
 public:
  // Start() runs the server and waits (up to 10 s) for its startup line.
  // Errors: the binary cannot be started, or exits / stays silent instead of
  // printing the line (the status then includes its stderr).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const ServerProcessOptions& options = {});

  ~ServerProcess();  // Kills the process (SIGKILL) if Stop() was not called.
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  // admin_port() is the admin listener's port (0: the server has none).
  [[nodiscard]] uint16_t admin_port() const { return admin_port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  // Signal() sends `signal` to the server.
  void Signal(int signal);

  // Stop() sends SIGTERM (unless the process has already exited) and waits
  // for it; returns the exit code, or 128 + signal number if it was killed.
  int Stop();

  // Wait() waits for the process to exit without signalling it; returns as
  // Stop() does.
  int Wait();

  // WaitForStderr() waits until the server's stderr contains `text` (true),
  // or until `timeout` passes or stderr closes (false).
  bool WaitForStderr(absl::string_view text, std::chrono::milliseconds timeout);

  // stderr_text() is everything the server has written to stderr so far.
  std::string stderr_text();

 private:
  ServerProcess(pid_t pid, Fd stderr_read);
  void ReadStderr();

  pid_t pid_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  int exit_code_ = -1;
  Fd stderr_read_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string stderr_;          // Guarded by mutex_.
  bool stderr_closed_ = false;  // Guarded by mutex_.
};

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_SERVER_PROCESS_H_
