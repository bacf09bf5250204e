#include "base/cli_flags.h"

#include <algorithm>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace epollhttp {
namespace {

bool IsHelpFlag(absl::string_view arg) {
  for (const absl::string_view help : {"--help", "--helpfull", "--helpshort", "--helppackage",
                                       "--version", "--only_check_args", "-help"}) {
    if (arg == help || absl::StartsWith(arg, absl::StrCat(help, "="))) return true;
  }
  return false;
}

}  // namespace

bool ParseFlags(int argc, char** argv, const std::vector<std::string>& repeatable,
                std::map<std::string, std::vector<std::string>>* repeated, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    if (IsHelpFlag(argv[i])) {
      absl::ParseCommandLine(argc, argv);  // Prints the help and exits.
      return true;
    }
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
