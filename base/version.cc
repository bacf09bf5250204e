#include "base/version.h"

#include "absl/strings/str_cat.h"

namespace epollhttp {

// Defined in the stamped build_info.cc (base/BUILD.bazel).
extern const char kBuildCommit[];

absl::string_view BuildCommit() { return kBuildCommit; }

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", kProjectVersion, " (commit ", BuildCommit(), ")");
}

}  // namespace epollhttp
