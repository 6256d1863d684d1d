#pragma once
// A fast reading of the common upstream answer: a status line and plain header lines, framed by
// Content-Length (or bodyless). Such an answer is relayed from the bytes as they came, with no
// header objects built. Anything else (chunked, close-delimited, obs-fold, duplicate lengths,
// Connection naming other headers, bare LF line ends) is `other`: the caller hands those to
// Beast's full parser, so the fast path never has to guess.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hubgate::http {

struct response_head {
  enum class kind { incomplete, simple, other };
  kind what = kind::incomplete;
  std::size_t size = 0;        // bytes of the head, blank line included
  unsigned version = 11;       // 10 or 11
  unsigned status = 0;
  bool has_body = true;        // false for HEAD, 1xx, 204, 304
  std::uint64_t content_length = 0; // meaningful when has_body
  bool keep_alive = true;      // the upstream connection may carry another request
  // The hop-by-hop header lines (offsets into the head), and a 204's Content-Length, dropped on
  // the way to the client. A head with more of them than this is `other`.
  struct line_span {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
  };
  std::array<line_span, 6> hop_lines{};
  std::size_t hop_count = 0;
  std::size_t status_line_end = 0; // offset past the status line's CRLF
};

// Reads the head at the start of `bytes`. `head_request`: the answer is to a HEAD (no body).
// `limit`: a head not complete within this many bytes is `other` (Beast reports the limit).
response_head scan_response_head(std::string_view bytes, bool head_request, std::size_t limit);

// Appends the head as the client gets it: the status line in the client's HTTP version, every
// header line but the hop-by-hop ones, and Connection as the client's keep-alive needs.
// `bytes` must start with the head `head` was scanned from (kind::simple).
void append_client_head(std::string& out, std::string_view bytes, const response_head& head, unsigned client_version,
                        bool client_keep_alive);

} // namespace hubgate::http
