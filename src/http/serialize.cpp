#include "http/serialize.hpp"

#include <charconv>

namespace hubgate::http {

namespace {

namespace bhttp = boost::beast::http;

void append_version(std::string& out, unsigned version) {
  out += version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

void append_fields(std::string& out, const bhttp::fields& fields) {
  for (const auto& f : fields) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "\r\n";
}

} // namespace

void append_head(std::string& out, const bhttp::request_header<>& head) {
  out += head.method_string();
  out += ' ';
  out += head.target();
  out += ' ';
  append_version(out, head.version());
  out += "\r\n";
  append_fields(out, head);
}

void append_head(std::string& out, const bhttp::response_header<>& head) {
  append_version(out, head.version());
  char code[4] = {};
  auto status = head.result_int();
  std::to_chars(code, code + 3, status);
  out += ' ';
  out.append(code, 3);
  out += ' ';
  auto reason = head.reason();
  out += reason.empty() ? bhttp::obsolete_reason(head.result()) : reason;
  out += "\r\n";
  append_fields(out, head);
}

} // namespace hubgate::http
