#include "http/response_head.hpp"

#include "hubgate/hubspot/text.hpp"

#include <array>
#include <cstring>

namespace hubgate::http {

namespace {

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto tchar = make_tchar_table();

// Field values and reason phrases: HTAB, SP, visible ASCII and obs-text; no other control bytes.
// Field values and reason phrases: no control bytes but HTAB (so no CR or LF inside a line).
bool plain_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

// The same over a whole line, eight bytes at a time: a word with no byte below 0x20 and none equal
// to 0x7f is plain (the classic "has a byte less than n" test, exact as a yes/no); a word that
// might not be is checked byte by byte.
bool plain_line(std::string_view line) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::size_t i = 0;
  for (; i + 8 <= line.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, line.data() + i, 8);
    const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
    const std::uint64_t x = w ^ (ones * 0x7f);
    const std::uint64_t is_del = (x - ones) & ~x & highs;
    if ((below_space | is_del) != 0) {
      for (std::size_t j = i; j < i + 8; ++j) {
        if (!plain_byte(static_cast<unsigned char>(line[j]))) return false;
      }
    }
  }
  for (; i < line.size(); ++i) {
    if (!plain_byte(static_cast<unsigned char>(line[i]))) return false;
  }
  return true;
}

// The hop-by-hop names, tested by length first: most names are none of them.
bool is_hop_by_hop(std::string_view name) {
  using hubspot::iequals_ascii;
  const char first = static_cast<char>(name[0] | 0x20); // names are tokens: lower-cases letters
  if (first != 't' && first != 'u' && first != 'c' && first != 'k' && first != 'p') {
    return false;
  }
  switch (name.size()) {
    case 2:
      return iequals_ascii(name, "te");
    case 7:
      return iequals_ascii(name, "trailer") || iequals_ascii(name, "upgrade");
    case 10:
      return iequals_ascii(name, "connection") || iequals_ascii(name, "keep-alive");
    default:
      return name.size() > 6 && iequals_ascii(name.substr(0, 6), "proxy-");
  }
}

} // namespace

response_head scan_response_head(std::string_view bytes, bool head_request, std::size_t limit) {
  response_head out;
  auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // A head that ends in bare LFs has ended (Beast's parser refuses it: a 502 at once); waiting
    // for a CRLF pair would wait for the response timeout.
    const bool bare_lf_end = bytes.find("\n\n") != std::string_view::npos || bytes.find("\n\r\n") != std::string_view::npos;
    out.what = bytes.size() >= limit || bare_lf_end ? response_head::kind::other : response_head::kind::incomplete;
    return out;
  }
  out.what = response_head::kind::other;
  out.size = end + 4;
  if (out.size > limit) return out;
  std::string_view head = bytes.substr(0, out.size);

  // "HTTP/1.x DDD reason\r\n". Every line ends in CRLF: a bare LF (or CR) is left to Beast.
  if (head.size() < 14 || !head.starts_with("HTTP/1.") || (head[7] != '0' && head[7] != '1') || head[8] != ' ') {
    return out;
  }
  out.version = head[7] == '1' ? 11 : 10;
  unsigned status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return out;
    status = status * 10 + static_cast<unsigned>(head[i] - '0');
  }
  if (status < 100 || (head[12] != ' ' && head[12] != '\r')) return out;
  out.status = status;
  std::size_t pos = head.find('\n') + 1;
  if (head[pos - 2] != '\r' || !plain_line(head.substr(12, pos - 14))) return out;
  out.status_line_end = pos;

  out.has_body = !(head_request || status < 200 || status == 204 || status == 304);
  out.keep_alive = out.version == 11;
  bool seen_length = false;
  while (pos < out.size - 2) {
    // A line is `token ":" value CRLF`.
    const std::size_t line_end = head.find('\n', pos) - 1;
    if (head[line_end] != '\r' || !plain_line(head.substr(pos, line_end - pos))) return out;
    std::size_t colon = pos;
    while (tchar[static_cast<unsigned char>(head[colon])]) ++colon;
    if (colon == pos || head[colon] != ':') return out; // obs-fold, a space in a name: Beast decides
    const std::string_view name = head.substr(pos, colon - pos);
    const std::string_view value = hubspot::trim_ows(head.substr(colon + 1, line_end - colon - 1));
    const std::size_t line_begin = pos;
    pos = line_end + 2;
    if (is_hop_by_hop(name)) {
      if (out.hop_count == out.hop_lines.size()) return out;
      out.hop_lines[out.hop_count++] = {static_cast<std::uint32_t>(line_begin), static_cast<std::uint32_t>(pos)};
    }
    const std::size_t name_size = name.size();
    const char first = static_cast<char>(name[0] | 0x20);
    if ((name_size != 14 && name_size != 17 && name_size != 10) || (first != 'c' && first != 't')) {
      continue; // none of the framing headers
    }
    if (hubspot::iequals_ascii(name, "content-length")) {
      if (seen_length || value.empty() || value.size() > 18) return out;
      std::uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return out;
        n = n * 10 + static_cast<unsigned>(c - '0');
      }
      seen_length = true;
      out.content_length = n;
      // A 204 has no body and must not say it has one (RFC 9110 §8.6): the line is not relayed.
      if (status == 204) {
        if (out.hop_count == out.hop_lines.size()) return out;
        out.hop_lines[out.hop_count++] = {static_cast<std::uint32_t>(line_begin), static_cast<std::uint32_t>(pos)};
      }
    } else if (hubspot::iequals_ascii(name, "transfer-encoding")) {
      return out;
    } else if (hubspot::iequals_ascii(name, "connection")) {
      std::string_view tokens = value;
      while (!tokens.empty()) {
        auto comma = tokens.find(',');
        std::string_view token = hubspot::trim_ows(tokens.substr(0, comma));
        if (hubspot::iequals_ascii(token, "close")) {
          out.keep_alive = false;
        } else if (hubspot::iequals_ascii(token, "keep-alive")) {
          out.keep_alive = out.keep_alive || out.version == 10;
        } else if (!token.empty()) {
          return out; // names a header to drop: Beast's path knows how
        }
        tokens = comma == std::string_view::npos ? std::string_view{} : tokens.substr(comma + 1);
      }
    }
  }
  if (out.has_body && !seen_length) return out; // chunked or close-delimited
  // A 204 that declares a body (RFC 9110 §8.6 forbids it) may send one after its head, in a later
  // read: on a reused connection, the start of another request's answer. It is not reused.
  if (status == 204 && seen_length && out.content_length > 0) out.keep_alive = false;
  if (!out.has_body) out.content_length = 0;
  out.what = response_head::kind::simple;
  return out;
}

void append_client_head(std::string& out, std::string_view bytes, const response_head& head, unsigned client_version,
                        bool client_keep_alive) {
  out += client_version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  // " DDD reason\r\n" as it came, then the header lines but the hop-by-hop ones, in runs.
  std::size_t from = 8;
  for (std::size_t i = 0; i < head.hop_count; ++i) {
    out.append(bytes.substr(from, head.hop_lines[i].begin - from));
    from = head.hop_lines[i].end;
  }
  out.append(bytes.substr(from, head.size - 2 - from));
  if (client_version >= 11 && !client_keep_alive) {
    out += "Connection: close\r\n";
  } else if (client_version == 10 && client_keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

} // namespace hubgate::http
