// cli_flags.h: command-line parsing for the project's binaries (//server,
// //loadgen) with usage errors that the caller turns into exit code 2.
//
// absl::ParseCommandLine() exits 1 on an unknown flag or a bad value, and on
// --help; the binaries here promise one line on stderr and exit 2 for every
// usage error, and exit 0 for --help and --version, so they parse argv
// through abseil's flag registry themselves.
//
// Thread safety: call once from main() before other threads start.
#ifndef EPOLLHTTP_BASE_CLI_FLAGS_H_
#define EPOLLHTTP_BASE_CLI_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace epollhttp {

// What a binary tells ParseFlags() about itself for --help and --version.
struct CliProgram {
  absl::string_view name;          // As in its --version line: "server".
  absl::string_view flags_prefix;  // --help lists the flags defined under it: "server/".
};

// ParseFlags() sets abseil flags from argv as absl::ParseCommandLine does
// (--name=value, --name value, --name / --noname for booleans, "--" ends
// flags), but on a mistake (unknown flag, missing or unparsable value, stray
// argument) returns false with a one-line description in `*error`. --help
// (also -h, -help, --helpshort) prints HelpText(program.flags_prefix) and
// --helpfull HelpText(""), --version prints VersionLine(program.name), all to
// stdout, and the process exits 0. Values of the flags named in `repeatable`
// are collected verbatim, in order, into `(*repeated)[name]` (commas allowed
// inside them) instead of being parsed.
bool ParseFlags(const CliProgram& program, int argc, char** argv,
                const std::vector<std::string>& repeatable,
                std::map<std::string, std::vector<std::string>>* repeated, std::string* error);

// HelpText() is the program's usage message (absl::SetProgramUsageMessage())
// and every flag defined in a file whose path starts with `flags_prefix`
// (every flag when it is empty), sorted by name, each with its help text and
// default.
std::string HelpText(absl::string_view flags_prefix);

// ResolveUserPath() is `path` as the user meant it: under `bazel run` a
// relative path is taken from the directory the command ran in
// (BUILD_WORKING_DIRECTORY), not from the runfiles tree the binary runs in.
// Absolute paths, "-" and the empty string come back unchanged, as does
// everything outside `bazel run`.
std::string ResolveUserPath(absl::string_view path);

}  // namespace epollhttp

#endif  // EPOLLHTTP_BASE_CLI_FLAGS_H_
