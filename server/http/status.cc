#include "server/http/status.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace epollhttp::http {

HttpStatus StatusFor(ParseError error) {
  switch (error) {
    case ParseError::kNone: return {200, "OK"};
    case ParseError::kMethodNotImplemented:
    case ParseError::kTransferCodingNotImplemented: return {501, "Not Implemented"};
    case ParseError::kVersionNotSupported: return {505, "HTTP Version Not Supported"};
    case ParseError::kRequestLineTooLong: return {414, "URI Too Long"};
    case ParseError::kHeadTooLarge:
    case ParseError::kTooManyHeaders: return {431, "Request Header Fields Too Large"};
    case ParseError::kExpectationFailed: return {417, "Expectation Failed"};
    case ParseError::kBodyTooLarge: return {413, "Content Too Large"};
    case ParseError::kRequestTimeout: return {408, "Request Timeout"};
    case ParseError::kBadRequestLine:
    case ParseError::kBadHeader:
    case ParseError::kBadLineEnding:
    case ParseError::kMissingHost:
    case ParseError::kDuplicateHost:
    case ParseError::kBadContentLength:
    case ParseError::kDuplicateContentLength:
    case ParseError::kContentLengthAndTransferEncoding:
    case ParseError::kBadTransferEncoding:
    case ParseError::kBadChunkSize:
    case ParseError::kBadChunkExtension:
    case ParseError::kBadChunkData:
    case ParseError::kBadTrailer: return {400, "Bad Request"};
  }
  return {400, "Bad Request"};
}

absl::string_view ReasonPhrase(int code) {
  switch (code) {
    case 100: return "Continue";
    case 103: return "Early Hints";
    case 104: return "Upload Resumption Supported";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 460: return "Checksum Mismatch";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

absl::string_view StatusLine(int code) {
  // Built once: every response starts with one.
  static const std::vector<std::string>* const lines = [] {
    auto* all = new std::vector<std::string>(1000);
    for (int c = 100; c < 1000; ++c) {
      (*all)[c] = absl::StrCat("HTTP/1.1 ", c, " ", ReasonPhrase(c), "\r\n");
    }
    return all;
  }();
  if (code < 100 || code > 999) code = 500;
  return (*lines)[code];
}

absl::string_view ParseErrorName(ParseError error) {
  switch (error) {
    case ParseError::kNone: return "none";
    case ParseError::kBadRequestLine: return "bad request line";
    case ParseError::kMethodNotImplemented: return "method not implemented";
    case ParseError::kVersionNotSupported: return "HTTP version not supported";
    case ParseError::kRequestLineTooLong: return "request line too long";
    case ParseError::kBadHeader: return "bad header field";
    case ParseError::kBadLineEnding: return "bad line ending (bare CR or LF)";
    case ParseError::kHeadTooLarge: return "header section too large";
    case ParseError::kTooManyHeaders: return "too many header fields";
    case ParseError::kMissingHost: return "missing Host";
    case ParseError::kDuplicateHost: return "duplicate Host";
    case ParseError::kExpectationFailed: return "unsupported expectation";
    case ParseError::kBadContentLength: return "bad Content-Length";
    case ParseError::kDuplicateContentLength: return "duplicate Content-Length";
    case ParseError::kContentLengthAndTransferEncoding:
      return "Content-Length with Transfer-Encoding";
    case ParseError::kBadTransferEncoding: return "bad Transfer-Encoding";
    case ParseError::kTransferCodingNotImplemented: return "transfer coding not implemented";
    case ParseError::kBodyTooLarge: return "body too large";
    case ParseError::kBadChunkSize: return "bad chunk size";
    case ParseError::kBadChunkExtension: return "bad chunk extension";
    case ParseError::kBadChunkData: return "chunk data not followed by CRLF";
    case ParseError::kBadTrailer: return "bad trailer field";
    case ParseError::kRequestTimeout: return "request head timeout";
  }
  return "unknown";
}

}  // namespace epollhttp::http
