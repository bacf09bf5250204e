// json.h: a small JSON reader for loadgen's own reports (`loadgen merge`).
// RFC 8259 values: objects (keys kept in order), arrays, strings (with
// \uXXXX escapes, surrogate pairs included, decoded to UTF-8), numbers (kept
// as their text, read on demand), true, false and null. Nesting is limited
// to 64 levels, so hostile input cannot exhaust the stack.
//
// Thread safety: values are immutable once parsed.
#ifndef EPOLLHTTP_LOADGEN_JSON_H_
#define EPOLLHTTP_LOADGEN_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  [[nodiscard]] Type type() const { return type_; }
  // Find() is the member `key` of an object, or null if absent (or not an
  // object).
  [[nodiscard]] const JsonValue* Find(absl::string_view key) const;
  // Int() / Double() read a number (an integer for Int()); nullopt if this
  // is not one.
  [[nodiscard]] std::optional<int64_t> Int() const;
  [[nodiscard]] std::optional<double> Double() const;
  // String() is a string's decoded text; nullopt if this is not a string.
  [[nodiscard]] std::optional<std::string> String() const;
  [[nodiscard]] bool Bool() const { return type_ == Type::kBool && boolean_; }
  [[nodiscard]] const std::vector<JsonValue>& array() const { return array_; }
  [[nodiscard]] const std::vector<std::pair<std::string, JsonValue>>& object() const {
    return object_;
  }

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool boolean_ = false;
  std::string text_;  // A number's text, or a string's decoded text.
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

// ParseJson() parses one JSON value (surrounded by optional whitespace).
// Fails (InvalidArgument, with the byte offset) on anything else.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_JSON_H_
