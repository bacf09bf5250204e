#include "testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace epollhttp::test {

std::string RunfilePath(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return absl::StrCat(srcdir, "/", workspace == nullptr ? "epollhttp" : workspace, "/", path);
}

std::string RunCommand(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int raw = ::pclose(pipe);
  *exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const ServerProcessOptions& options) {
  const std::string binary = RunfilePath("server/server");
  std::vector<std::string> args = {binary, "--port=0"};
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  Fd read_end(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(write_end.get(), 2);
    if (options.max_open_files > 0) {
      const rlimit limit{static_cast<rlim_t>(options.max_open_files),
                         static_cast<rlim_t>(options.max_open_files)};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  write_end.reset();
  std::unique_ptr<ServerProcess> process(new ServerProcess(pid, std::move(read_end)));

  // Wait for "epollhttp listening on http://A:P (N threads)".
  constexpr char kPrefix[] = "epollhttp listening on http://";
  std::unique_lock<std::mutex> lock(process->mutex_);
  const bool ready = process->changed_.wait_for(lock, std::chrono::seconds(10), [&] {
    return process->stderr_.find('\n') != std::string::npos || process->stderr_closed_;
  });
  const std::string text = process->stderr_;
  lock.unlock();
  const size_t at = text.find(kPrefix);
  const size_t newline = text.find('\n');
  if (!ready || at != 0 || newline == std::string::npos) {
    return absl::InternalError(absl::StrCat("server did not start; stderr: ", text));
  }
  const std::string line = text.substr(0, newline);
  const size_t colon =
      line.rfind(':', line.find(" (") == std::string::npos ? line.size() : line.find(" ("));
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(line.substr(colon + 1, line.find(' ', colon) - colon - 1), &port) ||
      port <= 0 || port > 65535) {
    return absl::InternalError(absl::StrCat("cannot read the port from: ", line));
  }
  process->port_ = static_cast<uint16_t>(port);
  // "...; admin on http://A:P" when the server has an admin listener.
  constexpr char kAdmin[] = "; admin on http://";
  if (const size_t admin = line.find(kAdmin); admin != std::string::npos) {
    const size_t admin_colon = line.rfind(':');
    int admin_port = 0;
    if (!absl::SimpleAtoi(line.substr(admin_colon + 1), &admin_port) || admin_port <= 0 ||
        admin_port > 65535) {
      return absl::InternalError(absl::StrCat("cannot read the admin port from: ", line));
    }
    process->admin_port_ = static_cast<uint16_t>(admin_port);
  }
  return process;
}

ServerProcess::ServerProcess(pid_t pid, Fd stderr_read)
    : pid_(pid), stderr_read_(std::move(stderr_read)) {
  reader_ = std::thread([this] { ReadStderr(); });
}

ServerProcess::~ServerProcess() {
  if (exit_code_ < 0) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
  if (reader_.joinable()) reader_.join();
}

void ServerProcess::ReadStderr() {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(stderr_read_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (n <= 0) {
      stderr_closed_ = true;
      changed_.notify_all();
      return;
    }
    stderr_.append(buf, static_cast<size_t>(n));
    changed_.notify_all();
  }
}

void ServerProcess::Signal(int signal) {
  if (exit_code_ < 0) ::kill(pid_, signal);
}

int ServerProcess::Stop() {
  Signal(SIGTERM);
  return Wait();
}

int ServerProcess::Wait() {
  if (exit_code_ >= 0) return exit_code_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (reader_.joinable()) reader_.join();  // The pipe closes with the process.
  return exit_code_;
}

bool ServerProcess::WaitForStderr(absl::string_view text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return absl::StrContains(stderr_, text) || stderr_closed_;
  }) && absl::StrContains(stderr_, text);
}

std::string ServerProcess::stderr_text() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stderr_;
}

}  // namespace epollhttp::test
