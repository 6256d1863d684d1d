#include "http/request_head.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>
#include <iterator>
#include <string>
#include <string_view>

#include "hubgate/hubspot/text.hpp"

namespace hubgate::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Where the origin-form (path and query) of a request target starts. An absolute-form target
// (`https://other.host/x`) keeps only its path: the authority never selects a host, so hubgate is
// never an open proxy. Anything else (authority-form, `*`) is refused.
std::optional<std::size_t> origin_form_offset(std::string_view target) {
  if (target.starts_with('/')) {
    return 0;
  }
  auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view scheme = target.substr(0, scheme_end);
  if (!hubspot::iequals_ascii(scheme, "http") && !hubspot::iequals_ascii(scheme, "https")) {
    return std::nullopt;
  }
  std::size_t authority = scheme_end + 3;
  auto path = target.find_first_of("/?", authority);
  if (path == std::string_view::npos || target[path] == '?') {
    return std::nullopt; // "http://host" or "http://host?x": no path to forward
  }
  return path;
}

// Header names compared as a server that reads `_` as `-` (CGI-style environments) would.
bool same_header_name(std::string_view name, std::string_view canonical) {
  if (name.size() != canonical.size()) {
    return false;
  }
  const auto fold = [](char c) { return c == '_' ? '-' : c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (fold(name[i]) != fold(canonical[i])) {
      return false;
    }
  }
  return true;
}

constexpr std::array<std::string_view, 3> method_override_headers = {"X-HTTP-Method-Override", "X-HTTP-Method",
                                                                     "X-Method-Override"};
// Headers by which some servers and proxies (IIS, Symfony, some load balancers) take the path from
// a header instead of the request line.
constexpr std::array<std::string_view, 3> path_override_headers = {"X-Original-URL", "X-Rewrite-URL",
                                                                   "X-Override-URL"};
constexpr std::array<std::string_view, 4> framing_headers = {"Content-Type", "Content-Encoding", "Content-Length",
                                                             "Transfer-Encoding"};

// Whether the query names a `_method` parameter (in any case or encoding, padded however long),
// the query-string spelling of a method override. Parameters are split at `;` too, as servlet
// containers split them (hubspot/classify.cpp reads queries the same way).
bool has_method_parameter(std::string_view target) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) {
    return false;
  }
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::size_t separator = query.find_first_of("&;");
    const std::string_view pair = query.substr(0, separator);
    query = separator == std::string_view::npos ? std::string_view{} : query.substr(separator + 1);
    const std::string_view raw_name = pair.substr(0, pair.find('='));
    if (raw_name.size() < 7) {
      continue; // cannot spell `_method`
    }
    if (raw_name.find_first_of("%+") == std::string_view::npos) {
      if (hubspot::iequals_ascii(hubspot::trim_name_padding(raw_name), "_method")) {
        return true;
      }
      continue;
    }
    std::string name;
    if (hubspot::percent_decode(raw_name, name, true) && hubspot::iequals_ascii(hubspot::trim_name_padding(name), "_method")) {
      return true;
    }
  }
  return false;
}

error_reply bad_request(std::string message) {
  return error_reply{bhttp::status::bad_request, "VALIDATION_ERROR", std::move(message)};
}

// Integrity, request targets: `//name/rest` is one path to hubgate and to a router that skips the
// empty segment (an SDK whose base URL ends in `/` sends `//crm/v3/...`), but a URL parser that
// reads it against a base (Java's URI, WHATWG URL, Python's urljoin) takes `name` for a host and
// `/rest` for the path. Refused when the two readings could differ on what the call is: `name`
// looks like a host (a dot, colon, at-sign or escape in it), or `/rest` is a contact-creating call
// the path as a whole is not, or one hubgate would refuse sent as it is.
bool network_path_reads_otherwise(std::string_view method, std::string_view origin,
                                  const hubspot::classification& as_path) {
  if (!origin.starts_with("//")) {
    return false;
  }
  // `///x/rest` too: a parser skips the slashes before the authority.
  const std::size_t name_begin = std::min(origin.find_first_not_of('/'), origin.size());
  const std::size_t name_end = std::min(origin.find_first_of("/?", name_begin), origin.size());
  if (origin.substr(name_begin, name_end - name_begin).find_first_of(".:@%") != std::string_view::npos) {
    return true;
  }
  if (name_end == origin.size() || origin[name_end] != '/') {
    return false;
  }
  // A reading hubgate would refuse if sent as it is (a loose spelling of a create) is refused too.
  const hubspot::classification as_host = hubspot::classify(method, origin.substr(name_end));
  return !as_host.ok() || (as_host.op != nullptr && as_host.op != as_path.op);
}

// Integrity, request targets: an escaped `?` or `#` (`%3F`, `%23`) is part of a path segment to
// hubgate and to a server that splits the query off first, but one that decodes the target before
// it splits it (or a proxy in front that decodes it) ends the path there. Refused when the path
// cut there is a contact-creating call the whole path is not, or one hubgate would refuse.
bool escaped_query_reads_otherwise(std::string_view method, std::string_view origin,
                                   const hubspot::classification& as_path) {
  const std::string_view path = origin.substr(0, std::min(origin.find('?'), origin.size()));
  for (std::size_t at = path.find('%'); at != std::string_view::npos && at + 2 < path.size(); at = path.find('%', at + 1)) {
    const char high = path[at + 1];
    const char low = static_cast<char>(path[at + 2] | 0x20);
    if ((high == '3' && low == 'f') || (high == '2' && low == '3')) {
      const hubspot::classification cut = hubspot::classify(method, path.substr(0, at));
      return !cut.ok() || (cut.op != nullptr && cut.op != as_path.op);
    }
  }
  return false;
}

// The head's fields, read as a forgiving server might; the refusal, if any.
std::optional<error_reply> check_fields(const bhttp::request_header<>& head, bool catalog_operation) {
  std::size_t content_types = 0;
  std::size_t content_encodings = 0;
  for (const auto& field : head) {
    const std::string_view name = field.name_string();
    // Integrity, HTTP framing: method overrides are rejected, because HubSpot may honour them and
    // run a request hubgate read as a GET (or an update) as a create it never inspected.
    for (const std::string_view override_name : method_override_headers) {
      if (same_header_name(name, override_name)) {
        return bad_request("Method-override headers (" + std::string(name) +
                           ") are not accepted: send the request with its real method");
      }
    }
    // Integrity, request targets: the same for a path override, by which a server may run a
    // call to another path than the one hubgate classified.
    for (const std::string_view override_name : path_override_headers) {
      if (same_header_name(name, override_name)) {
        return bad_request("Path-override headers (" + std::string(name) +
                           ") are not accepted: send the request to its real path");
      }
    }
    if (name.find('_') != std::string_view::npos) {
      for (const std::string_view framing : framing_headers) {
        if (same_header_name(name, framing)) {
          return bad_request("Header '" + std::string(name) +
                             "' is not accepted: a server reading '_' as '-' would take it for " +
                             std::string(framing));
        }
      }
    }
    content_types += field.name() == bhttp::field::content_type ? 1 : 0;
    content_encodings += field.name() == bhttp::field::content_encoding ? 1 : 0;
  }
  // On a contact-creating call the body is read by these two headers: one reader taking the
  // first and another the last would read two different bodies.
  if (catalog_operation && (content_types > 1 || content_encodings > 1)) {
    return bad_request(content_types > 1 ? "Content-Type is given more than once"
                                         : "Content-Encoding is given more than once");
  }
  return std::nullopt;
}

} // namespace

checked_head check_request_head(const bhttp::request_header<>& head, bool chunked) {
  checked_head out;
  if (field_count(head) > request_field_limit) {
    out.refusal = error_reply{bhttp::status::request_header_fields_too_large, "VALIDATION_ERROR",
                              "Request has more than " + std::to_string(request_field_limit) + " header fields"};
    return out;
  }
  // CONNECT would make hubgate a tunnel; TRACE would echo the request as HubSpot received it, with
  // the token hubgate puts in place of a client's key (auth: clients).
  // TRACK is IIS's TRACE; a method in lower case is the same method to a lenient server. (Compared
  // with hubgate's own iequals_ascii: Beast 1.81's iequals reads a byte past both strings when they
  // differ in case, past the end of the method's own allocation here, as ASan found.)
  if (const std::string_view method = head.method_string(); hubspot::iequals_ascii(method, "CONNECT") ||
                                                            hubspot::iequals_ascii(method, "TRACE") ||
                                                            hubspot::iequals_ascii(method, "TRACK")) {
    out.refusal = error_reply{bhttp::status::method_not_allowed, "VALIDATION_ERROR",
                              std::string(method) + " is not supported"};
    return out;
  }
  const auto offset = origin_form_offset(head.target());
  if (!offset) {
    out.refusal = bad_request("Unsupported request target");
    return out;
  }
  // What the call is, from its head alone: a contact-creating HubSpot operation (whose body is
  // then read whole and decided before a byte of it leaves) or anything else. A target that
  // cannot be read safely is refused: hubgate forwards only what it understood.
  auto classification = hubspot::classify(head.method_string(), head.target().substr(*offset));
  if (!classification.ok()) {
    out.refusal = bad_request("Request target refused: " + classification.error);
    return out;
  }
  if (network_path_reads_otherwise(head.method_string(), head.target().substr(*offset), classification)) {
    out.refusal = bad_request("Request target refused: a path starting with '//' may be read as naming a host");
    return out;
  }
  if (escaped_query_reads_otherwise(head.method_string(), head.target().substr(*offset), classification)) {
    out.refusal = bad_request("Request target refused: an escaped '?' or '#' in the path may be read as ending it");
    return out;
  }
  if (has_method_parameter(head.target())) {
    out.refusal = bad_request("A _method query parameter is not accepted: send the request with its real method");
    return out;
  }
  if (auto refusal = check_fields(head, classification.op != nullptr)) {
    out.refusal = std::move(refusal);
    return out;
  }
  // Integrity, HTTP framing: bodies are framed by exactly one of Content-Length and chunked, and
  // the body hubgate read is re-framed on the way up; anything else is how request smuggling
  // starts, so it is rejected rather than guessed at.
  if (head.count(bhttp::field::transfer_encoding) != 0) {
    if (head.count(bhttp::field::content_length) != 0) {
      out.refusal = bad_request("Content-Length and Transfer-Encoding together are not allowed");
      return out;
    }
    if (!chunked || !hubspot::iequals_ascii(head[bhttp::field::transfer_encoding], "chunked")) {
      out.refusal = error_reply{bhttp::status::not_implemented, "VALIDATION_ERROR",
                                "Only the chunked transfer coding is supported"};
      return out;
    }
  }
  out.target_offset = *offset;
  out.classification = std::move(classification);
  return out;
}

std::optional<error_reply> check_trailers(std::size_t head_fields, const bhttp::fields& fields) {
  if (head_fields == 0 || field_count(fields) == head_fields) {
    return std::nullopt;
  }
  // Trailers would be forwarded as headers, which nothing checked (a Content-Type, an override).
  return bad_request("Chunked trailer fields are not accepted");
}

} // namespace hubgate::http
