#include "testing/report_json.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "testing/server_process.h"

namespace epollhttp::test {

std::string LoadgenPath() { return RunfilePath("loadgen/loadgen"); }

int64_t JsonNumber(absl::string_view text, absl::string_view key, absl::string_view after) {
  const size_t start = after.empty() ? 0 : text.find(after);
  if (start == absl::string_view::npos) return -1;
  const std::string needle = absl::StrCat("\"", key, "\": ");
  const size_t at = text.find(needle, start);
  if (at == absl::string_view::npos) return -1;
  const size_t begin = at + needle.size();
  const size_t end = text.find_first_of(",}", begin);
  int64_t value = -1;
  if (!absl::SimpleAtoi(text.substr(begin, end - begin), &value)) return -1;
  return value;
}

}  // namespace epollhttp::test
