// main.cc: the `//loadgen` binary: the tutorial's upload script rebuilt as a
// load generator (see runner.h and report.h).
//
// Exit status: 0 when every request succeeded, 1 when any failed, 2 for a
// usage error (bad flag or value, bad URL, unreadable file), 3 when a --slo
// term was breached, always with a line on stderr saying what was wrong.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/cli_flags.h"
#include "loadgen/bodies.h"
#include "loadgen/html_report.h"
#include "loadgen/merge.h"
#include "loadgen/payload.h"
#include "loadgen/report.h"
#include "loadgen/runner.h"
#include "loadgen/schedule.h"
#include "loadgen/slo.h"
#include "loadgen/units.h"
#include "loadgen/url.h"

ABSL_FLAG(std::string, url, "http://127.0.0.1:8000/",
          "Target URL: http://host[:port][/path] or https://host[:port][/path].");
ABSL_FLAG(std::string, cacert, "",
          "https: also trust the CA certificates in this PEM file (the system's CA store is "
          "always used).");
ABSL_FLAG(bool, insecure, false,
          "https: do not verify the server's certificate or name (encrypted, unauthenticated).");
ABSL_FLAG(int32_t, threads, 4,
          "OS threads (the tutorial script's threads). Each runs its share of the clients as "
          "fibers that wait in one epoll_wait, as wrk's -t.");
ABSL_FLAG(int32_t, clients, 0,
          "Concurrent clients, each with its own connection and one request at a time (wrk's "
          "-c); at least --threads. 0: one per thread.");
ABSL_FLAG(int64_t, requests, 100,
          "Requests per client (the total is clients x requests). Ignored with --duration.");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "Run for this long instead of a request count, e.g. 30s or 2m.");
ABSL_FLAG(std::string, rate, "0",
          "Total requests per second across all clients (open model; latency is measured "
          "from each request's intended send time). 0: each client sends as fast as it is "
          "answered. Stages ramp linearly, as k6's: [START,]RATE:DURATION,... e.g. "
          "'50:1m,500:5m,0:30s' (up to 50/s in a minute, on to 500/s over five, down to 0 in "
          "30 s); the stages set the run's length.");
ABSL_FLAG(std::string, method, "POST",
          "GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS; POST, PUT and PATCH send the body.");
ABSL_FLAG(std::vector<std::string>, header, {},
          "Extra request header 'Name: value'; repeat the flag for more than one.");
ABSL_FLAG(std::string, file, "",
          "Send this file as the body (relative paths resolve against the directory "
          "`bazel run` was started from). Repeat the flag to send several files in turn, each "
          "reported on its own. Default: a generated body of --body_bytes.");
ABSL_FLAG(int64_t, body_bytes, 3748935,
          "Size in bytes of the generated body (default: the tutorial image's size).");
ABSL_FLAG(std::string, body_sizes, "",
          "A mix of generated bodies instead of one: SIZE:PERCENT%,... e.g. "
          "'1k:50%,3.7M:45%,100M:5%' (k, M, G decimal; Ki, Mi, Gi binary); each size is "
          "reported on its own.");
ABSL_FLAG(bool, chunked, false,
          "Send the body with Transfer-Encoding: chunked instead of Content-Length.");
ABSL_FLAG(int64_t, chunk_bytes, 0,
          "Body bytes per chunk with --chunked (0: 64 KiB), per PATCH with --upload (0: the "
          "whole body in one).");
ABSL_FLAG(std::string, upload, "",
          "tus or ietf: each request is a whole resumable upload, by tus 1.0 or the IETF "
          "draft (interop version 8), to --url (the collection, e.g. "
          "http://127.0.0.1:8000/files/): a creation, PATCHes of --chunk_bytes, and a GET "
          "whose sha256 must equal the body's.");
ABSL_FLAG(double, interrupt, 0,
          "With --upload: this share (0..1) of PATCHes is cut halfway on purpose, then resumed "
          "from the offset HEAD reports.");
ABSL_FLAG(bool, verify_uploads, true,
          "With --upload: check every stored upload by GET and sha256.");
ABSL_FLAG(bool, expect_continue, false,
          "Send Expect: 100-continue and hold the body until the server's 100 Continue (or "
          "--continue_timeout). A final answer instead (417, 413, 401) is recorded as that "
          "status.");
ABSL_FLAG(absl::Duration, continue_timeout, absl::Seconds(1),
          "With --expect_continue: send the body anyway after this long without a 100, as "
          "curl does.");
ABSL_FLAG(std::string, client_upload_rate, "",
          "Send each client's body no faster than this, e.g. 2Mbit or 20Mbit (bit, kbit, Mbit, "
          "Gbit, or B, kB, MB per second), as a slow uplink would. Latency still counts from "
          "the request's start.");
ABSL_FLAG(std::string, content_type, "application/octet-stream", "Content-Type of the body.");
ABSL_FLAG(bool, form, false,
          "Send the body as a multipart/form-data field named \"file\", as a browser upload "
          "does.");
ABSL_FLAG(bool, keepalive, true,
          "Reuse each thread's connection; false opens a connection per request.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Connect, read and write timeout.");
ABSL_FLAG(int32_t, expect_status, 200, "Status every response must have.");
ABSL_FLAG(std::string, expect_body, "",
          "Body every response must have (not checked for HEAD); empty: not checked.");
ABSL_FLAG(std::string, json, "", "Also write the JSON report to this path ('-': stdout).");
ABSL_FLAG(std::string, html, "",
          "Also write a self-contained HTML report (charts, tables) to this path.");
ABSL_FLAG(std::string, start_at, "",
          "Start at this wall time: Unix seconds or RFC 3339 (e.g. 2026-11-30T20:00:00Z). Runs "
          "given the same time, on any machines, start together; merge their --json reports "
          "with `loadgen merge`.");
ABSL_FLAG(std::string, progress, "auto",
          "Live progress line on stderr: auto (when stderr is a terminal), always or never.");
ABSL_FLAG(std::string, slo, "",
          "Pass/fail gate, e.g. 'p99<2s,errors<0.1%': comma-separated terms p<N><DURATION "
          "(latency percentile), errors<N% or errors<N (failed requests); a breach prints the "
          "term and what was measured, and exits 3.");
ABSL_FLAG(bool, print_responses, false,
          "Print every reply's status and body, like the tutorial's Python script.");

namespace {

using epollhttp::loadgen::Payload;
using epollhttp::loadgen::RunInfo;
using epollhttp::loadgen::RunOptions;

bool ValidHeader(const std::string& header, std::string* name, std::string* value) {
  const size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    const char c = header[i];
    if (!absl::ascii_isalnum(c) &&
        absl::string_view("!#$%&'*+-.^_`|~").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  *name = header.substr(0, colon);
  *value = std::string(absl::StripAsciiWhitespace(header.substr(colon + 1)));
  for (const char c : *value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "loadgen: %s\n", message.c_str());
  return 2;
}

}  // namespace

// ParseStartAt() reads Unix seconds or an RFC 3339 time.
bool ParseStartAt(const std::string& text, absl::Time* out) {
  double unix_seconds = 0;
  if (absl::SimpleAtod(text, &unix_seconds) && std::isfinite(unix_seconds) && unix_seconds > 0) {
    *out = absl::FromUnixNanos(static_cast<int64_t>(unix_seconds * 1e9));
    return true;
  }
  std::string error;
  return absl::ParseTime(absl::RFC3339_full, text, out, &error);
}

// WriteFile() writes `text` to `path` ("-": stdout); false if that fails.
bool WriteFile(const std::string& path, const std::string& text) {
  if (path == "-") return std::fputs(text.c_str(), stdout) >= 0;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

// The report formats, for run and merge alike: `--<flag> PATH` writes the
// report rendered by `render` to PATH ("-": stdout, instead of the summary).
struct OutputFormat {
  absl::string_view flag;
  std::string (*render)(const RunInfo&, const epollhttp::loadgen::RunStats&, double);
};
constexpr OutputFormat kOutputFormats[] = {
    {"json", &epollhttp::loadgen::FormatJson},
    {"html", &epollhttp::loadgen::FormatHtml},
};

// An output asked for: a format and its path (resolved).
struct Output {
  const OutputFormat* format;
  std::string path;
};

// CheckOutputs() checks that every output's path can be written (creating or
// truncating it now, so a bad path is a usage error before the run, not a
// report lost after it); InvalidArgument naming the flag otherwise.
absl::Status CheckOutputs(const std::vector<Output>& outputs) {
  for (const Output& output : outputs) {
    if (output.path == "-") continue;
    FILE* probe = std::fopen(output.path.c_str(), "w");
    if (probe == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write --", output.format->flag, " ",
                                                     output.path, ": ", std::strerror(errno)));
    }
    std::fclose(probe);
  }
  return absl::OkStatus();
}

// WriteReport() prints the summary to stdout (unless an output goes there)
// and writes every output; false, with one line on stderr, if one fails.
bool WriteReport(absl::string_view command, const std::vector<Output>& outputs, const RunInfo& info,
                 const epollhttp::loadgen::RunStats& stats, double seconds) {
  const bool to_stdout = std::any_of(outputs.begin(), outputs.end(),
                                     [](const Output& output) { return output.path == "-"; });
  if (!to_stdout) {
    std::fputs(epollhttp::loadgen::FormatSummary(info, stats, seconds).c_str(), stdout);
  }
  for (const Output& output : outputs) {
    if (!WriteFile(output.path, output.format->render(info, stats, seconds))) {
      std::fprintf(stderr, "loadgen: %swriting %s failed\n", std::string(command).c_str(),
                   output.path.c_str());
      return false;
    }
  }
  return true;
}

// Gate() is the exit status for a finished run or merge: 3 (each breach on
// stderr) if an --slo term is breached, else `otherwise`.
int Gate(absl::string_view command, const std::vector<epollhttp::loadgen::SloTerm>& slo,
         const epollhttp::loadgen::RunStats& stats, int otherwise) {
  const std::vector<std::string> breaches = epollhttp::loadgen::SloBreaches(slo, stats);
  for (const std::string& breach : breaches) {
    std::fprintf(stderr, "loadgen: %sSLO breached: %s\n", std::string(command).c_str(),
                 breach.c_str());
  }
  return breaches.empty() ? otherwise : 3;
}

// MergeMain() is `loadgen merge FILE... [--json PATH|-] [--html PATH] [--slo EXPR]`.
int MergeMain(int argc, char** argv) {
  std::vector<std::string> files;
  std::vector<Output> outputs;
  std::vector<epollhttp::loadgen::SloTerm> slo;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--slo" || absl::StartsWith(arg, "--slo=")) {
      if (arg == "--slo" && i + 1 >= argc) return Usage("merge: --slo needs an expression");
      const std::string expression = arg == "--slo" ? argv[++i] : arg.substr(6);
      absl::StatusOr<std::vector<epollhttp::loadgen::SloTerm>> parsed =
          epollhttp::loadgen::ParseSlo(expression);
      if (!parsed.ok()) return Usage(absl::StrCat("merge: ", parsed.status().message()));
      slo = std::move(*parsed);
      continue;
    }
    const OutputFormat* format = nullptr;
    std::string value;
    for (const OutputFormat& candidate : kOutputFormats) {
      const std::string flag = absl::StrCat("--", candidate.flag);
      if (arg == flag) {
        if (i + 1 >= argc) return Usage(absl::StrCat("merge: ", flag, " needs a path"));
        format = &candidate;
        value = argv[++i];
      } else if (absl::StartsWith(arg, absl::StrCat(flag, "="))) {
        format = &candidate;
        value = arg.substr(flag.size() + 1);
      }
    }
    if (format != nullptr) {
      if (value.empty()) return Usage(absl::StrCat("merge: ", arg, " needs a path"));
      outputs.push_back({format, epollhttp::ResolveUserPath(value)});
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "Usage: loadgen merge FILE... [--json PATH|-] [--html PATH] [--slo EXPR]\n"
          "Combines the --json reports of runs made at the same time into one.\n");
      return 0;
    } else if (absl::StartsWith(arg, "-") && arg != "-") {
      return Usage(absl::StrCat("merge: unknown flag ", arg,
                                " (usage: loadgen merge FILE... [--json PATH|-] [--html PATH])"));
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    return Usage(
        "merge: no reports given (usage: loadgen merge FILE... [--json PATH|-] "
        "[--html PATH])");
  }
  std::vector<epollhttp::loadgen::Report> reports;
  for (const std::string& file : files) {
    std::ifstream in(epollhttp::ResolveUserPath(file), std::ios::binary);
    if (!in) return Usage(absl::StrCat("merge: cannot read ", file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<epollhttp::loadgen::Report> report = epollhttp::loadgen::ReadReport(text.str());
    if (!report.ok()) return Usage(absl::StrCat("merge: ", file, ": ", report.status().message()));
    reports.push_back(std::move(*report));
  }
  absl::StatusOr<epollhttp::loadgen::Report> merged = epollhttp::loadgen::MergeReports(reports);
  if (!merged.ok()) return Usage(absl::StrCat("merge: ", merged.status().message()));
  if (absl::Status checked = CheckOutputs(outputs); !checked.ok()) {
    return Usage(absl::StrCat("merge: ", checked.message()));
  }
  if (!WriteReport("merge: ", outputs, merged->info, merged->stats, merged->seconds)) return 1;
  return Gate("merge: ", slo, merged->stats, 0);
}

// Everything a run needs from the command line, checked.
struct RunConfig {
  RunOptions options;
  std::string url;
  absl::Duration duration;
  std::string progress;            // auto, always or never.
  std::vector<std::string> files;  // The bodies' files (resolved), or none: generated bodies,
  std::vector<epollhttp::loadgen::BodySize> body_sizes;  // of these sizes,
  int64_t body_bytes = 0;                                // or of this one.
  bool form = false;
  std::vector<Output> outputs;
  std::vector<epollhttp::loadgen::SloTerm> slo;
};

// ParseRunFlags() reads and checks the run's flags (after ParseFlags());
// InvalidArgument with the one line to show for any usage error.
absl::StatusOr<RunConfig> ParseRunFlags(const std::vector<std::string>& raw_headers,
                                        const std::vector<std::string>& raw_files) {
  RunConfig config;
  RunOptions& options = config.options;
  config.url = absl::GetFlag(FLAGS_url);
  const std::string& url = config.url;
  const absl::StatusOr<epollhttp::loadgen::Url> target = epollhttp::loadgen::ParseUrl(url);
  if (!target.ok())
    return absl::InvalidArgumentError(absl::StrCat("--url ", target.status().message()));
  options.origin = target->Origin();
  options.path = target->path;
  options.tls.verify = !absl::GetFlag(FLAGS_insecure);
  options.tls.ca_file = epollhttp::ResolveUserPath(absl::GetFlag(FLAGS_cacert));
  if (!target->tls && (absl::GetFlag(FLAGS_insecure) || !options.tls.ca_file.empty())) {
    return absl::InvalidArgumentError("--cacert and --insecure apply only to an https:// --url");
  }
  if (!options.tls.ca_file.empty() && ::access(options.tls.ca_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cacert ", options.tls.ca_file, ": ", std::strerror(errno)));
  }
  options.threads = absl::GetFlag(FLAGS_threads);
  if (options.threads < 1 || options.threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be 1..1024, got ", options.threads));
  }
  options.clients = absl::GetFlag(FLAGS_clients);
  if (options.clients == 0) options.clients = options.threads;
  if (options.clients < options.threads || options.clients > 100'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--clients must be --threads..100000 (or 0), got ", absl::GetFlag(FLAGS_clients)));
  }
  options.requests_per_client = absl::GetFlag(FLAGS_requests);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  config.duration = duration;
  if (duration < absl::ZeroDuration())
    return absl::InvalidArgumentError("--duration must not be negative");
  options.duration = absl::ToChronoNanoseconds(duration);
  if (duration == absl::ZeroDuration() && options.requests_per_client < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--requests must be >= 1, got ", options.requests_per_client));
  }
  if (const std::string start_at = absl::GetFlag(FLAGS_start_at); !start_at.empty()) {
    absl::Time when;
    if (!ParseStartAt(start_at, &when)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--start_at must be Unix seconds or RFC 3339, got \"", start_at, "\""));
    }
    if (when < absl::Now() - absl::Seconds(1)) {
      return absl::InvalidArgumentError(absl::StrCat("--start_at ", start_at, " is in the past"));
    }
    options.start_at = absl::ToChronoTime(when);
  }
  absl::StatusOr<epollhttp::loadgen::RateSchedule> schedule =
      epollhttp::loadgen::RateSchedule::Parse(absl::GetFlag(FLAGS_rate));
  if (!schedule.ok()) return schedule.status();
  options.schedule = std::move(*schedule);
  if (options.schedule.staged() && duration != absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--duration and --rate stages both set the run's length; give one");
  }
  options.method = absl::AsciiStrToUpper(absl::GetFlag(FLAGS_method));
  if (std::string(" GET HEAD POST PUT PATCH DELETE OPTIONS ").find(" " + options.method + " ") ==
          std::string::npos ||
      options.method.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--method must be GET, HEAD, POST, PUT, PATCH, DELETE or "
                     "OPTIONS, got \"",
                     absl::GetFlag(FLAGS_method), "\""));
  }
  for (const std::string& header : raw_headers) {
    std::string name, value;
    if (!ValidHeader(header, &name, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--header must be 'Name: value', got \"", header, "\""));
    }
    options.headers.emplace_back(name, value);
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration())
    return absl::InvalidArgumentError("--timeout must be positive");
  options.timeout = absl::ToChronoMilliseconds(timeout);
  if (options.timeout.count() == 0) options.timeout = std::chrono::milliseconds(1);
  options.keepalive = absl::GetFlag(FLAGS_keepalive);
  options.expect_status = absl::GetFlag(FLAGS_expect_status);
  if (options.expect_status < 100 || options.expect_status > 599) {
    return absl::InvalidArgumentError("--expect_status must be 100..599");
  }
  options.expect_body = absl::GetFlag(FLAGS_expect_body);
  options.print_responses = absl::GetFlag(FLAGS_print_responses);
  options.content_type = absl::GetFlag(FLAGS_content_type);
  config.progress = absl::GetFlag(FLAGS_progress);
  const std::string& progress = config.progress;
  if (progress != "auto" && progress != "always" && progress != "never") {
    return absl::InvalidArgumentError(
        absl::StrCat("--progress must be auto, always or never, got \"", progress, "\""));
  }

  for (const std::string& file : raw_files) {
    if (file.empty()) return absl::InvalidArgumentError("--file needs a path");
    config.files.push_back(epollhttp::ResolveUserPath(file));
  }
  config.body_bytes = absl::GetFlag(FLAGS_body_bytes);
  if (config.body_bytes < 0) return absl::InvalidArgumentError("--body_bytes must be >= 0");
  if (const std::string sizes = absl::GetFlag(FLAGS_body_sizes); !sizes.empty()) {
    if (!config.files.empty()) {
      return absl::InvalidArgumentError("--body_sizes and --file both choose the body; give one");
    }
    absl::StatusOr<std::vector<epollhttp::loadgen::BodySize>> parsed =
        epollhttp::loadgen::ParseBodySizes(sizes);
    if (!parsed.ok()) return parsed.status();
    config.body_sizes = std::move(*parsed);
  }
  config.form = absl::GetFlag(FLAGS_form);
  options.chunked = absl::GetFlag(FLAGS_chunked);
  options.chunk_bytes = absl::GetFlag(FLAGS_chunk_bytes);
  options.upload = absl::GetFlag(FLAGS_upload);
  if (!options.upload.empty() && options.upload != "tus" && options.upload != "ietf") {
    return absl::InvalidArgumentError(
        absl::StrCat("--upload must be tus or ietf, got \"", options.upload, "\""));
  }
  options.interrupt = absl::GetFlag(FLAGS_interrupt);
  if (!(options.interrupt >= 0 && options.interrupt <= 1)) {
    return absl::InvalidArgumentError("--interrupt must be 0..1");
  }
  if (options.interrupt > 0 && options.upload.empty()) {
    return absl::InvalidArgumentError("--interrupt needs --upload");
  }
  options.verify_uploads = absl::GetFlag(FLAGS_verify_uploads);
  if (!options.upload.empty()) {
    if (options.chunked || absl::GetFlag(FLAGS_expect_continue) || absl::GetFlag(FLAGS_form)) {
      return absl::InvalidArgumentError(
          "--upload sends its own requests: not with --chunked, --expect_continue or --form");
    }
    options.method = "POST";
  }
  if (options.chunk_bytes == 0) {
    options.chunk_bytes = options.upload.empty() ? 64 * 1024 : (int64_t{1} << 50);
  }
  if (options.chunk_bytes < 1 ||
      (options.upload.empty() && options.chunk_bytes > (int64_t{16} << 20))) {
    return absl::InvalidArgumentError(
        absl::StrCat("--chunk_bytes must be 1..16777216 (or 0), got ", options.chunk_bytes));
  }
  options.expect_continue = absl::GetFlag(FLAGS_expect_continue);
  const absl::Duration continue_timeout = absl::GetFlag(FLAGS_continue_timeout);
  if (continue_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--continue_timeout must not be negative");
  }
  options.continue_timeout = absl::ToChronoMilliseconds(continue_timeout);
  if (const std::string rate = absl::GetFlag(FLAGS_client_upload_rate); !rate.empty()) {
    absl::StatusOr<double> bytes_per_second = epollhttp::loadgen::ParseByteRate(rate);
    if (!bytes_per_second.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--client_upload_rate ", bytes_per_second.status().message()));
    }
    options.upload_bytes_per_second = *bytes_per_second;
  }
  if (!epollhttp::loadgen::SendsBody(options.method)) {
    for (const auto& [flag, given] :
         {std::pair("--form", config.form), std::pair("--chunked", options.chunked),
          std::pair("--expect_continue", options.expect_continue),
          std::pair("--client_upload_rate", options.upload_bytes_per_second > 0),
          std::pair("--body_sizes", !config.body_sizes.empty())}) {
      if (given) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " needs a method that sends a body (POST, PUT or PATCH)"));
      }
    }
  }
  // Each format's flag (--json, --html) is read by name, so the table is
  // the one list.
  for (const OutputFormat& format : kOutputFormats) {
    const std::string path = absl::FindCommandLineFlag(format.flag)->CurrentValue();
    if (!path.empty()) config.outputs.push_back({&format, epollhttp::ResolveUserPath(path)});
  }
  if (absl::Status checked = CheckOutputs(config.outputs); !checked.ok()) return checked;
  absl::StatusOr<std::vector<epollhttp::loadgen::SloTerm>> slo =
      epollhttp::loadgen::ParseSlo(absl::GetFlag(FLAGS_slo));
  if (!slo.ok()) return slo.status();
  config.slo = std::move(*slo);
  return config;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "merge") == 0) return MergeMain(argc, argv);
  absl::SetProgramUsageMessage(
      "HTTP load generator: --clients clients on --threads threads each send --requests "
      "requests (default: 4 threads with one client each POST a 3.7 MB body, like the "
      "tutorial's upload script).\n"
      "Usage: loadgen [--url URL] [--threads N] [--clients N] [--requests N | --duration D] "
      "[--rate R] [--cacert PATH | --insecure] [--start_at TIME] [--html PATH] "
      "[--file PATH [--form]] [--json PATH]");
  std::map<std::string, std::vector<std::string>> repeated;
  if (std::string error; !epollhttp::ParseFlags({"loadgen", "loadgen/"}, argc, argv,
                                                {"header", "file"}, &repeated, &error)) {
    return Usage(error);
  }
  absl::StatusOr<RunConfig> parsed = ParseRunFlags(repeated["header"], repeated["file"]);
  if (!parsed.ok()) return Usage(std::string(parsed.status().message()));
  RunConfig& config = *parsed;
  RunOptions& options = config.options;
  const std::string& url = config.url;
  const absl::Duration duration = config.duration;
  const std::string& progress = config.progress;
  ::signal(SIGPIPE, SIG_IGN);  // A server closing mid-upload must not kill us.

  // The bodies: loaded or generated once each, shared by every thread.
  std::vector<std::unique_ptr<Payload>> payloads;
  std::vector<std::string> names;
  std::vector<double> weights;
  for (const std::string& file : config.files) {
    auto loaded = Payload::FromFile(file);
    if (!loaded.ok()) return Usage(std::string(loaded.status().message()));
    payloads.push_back(std::move(*loaded));
    names.push_back(file.substr(file.find_last_of('/') + 1));
    weights.push_back(1);
  }
  for (const epollhttp::loadgen::BodySize& size : config.body_sizes) {
    payloads.push_back(Payload::Generated(size.bytes));
    names.push_back(size.text);
    weights.push_back(size.percent);
  }
  if (payloads.empty()) {
    payloads.push_back(Payload::Generated(config.body_bytes));
    names.push_back("payload.bin");
    weights.push_back(1);
  }
  const std::string content_type = options.content_type;
  double mean_bytes = 0;
  double weight_sum = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    // With --form every body is a browser upload of its own file; the
    // boundary is the same for all, so one Content-Type serves them.
    if (config.form) {
      options.content_type =
          payloads[i]->WrapAsForm(config.files.empty() ? "payload.bin" : names[i], content_type);
    }
    if (payloads.size() > 1) options.bodies.push_back({names[i], payloads[i].get(), weights[i]});
    mean_bytes += weights[i] * static_cast<double>(payloads[i]->size());
    weight_sum += weights[i];
  }
  options.payload = payloads.front().get();

  RunInfo info;
  info.url = url;
  info.method = options.method;
  info.threads = options.threads;
  info.clients = options.clients;
  info.requests_per_client = options.duration.count() > 0 ? 0 : options.requests_per_client;
  info.duration_limit_seconds =
      options.schedule.staged() ? std::chrono::duration<double>(options.schedule.length()).count()
                                : absl::ToDoubleSeconds(duration);
  if (options.schedule.staged()) info.requests_per_client = 0;
  info.rate = options.schedule.mean_rate();
  info.rate_stages = options.schedule.staged() ? options.schedule.text() : "";
  // Several bodies: their mean size, by share.
  info.body_bytes = epollhttp::loadgen::SendsBody(options.method)
                        ? static_cast<int64_t>(std::llround(mean_bytes / weight_sum))
                        : 0;
  info.keepalive = options.keepalive;

  // Live progress on stderr.
  std::atomic<int64_t> completed{0};
  const bool show_progress =
      progress == "always" || (progress == "auto" && ::isatty(STDERR_FILENO) != 0);
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread progress_thread;
  if (show_progress) {
    progress_thread = std::thread([&] {
      const auto start = std::chrono::steady_clock::now();
      std::unique_lock<std::mutex> lock(mutex);
      while (!done_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return done; })) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const int64_t n = completed.load(std::memory_order_relaxed);
        std::fprintf(stderr, "\r  %lld requests in %.1f s (%.0f req/s)   ",
                     static_cast<long long>(n), elapsed, elapsed > 0 ? n / elapsed : 0.0);
        std::fflush(stderr);
      }
      std::fprintf(stderr, "\r%60s\r", "");
    });
  }

  double seconds = 0;
  absl::StatusOr<epollhttp::loadgen::RunStats> run =
      epollhttp::loadgen::Run(options, &completed, &seconds, &info.start_unix_seconds);
  if (show_progress) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    done_cv.notify_all();
    progress_thread.join();
  }
  if (!run.ok()) {
    std::fprintf(stderr, "loadgen: cannot run: %s\n", std::string(run.status().message()).c_str());
    return 1;
  }
  const epollhttp::loadgen::RunStats& stats = *run;

  if (!WriteReport("", config.outputs, info, stats, seconds)) return 1;
  if (stats.errors[static_cast<int>(epollhttp::loadgen::ErrorKind::kTls)] > 0) {
    std::fprintf(
        stderr, "loadgen: TLS with %s failed %lld times: %s\n", options.origin.c_str(),
        static_cast<long long>(stats.errors[static_cast<int>(epollhttp::loadgen::ErrorKind::kTls)]),
        stats.tls_error.c_str());
  }
  return Gate("", config.slo, stats, stats.failed == 0 ? 0 : 1);
}
