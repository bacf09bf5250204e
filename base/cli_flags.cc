#include "base/cli_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/version.h"

namespace epollhttp {
namespace {

// Exits 0 after printing `text` (and a newline) to stdout.
[[noreturn]] void PrintAndExit(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  std::exit(0);
}

}  // namespace

std::string HelpText(absl::string_view flags_prefix) {
  std::vector<std::pair<std::string, const absl::CommandLineFlag*>> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StartsWith(flag->Filename(), flags_prefix)) flags.emplace_back(name, flag);
  }
  std::sort(flags.begin(), flags.end());
  std::string text = absl::StrCat(absl::ProgramUsageMessage(), "\n\nFlags:");
  for (const auto& [name, flag] : flags) {
    absl::StrAppend(&text, "\n  --", name, "  ", flag->Help(), " (default: \"",
                    flag->DefaultValue(), "\")");
  }
  absl::StrAppend(&text, "\n  --help  this text; --helpfull: every flag, abseil's included",
                  "\n  --version  the version and the git commit of the build");
  return text;
}

std::string ResolveUserPath(absl::string_view path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || path == "-" || cwd == nullptr || *cwd == '\0') {
    return std::string(path);
  }
  return absl::StrCat(cwd, "/", path);
}

bool ParseFlags(const CliProgram& program, int argc, char** argv,
                const std::vector<std::string>& repeatable,
                std::map<std::string, std::vector<std::string>>* repeated, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpshort") {
      PrintAndExit(HelpText(program.flags_prefix));
    }
    if (arg == "--helpfull") PrintAndExit(HelpText(""));
    if (arg == "--version" || arg == "-version") PrintAndExit(VersionLine(program.name));
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      if (i + 1 < argc) *error = absl::StrCat("unexpected argument \"", argv[i + 1], "\"");
      return i + 1 >= argc;
    }
    if (!absl::StartsWith(arg, "-") || arg == "-") {
      *error = absl::StrCat("unexpected argument \"", arg, "\" (flags look like --name=value)");
      return false;
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t eq = arg.find('=');
    std::string name(arg.substr(0, eq));
    const bool has_value = eq != absl::string_view::npos;
    std::string value = has_value ? std::string(arg.substr(eq + 1)) : "";
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        flag = negated;
        name = name.substr(2);
        value = "false";
      }
    } else if (flag != nullptr && !has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        *error = absl::StrCat("--", name, " needs a value");
        return false;
      }
    }
    if (flag == nullptr) {
      *error = absl::StrCat("unknown flag --", name, " (see --help)");
      return false;
    }
    if (std::find(repeatable.begin(), repeatable.end(), name) != repeatable.end()) {
      (*repeated)[name].push_back(value);
      continue;
    }
    std::string parse_error;
    if (!flag->ParseFrom(value, &parse_error)) {
      *error = absl::StrCat("--", name, ": ", parse_error);
      return false;
    }
  }
  return true;
}

}  // namespace epollhttp
