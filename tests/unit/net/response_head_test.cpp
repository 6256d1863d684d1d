#include <gtest/gtest.h>

#include <string>

#include "http/response_head.hpp"

namespace hubgate::http {
namespace {

using kind = response_head::kind;

response_head scan(std::string_view bytes, bool head_request = false) {
  return scan_response_head(bytes, head_request, 64 * 1024);
}

std::string client_head(std::string_view bytes, unsigned version, bool keep_alive) {
  auto head = scan(bytes);
  std::string out;
  append_client_head(out, bytes, head, version, keep_alive);
  return out;
}

TEST(response_head, reads_a_content_length_answer_and_where_its_body_starts) {
  std::string_view bytes =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"id\":\"101\"}";
  auto head = scan(bytes);
  ASSERT_EQ(head.what, kind::simple);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_EQ(bytes.substr(head.size), "{\"id\":\"101\"}");
  EXPECT_TRUE(head.keep_alive);
}

TEST(response_head, waits_for_the_rest_of_a_head_and_gives_up_at_the_limit) {
  EXPECT_EQ(scan("HTTP/1.1 200 OK\r\nContent-Len").what, kind::incomplete);
  std::string big = "HTTP/1.1 200 OK\r\nX: " + std::string(100, 'a');
  EXPECT_EQ(scan_response_head(big, false, 64).what, kind::other);
}

TEST(response_head, leaves_every_unusual_framing_to_the_full_parser) {
  for (std::string_view bytes : {
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",            // chunked
           "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",              // ends with the connection
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", // duplicate length
           "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",                     // not digits
           "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",  // obs-fold
           "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",                         // bare LF
           "HTTP/1.1 200 OK\nContent-Length: 0\n\n",                             // ended by bare LFs
           "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",                         // LF, then CRLF
           "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nContent-Length: 0\r\n\r\n", // names a header
           "HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 0\r\n\r\n",            // space in a name
           "HTTP/1.1 200 OK\r\nX-A: a\x01z\r\nContent-Length: 0\r\n\r\n",       // control byte
           "HTTP/1.1 200 OK\r\nX-A: a\rz\r\nContent-Length: 0\r\n\r\n",         // bare CR in a value
           "HTTP/1.1 200 OK\r\nX-Long: abcdefghijk\x7fmnopqrstu\r\nContent-Length: 0\r\n\r\n", // DEL
           "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",                  // control byte in the reason
           "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",                       // not HTTP/1.x
           "HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n",                       // not a status
       }) {
    EXPECT_EQ(scan(bytes).what, kind::other) << bytes;
  }
}

TEST(response_head, takes_tabs_and_obs_text_in_values) {
  auto head = scan("HTTP/1.1 200 OK\r\nX-Note:\tcaf\xc3\xa9 au lait, tab\there\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(head.what, kind::simple);
}

TEST(response_head, knows_which_answers_have_no_body) {
  EXPECT_FALSE(scan("HTTP/1.1 204 No Content\r\n\r\n").has_body);
  EXPECT_FALSE(scan("HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n").has_body);
  auto to_head = scan("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true);
  ASSERT_EQ(to_head.what, kind::simple);
  EXPECT_FALSE(to_head.has_body);
}

TEST(response_head, a_204_is_relayed_without_content_length) {
  EXPECT_EQ(client_head("HTTP/1.1 204 No Content\r\nContent-Length: 27\r\nX-Request-Id: 9\r\n\r\n", 11, true),
            "HTTP/1.1 204 No Content\r\nX-Request-Id: 9\r\n\r\n");
  // A 304's Content-Length describes the representation it stands for: relayed.
  EXPECT_EQ(client_head("HTTP/1.1 304 Not Modified\r\nContent-Length: 27\r\n\r\n", 11, true),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 27\r\n\r\n");
}

TEST(response_head, reads_whether_the_upstream_keeps_the_connection) {
  EXPECT_FALSE(scan("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(scan("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_TRUE(scan("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
}

TEST(response_head, passes_end_to_end_headers_as_they_came_and_drops_hop_by_hop_ones) {
  std::string_view bytes =
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\nX-HubSpot-RateLimit-Remaining:  0 \r\nProxy-Thing: 1\r\nUpgrade: h2c\r\n"
      "Content-Length: 2\r\n\r\n{}";
  EXPECT_EQ(client_head(bytes, 11, true),
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            "X-HubSpot-RateLimit-Remaining:  0 \r\nContent-Length: 2\r\n\r\n");
}

TEST(response_head, frames_the_connection_for_the_clients_version) {
  std::string_view bytes = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(client_head(bytes, 11, false), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(client_head(bytes, 10, true), "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(client_head(bytes, 10, false), "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(client_head("HTTP/1.1 204\r\n\r\n", 11, true), "HTTP/1.1 204\r\n\r\n");
}

} // namespace
} // namespace hubgate::http
