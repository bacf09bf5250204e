// version.h: what the project's binaries report for --version: the project's
// version and the git commit they were built from.
//
// Thread safety: constants; safe from any thread.
#ifndef EPOLLHTTP_BASE_VERSION_H_
#define EPOLLHTTP_BASE_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace epollhttp {

// The project's version, raised by hand with each release-worthy change.
inline constexpr absl::string_view kProjectVersion = "0.7.0";

// BuildCommit() is the git commit of the build (12 hex digits, "-dirty" when
// the checkout had changes), or "unknown" when built outside a git checkout.
// Bazel stamps it (tools/workspace_status.sh).
absl::string_view BuildCommit();

// VersionLine() is "<program> <version> (commit <commit>)", without a newline.
std::string VersionLine(absl::string_view program);

}  // namespace epollhttp

#endif  // EPOLLHTTP_BASE_VERSION_H_
