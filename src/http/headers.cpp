#include "http/headers.hpp"

#include <boost/beast/core/string.hpp>

#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::http {

namespace {

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && hubspot::iequals_ascii(s.substr(0, prefix.size()), prefix);
}

} // namespace

void remove_hop_by_hop(boost::beast::http::fields& fields) {
  namespace bhttp = boost::beast::http;
  // Names listed in Connection headers, lower-cased, sorted and each once: usually none, so
  // nothing is allocated. Each field is then looked up, not compared with every name: a head of
  // 7,000 fields and a Connection list of 14,000 names cost a third of a second of CPU that way.
  std::vector<std::string> named;
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) {
      c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
  };
  for (auto range = fields.equal_range(bhttp::field::connection); range.first != range.second; ++range.first) {
    std::string_view value = range.first->value();
    while (!value.empty()) {
      auto comma = value.find(',');
      std::string_view token = hubspot::trim_ows(value.substr(0, comma));
      if (!token.empty()) {
        named.push_back(lower(token));
      }
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
  }
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  for (auto it = fields.begin(); it != fields.end();) {
    std::string_view name = it->name_string();
    bool hop = it->name() == bhttp::field::connection || it->name() == bhttp::field::keep_alive ||
               it->name() == bhttp::field::te || it->name() == bhttp::field::trailer ||
               it->name() == bhttp::field::upgrade || starts_with_icase(name, "proxy-");
    hop = hop || (!named.empty() && std::binary_search(named.begin(), named.end(), lower(name)));
    // Connection may name the headers that say what the body is: the framing ones, which the
    // sender re-makes, and Content-Type and Content-Encoding, by which the gate read the body.
    // Dropped after the decision, they would have HubSpot read it otherwise: never dropped here.
    const bool says_what_the_body_is =
        it->name() == bhttp::field::content_length || it->name() == bhttp::field::transfer_encoding ||
        it->name() == bhttp::field::content_type || it->name() == bhttp::field::content_encoding;
    if (hop && !says_what_the_body_is) {
      it = fields.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t field_count(const boost::beast::http::fields& fields) {
  return static_cast<std::size_t>(std::distance(fields.begin(), fields.end()));
}

void drop_trailers(std::size_t head_fields, boost::beast::http::fields& fields) {
  auto it = fields.begin();
  for (std::size_t i = 0; i < head_fields && it != fields.end(); ++i) {
    ++it;
  }
  while (it != fields.end()) {
    it = fields.erase(it);
  }
}

} // namespace hubgate::http
