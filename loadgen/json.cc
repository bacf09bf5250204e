#include "loadgen/json.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace epollhttp::loadgen {

class JsonParser {
 public:
  explicit JsonParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseAll() {
    JsonValue value;
    if (!Value(&value, 0)) return Error();
    SkipSpace();
    if (at_ != text_.size()) {
      why_ = "text after the value";
      return Error();
    }
    return value;
  }

 private:
  static constexpr int kMaxDepth = 64;

  absl::Status Error() const {
    return absl::InvalidArgumentError(absl::StrCat("bad JSON at byte ", at_, ": ", why_));
  }

  bool Fail(const char* why) {
    why_ = why;
    return false;
  }

  void SkipSpace() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }

  bool Literal(absl::string_view word) {
    if (text_.substr(at_, word.size()) != word) return Fail("unknown literal");
    at_ += word.size();
    return true;
  }

  bool Value(JsonValue* out, int depth) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    SkipSpace();
    if (at_ >= text_.size()) return Fail("unexpected end");
    const char c = text_[at_];
    switch (c) {
      case '{': return Object(out, depth);
      case '[': return Array(out, depth);
      case '"': out->type_ = JsonValue::Type::kString; return String(&out->text_);
      case 't':
        out->type_ = JsonValue::Type::kBool;
        out->boolean_ = true;
        return Literal("true");
      case 'f': out->type_ = JsonValue::Type::kBool; return Literal("false");
      case 'n': return Literal("null");
      default: return Number(out);
    }
  }

  bool Number(JsonValue* out) {
    const size_t begin = at_;
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    const size_t digits = at_;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
    if (at_ == digits) return Fail("expected a value");
    if (text_[digits] == '0' && at_ - digits > 1) return Fail("a number with a leading zero");
    if (at_ < text_.size() && text_[at_] == '.') {
      const size_t fraction = ++at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      if (at_ == fraction) return Fail("a fraction without digits");
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      const size_t exponent = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      if (at_ == exponent) return Fail("an exponent without digits");
    }
    out->type_ = JsonValue::Type::kNumber;
    out->text_ = std::string(text_.substr(begin, at_ - begin));
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t code) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  }

  bool Hex4(uint32_t* code) {
    if (at_ + 4 > text_.size()) return Fail("a short \\u escape");
    *code = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[at_++];
      *code <<= 4;
      if (h >= '0' && h <= '9') {
        *code |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        *code |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        *code |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return Fail("a bad \\u escape");
      }
    }
    return true;
  }

  bool String(std::string* out) {
    ++at_;  // The opening quote.
    while (true) {
      if (at_ >= text_.size()) return Fail("an unterminated string");
      const char c = text_[at_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return Fail("a control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (at_ >= text_.size()) return Fail("an unterminated escape");
      const char e = text_[at_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t code;
          if (!Hex4(&code)) return false;
          if (code >= 0xd800 && code < 0xdc00) {  // A high surrogate: its pair follows.
            uint32_t low;
            if (text_.substr(at_, 2) != "\\u") return Fail("an unpaired surrogate");
            at_ += 2;
            if (!Hex4(&low)) return false;
            if (low < 0xdc00 || low >= 0xe000) return Fail("an unpaired surrogate");
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          } else if (code >= 0xdc00 && code < 0xe000) {
            return Fail("an unpaired surrogate");
          }
          AppendUtf8(out, code);
          break;
        }
        default: return Fail("an unknown escape");
      }
    }
  }

  bool Array(JsonValue* out, int depth) {
    out->type_ = JsonValue::Type::kArray;
    ++at_;
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == ']') {
      ++at_;
      return true;
    }
    while (true) {
      out->array_.emplace_back();
      if (!Value(&out->array_.back(), depth + 1)) return false;
      SkipSpace();
      if (at_ >= text_.size()) return Fail("an unterminated array");
      const char c = text_[at_++];
      if (c == ']') return true;
      if (c != ',') return Fail("expected ',' or ']'");
    }
  }

  bool Object(JsonValue* out, int depth) {
    out->type_ = JsonValue::Type::kObject;
    ++at_;
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == '}') {
      ++at_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (at_ >= text_.size() || text_[at_] != '"') return Fail("expected a key");
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (at_ >= text_.size() || text_[at_++] != ':') return Fail("expected ':'");
      out->object_.emplace_back(std::move(key), JsonValue());
      if (!Value(&out->object_.back().second, depth + 1)) return false;
      SkipSpace();
      if (at_ >= text_.size()) return Fail("an unterminated object");
      const char c = text_[at_++];
      if (c == '}') return true;
      if (c != ',') return Fail("expected ',' or '}'");
    }
  }

  absl::string_view text_;
  size_t at_ = 0;
  const char* why_ = "";
};

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const auto& [name, value] : object_) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::optional<int64_t> JsonValue::Int() const {
  int64_t value;
  if (type_ != Type::kNumber || !absl::SimpleAtoi(text_, &value)) return std::nullopt;
  return value;
}

std::optional<double> JsonValue::Double() const {
  double value;
  if (type_ != Type::kNumber || !absl::SimpleAtod(text_, &value)) return std::nullopt;
  return value;
}

std::optional<std::string> JsonValue::String() const {
  if (type_ != Type::kString) return std::nullopt;
  return text_;
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) { return JsonParser(text).ParseAll(); }

}  // namespace epollhttp::loadgen
