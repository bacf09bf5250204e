// cli_flags.h: command-line parsing for the project's binaries (//server,
// //loadgen) with usage errors that the caller turns into exit code 2.
//
// absl::ParseCommandLine() exits 1 on an unknown flag or a bad value; the
// binaries here promise one line on stderr and exit 2 for every usage error,
// so they parse argv through abseil's flag registry themselves.
//
// Thread safety: call once from main() before other threads start.
#ifndef EPOLLHTTP_BASE_CLI_FLAGS_H_
#define EPOLLHTTP_BASE_CLI_FLAGS_H_

#include <map>
#include <string>
#include <vector>

namespace epollhttp {

// ParseFlags() sets abseil flags from argv as absl::ParseCommandLine does
// (--name=value, --name value, --name / --noname for booleans, "--" ends
// flags), but on a mistake (unknown flag, missing or unparsable value, stray
// argument) returns false with a one-line description in `*error`. Help flags
// (--help, --helpfull, --helpshort, --version, ...) are handed to
// absl::ParseCommandLine, which prints the help and exits. Values of the flags
// named in `repeatable` are collected verbatim, in order, into
// `(*repeated)[name]` (commas allowed inside them) instead of being parsed.
bool ParseFlags(int argc, char** argv, const std::vector<std::string>& repeatable,
                std::map<std::string, std::vector<std::string>>* repeated, std::string* error);

}  // namespace epollhttp

#endif  // EPOLLHTTP_BASE_CLI_FLAGS_H_
