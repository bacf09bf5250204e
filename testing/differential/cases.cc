#include "testing/differential/cases.h"

#include <random>

namespace epollhttp::test {
namespace {

// Bytes that decide structure, tried at structural positions.
constexpr char kStructural[] = {'\r', '\n', ' ', '\t', '\0', ':', ';', '"',    '=',    ',',
                                '0',  '5',  '9', 'a',  'F',  'x', '/', '\x0b', '\x7f', '\x80'};

bool IsStructural(char c) {
  switch (c) {
    case '\r':
    case '\n':
    case ' ':
    case '\t':
    case ':':
    case ';':
    case '"':
    case '=':
    case ',':
    case '/':
    case '?': return true;
    default: return c >= '0' && c <= '9';
  }
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : random_(seed) {}

  std::string Mutate(std::string s) {
    const int mutations = 1 + Below(3);
    for (int m = 0; m < mutations && !s.empty(); ++m) s = MutateOnce(std::move(s));
    return s;
  }

 private:
  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(random_);
  }

  // StructuralPosition() is a random index whose byte is structural (or any
  // index when there is none).
  size_t StructuralPosition(const std::string& s) {
    std::vector<size_t> positions;
    for (size_t i = 0; i < s.size(); ++i) {
      if (IsStructural(s[i])) positions.push_back(i);
    }
    return positions.empty() ? Below(s.size()) : positions[Below(positions.size())];
  }

  // HeadEnd() is the index after the request line (0 if none).
  static size_t AfterRequestLine(const std::string& s) {
    const size_t lf = s.find('\n');
    return lf == std::string::npos ? 0 : lf + 1;
  }

  std::string MutateOnce(std::string s) {
    const char byte = kStructural[Below(sizeof(kStructural))];
    switch (Below(12)) {
      case 0:  // Replace a structural byte.
        s[StructuralPosition(s)] = byte;
        return s;
      case 1:  // Insert a structural byte next to one.
        s.insert(StructuralPosition(s) + Below(2), 1, byte);
        return s;
      case 2:  // Delete a structural byte.
        s.erase(StructuralPosition(s), 1);
        return s;
      case 3: {  // Flip the case of a letter in a field name.
        const size_t at = AfterRequestLine(s);
        const size_t colon = s.find(':', at);
        if (colon == std::string::npos || colon == at) return s;
        const size_t i = at + Below(colon - at);
        if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') s[i] ^= 0x20;
        return s;
      }
      case 4: {  // A duplicate or conflicting framing header.
        static const char* const kFraming[] = {
            "Content-Length: 5\r\n",
            "Content-Length: 0\r\n",
            "Content-Length: 5, 5\r\n",
            "Content-Length: 6\r\n",
            "Transfer-Encoding: chunked\r\n",
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: chunked;q=1\r\n",
            "Transfer-Encoding: identity\r\n",
            "Content-Length: +5\r\n",
            "Transfer-Encoding: CHUNKED\r\n",
            "Host: b\r\n",
            "Connection: close\r\n",
            "Expect: 100-continue\r\n",
            "Content-Length:5 \r\n",
        };
        s.insert(AfterRequestLine(s), kFraming[Below(sizeof(kFraming) / sizeof(kFraming[0]))]);
        return s;
      }
      case 5: {  // obs-fold inside a field value.
        const size_t at = s.find(": ", AfterRequestLine(s));
        if (at == std::string::npos) return s;
        s.insert(at + 2, Below(2) ? "\r\n " : "\r\n\t");
        return s;
      }
      case 6: {  // A line end made bare.
        const size_t crlf = s.find("\r\n", Below(s.size()));
        if (crlf == std::string::npos) return s;
        s.erase(crlf + (Below(2) ? 0 : 1), 1);
        return s;
      }
      case 7: {  // A chunk size changed.
        static const char* const kSizes[] = {
            "3", "6", "00005", "5 ", " 5", "0x5", "-5", "g", "FFFFFFFFFFFFFFFFF", "5\t", ""};
        const size_t blank = s.find("\r\n\r\n");
        if (blank == std::string::npos || blank + 4 >= s.size()) return s;
        const size_t start = blank + 4;
        const size_t end = s.find_first_of(";\r", start);
        if (end == std::string::npos) return s;
        s.replace(start, end - start, kSizes[Below(sizeof(kSizes) / sizeof(kSizes[0]))]);
        return s;
      }
      case 8: {  // A chunk extension added.
        static const char* const kExtensions[] = {";",      ";a",     ";a=",    ";a=b",
                                                  " ;a=b",  ";a = b", ";a=\"b", ";a=\"b\"",
                                                  ";a=b c", ";=b",    ";a;b",   ";a=\"\\\"\""};
        const size_t blank = s.find("\r\n\r\n");
        if (blank == std::string::npos || blank + 4 >= s.size()) return s;
        const size_t line_end = s.find('\r', blank + 4);
        if (line_end == std::string::npos) return s;
        s.insert(line_end, kExtensions[Below(sizeof(kExtensions) / sizeof(kExtensions[0]))]);
        return s;
      }
      case 9: {  // The request target changed.
        static const char* const kTargets[] = {"/a b", ",/",   ":",    "*",   "/\x80",    "/a#b",
                                               "//a",  "/%zz", "/%41", "a:1", "http://a", "/[x]"};
        const size_t sp = s.find(' ');
        const size_t sp2 = sp == std::string::npos ? sp : s.find(' ', sp + 1);
        if (sp2 == std::string::npos) return s;
        s.replace(sp + 1, sp2 - sp - 1, kTargets[Below(sizeof(kTargets) / sizeof(kTargets[0]))]);
        return s;
      }
      case 10:  // Cut short.
        s.resize(Below(s.size()));
        return s;
      default: {  // A stray byte where a request would start.
        s += byte;
        return s;
      }
    }
  }

  std::mt19937 random_;
};

}  // namespace

const std::vector<std::string>& Seeds() {
  static const auto* seeds = new std::vector<std::string>{
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x/1\r\nAccept: */*\r\n\r\n",
      "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
      "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;a=b\r\nhello\r\n3;x=\"y z\"\r\nabc\r\n0\r\nT: 1\r\n\r\n",
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n"
      "hiGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
      "DELETE /r HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n",
  };
  return *seeds;
}

std::vector<std::string> GenerateCases(int count, uint32_t seed) {
  std::vector<std::string> cases = Seeds();
  Mutator mutator(seed);
  std::mt19937 pick(seed ^ 0x9e3779b9u);
  for (int i = 0; i < count; ++i) {
    const std::string& from =
        Seeds()[std::uniform_int_distribution<size_t>(0, Seeds().size() - 1)(pick)];
    cases.push_back(mutator.Mutate(from));
  }
  return cases;
}

}  // namespace epollhttp::test
