#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/parser.hpp>

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "hubgate/hubspot/error_shape.hpp"
#include "http/appending_string_body.hpp"
#include "http/error_reply.hpp"
#include "http/headers.hpp"
#include "io/endpoint_text.hpp"
#include "logging/log.hpp"

namespace hubgate {
namespace {

TEST(hop_by_hop, removes_connection_named_and_standard_hop_headers) {
  boost::beast::http::fields f;
  f.insert("Connection", "keep-alive, X-Secret");
  f.insert("Connection", " x-other , Content-Type,content-encoding");
  f.insert("X-Secret", "1");
  f.insert("X-Other", "2");
  f.insert("Keep-Alive", "timeout=5");
  f.insert("Proxy-Authorization", "Basic a");
  f.insert("Proxy-Connection", "keep-alive");
  f.insert("TE", "trailers");
  f.insert("Trailer", "X-Sum");
  f.insert("Upgrade", "h2c");
  f.insert("Authorization", "Bearer pat");
  f.insert("X-HubSpot-RateLimit-Max", "100");
  f.insert("Content-Length", "3");
  f.insert("Content-Type", "application/json");
  f.insert("Content-Encoding", "identity");
  http::remove_hop_by_hop(f);
  std::set<std::string> left;
  for (const auto& field : f) {
    left.insert(std::string(field.name_string()));
  }
  EXPECT_EQ(left, (std::set<std::string>{"Authorization", "X-HubSpot-RateLimit-Max", "Content-Length", "Content-Type",
                                         "Content-Encoding"}));
}

// A chunked answer's parser whose chunks reserve their room, as upstream::fetch makes it.
struct reserving_parser {
  boost::beast::http::response_parser<http::appending_string_body> parser;
  http::reserve_each_chunk reserve{parser.get().body()};

  explicit reserving_parser(std::uint64_t body_limit) {
    parser.eager(true);
    parser.body_limit(body_limit);
    parser.on_chunk_header(reserve);
  }

  // Parses `bytes` until they are used up, the answer is done or the parser fails.
  boost::beast::error_code put(std::string_view bytes) {
    boost::beast::error_code ec;
    std::size_t used = 0;
    while (used < bytes.size() && !parser.is_done() && !ec) {
      used += parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    }
    return ec;
  }
};

TEST(reserve_each_chunk, makes_room_for_a_whole_chunk_once_its_size_line_is_read) {
  reserving_parser p{100000};
  const std::string chunk(0x6000, 'x');
  const std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6000\r\n" + chunk + "\r\n0\r\n\r\n";
  // The head, the size line and the chunk's first 100 bytes: room for all of it already.
  const std::size_t first = wire.find("6000\r\n") + 6 + 100;
  ASSERT_FALSE(p.put(std::string_view(wire).substr(0, first)));
  const std::string& body = p.parser.get().body();
  EXPECT_EQ(body.size(), 100u);
  EXPECT_GE(body.capacity(), chunk.size());
  const char* storage = body.data();
  ASSERT_FALSE(p.put(std::string_view(wire).substr(first)));
  EXPECT_TRUE(p.parser.is_done());
  EXPECT_EQ(body, chunk);
  EXPECT_EQ(body.data(), storage) << "the body grew by copying";
}

TEST(reserve_each_chunk, reserves_nothing_for_a_chunk_beyond_the_body_limit) {
  reserving_parser p{1000};
  EXPECT_EQ(p.put("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\nxx"),
            boost::beast::http::error::body_limit);
  EXPECT_LT(p.parser.get().body().capacity(), 1000u);
}

TEST(error_reply, has_hubspots_shape_and_a_fresh_uuid_v4) {
  auto a = hubspot::make_correlation_id();
  auto b = hubspot::make_correlation_id();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
  for (std::size_t i = 0; i < a.size(); ++i) { // 8-4-4-4-12 lower-case hex digits
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(a[i], '-') << a;
    } else {
      EXPECT_NE(std::string("0123456789abcdef").find(a[i]), std::string::npos) << a << " at " << i;
    }
  }

  auto res = http::make_error_response(
      {boost::beast::http::status::payload_too_large, "VALIDATION_ERROR", "Too \"big\""}, a, 11, true);
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/json;charset=utf-8");
  EXPECT_EQ(res["x-should-retry"], "false");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["status"], "error");
  EXPECT_EQ(body["message"], "Too \"big\"");
  EXPECT_EQ(body["correlationId"], a);
  EXPECT_EQ(body["category"], "VALIDATION_ERROR");
  EXPECT_EQ(res.body().find("{\"status\":\"error\",\"message\""), 0u); // HubSpot's field order
}

TEST(redact_emails, hides_the_local_part_of_every_address_in_free_text) {
  EXPECT_EQ(logging::redact_emails(R"(member "jo.doe@corp.io" is ambiguous with "x+y@a.io")"),
            R"(member "***@corp.io" is ambiguous with "***@a.io")");
  EXPECT_EQ(logging::redact_emails("property jo%40corp.io is given twice"), "property ***%40corp.io is given twice");
  EXPECT_EQ(logging::redact_emails("3 of 100 items blocked"), "3 of 100 items blocked");
}

TEST(redact_target, removes_credentials_and_email_local_parts) {
  EXPECT_EQ(logging::redact_target("/crm/v3/objects/contacts/1?hapikey=abc&properties=email"),
            "/crm/v3/objects/contacts/1?hapikey=REDACTED&properties=email");
  EXPECT_EQ(logging::redact_target("/x?HAPIKEY=abc&access_token=t"), "/x?HAPIKEY=REDACTED&access_token=REDACTED");
  EXPECT_EQ(logging::redact_target("/contacts/v1/contact/createOrUpdate/email/jo.doe+x@corp.io/"),
            "/contacts/v1/contact/createOrUpdate/email/***@corp.io/");
  EXPECT_EQ(logging::redact_target("/contacts/v1/contact/email/jo%40corp.io/profile"),
            "/contacts/v1/contact/email/***%40corp.io/profile");
  EXPECT_EQ(logging::redact_target("/search?email=jo@corp.io"), "/search?email=***@corp.io");
  EXPECT_EQ(logging::redact_target("/crm/v3/objects/contacts"), "/crm/v3/objects/contacts");
}

// Each case: a text and what it must become.
using redactions = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void expect_redacted(std::string (*redact)(std::string_view), redactions cases) {
  for (const auto& [text, redacted] : cases) {
    EXPECT_EQ(redact(text), redacted) << text;
  }
}

TEST(redact_emails, counts_every_spelling_of_an_address) {
  expect_redacted(logging::redact_emails, {
      // Non-ASCII local parts, comments, quoted local parts.
      {"to jörg.müller@example.com now", "to ***@example.com now"},
      {"to jo(x)@example.com", "to ***@example.com"},
      {R"(to "jo doe"@example.com)", "to ***@example.com"},
      {R"(to "jo\"x"@example.com)", "to ***@example.com"},
      // The at-sign escaped twice, fullwidth (raw or escaped, any hex case) or small.
      {"property jo%2540corp.io", "property ***%2540corp.io"},
      {"to jo\xEF\xBC\xA0" "corp.io", "to ***\xEF\xBC\xA0" "corp.io"},
      {"to jo%EF%BC%A0corp.io", "to ***%EF%BC%A0corp.io"},
      {"to jo%ef%bc%a0corp.io", "to ***%ef%bc%a0corp.io"},
      {"to jo%25EF%25BC%25A0corp.io", "to ***%25EF%25BC%25A0corp.io"},
      {"to jo\xEF\xB9\xAB" "corp.io", "to ***\xEF\xB9\xAB" "corp.io"},
      // Redaction stops at what ends a field or parameter.
      {"a=b,c;d&e/f?g jo@x.io", "a=b,c;d&e/f?g ***@x.io"},
      {"x=jo@x.io,y=a/ann@x.io", "x=***@x.io,y=a/***@x.io"},
      // Not addresses.
      {"ends with jo@ or @x.io", "ends with jo@ or @x.io"},
      {"100% of 3\xEF\xBC\x90", "100% of 3\xEF\xBC\x90"},
  });
}

TEST(redact_emails, may_hold_email_passes_every_at_sign) {
  EXPECT_TRUE(logging::may_hold_email("jo@x.io"));
  EXPECT_TRUE(logging::may_hold_email("jo%2540x.io"));
  EXPECT_TRUE(logging::may_hold_email("jo\xEF\xBC\xA0x.io"));
  EXPECT_FALSE(logging::may_hold_email("3 of 100 items blocked"));
}

TEST(redact_target, leaves_ordinary_targets_unchanged) {
  for (const char* target : {"/crm/v3/objects/contacts/123?properties=email,firstname&archived=false",
                             "/crm/v3/objects/contacts", "/", "", "/x?tokens=1&mytoken=2&hapikey_hint=3&token",
                             "/oauth/v1/token", "/oauth/v1/access-tokens", "/x/%2Fy;v=1?q=100%25&a=b;c=d"}) {
    EXPECT_EQ(logging::redact_target(target), target);
  }
}

TEST(redact_target, reads_credential_names_as_a_server_does) {
  expect_redacted(logging::redact_target, {
      {"/crm/v3/objects/contacts?h%61pikey=SECRET1&x=1;hapikey=SECRET2&access%5ftoken=SECRET3",
       "/crm/v3/objects/contacts?h%61pikey=REDACTED&x=1;hapikey=REDACTED&access%5ftoken=REDACTED"},
      {"/x?+Token+=a&%20API_KEY%09=b&h%2561pikey=c&Api%5FKey=d",
       "/x?+Token+=REDACTED&%20API_KEY%09=REDACTED&h%2561pikey=REDACTED&Api%5FKey=REDACTED"},
      {"/oauth/v1/token?grant_type=refresh_token&client_id=c&client_secret=S&refresh_token=R&code=C&redirect_uri=https://x.io/",
       "/oauth/v1/token?grant_type=refresh_token&client_id=c&client_secret=REDACTED&refresh_token=REDACTED&code=REDACTED"
       "&redirect_uri=https://x.io/"},
      // A value runs to the next `&`: a server that splits on `&` alone reads the key as `A;B`.
      {"/x?hapikey=A;B&y=1", "/x?hapikey=REDACTED&y=1"},
      {"/x?hapikey=&y=1", "/x?hapikey=REDACTED&y=1"},
      // Matrix parameters: a value runs to the end of its segment.
      {"/crm/v3/objects/contacts;hapikey=X/123", "/crm/v3/objects/contacts;hapikey=REDACTED/123"},
      {"/crm/v3/objects/contacts;v=1;ACCESS%5FTOKEN=X;y=2/123?a=1",
       "/crm/v3/objects/contacts;v=1;ACCESS%5FTOKEN=REDACTED/123?a=1"},
      {"/contacts/v1/contact/email/jo@x.io;token=T/profile", "/contacts/v1/contact/email/***@x.io;token=REDACTED/profile"},
      // Padding a server trims, as access control reads it: Unicode spaces, zero-width ones, a BOM.
      {"/x?hapikey%C2%A0=S1&%EF%BB%BFhapikey=S2&hapikey%E2%80%8B=S3", "/x?hapikey%C2%A0=REDACTED&%EF%BB%BFhapikey=REDACTED"
                                                                    "&hapikey%E2%80%8B=REDACTED"},
      {"/x?access_token\xe3\x80\x80=S4&%C2%A0%C2%A0%C2%A0%C2%A0%C2%A0%C2%A0hapikey=S5",
       "/x?access_token\xe3\x80\x80=REDACTED&%C2%A0%C2%A0%C2%A0%C2%A0%C2%A0%C2%A0hapikey=REDACTED"},
  });
}

TEST(redact_target, redacts_oauth_tokens_in_the_path) {
  expect_redacted(logging::redact_target, {
      {"/oauth/v1/access-tokens/CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2",
       "/oauth/v1/access-tokens/REDACTED"},
      {"/oauth/v1/refresh-tokens/6f18f21e-a743-4509-b7fd-1a5e632fffa1", "/oauth/v1/refresh-tokens/REDACTED"},
      {"/oauth/v3/ACCESS-TOKENS/tok?x=1", "/oauth/v3/ACCESS-TOKENS/REDACTED?x=1"},
      {"/oauth/2026-03/access%2Dtokens/tok/", "/oauth/2026-03/access%2Dtokens/REDACTED/"},
      // Every later segment: a server that resolves dot segments may read any of them as the token.
      {"/oauth/v1/Refresh-Tokens/tok;a=b/more", "/oauth/v1/Refresh-Tokens/REDACTED/REDACTED"},
      {"/oauth/v1/access-tokens/./SEKRIT1", "/oauth/v1/access-tokens/./REDACTED"},
      {"/oauth/v1/access-tokens/%2e/SEKRIT2", "/oauth/v1/access-tokens/%2e/REDACTED"},
      {"/oauth/v1/access-tokens/x/../SEKRIT3", "/oauth/v1/access-tokens/REDACTED/../REDACTED"},
      {"/oauth/v1/access-tokens;a=b//tok", "/oauth/v1/access-tokens;a=b//REDACTED"},
      // `%2F` (escaped once or twice) separates segments for a server that decodes the path.
      {"/oauth/v1/access-tokens%2ftok", "/oauth/v1/access-tokens%2fREDACTED"},
      {"/oauth/v1/access-tokens%252Ftok", "/oauth/v1/access-tokens%252FREDACTED"},
  });
}

TEST(redact_target, redacts_every_spelling_of_an_address) {
  expect_redacted(logging::redact_target, {
      {"/contacts/v1/contact/email/jörg.müller@example.com/profile", "/contacts/v1/contact/email/***@example.com/profile"},
      {"/contacts/v1/contact/email/jo(x)@example.com/profile", "/contacts/v1/contact/email/***@example.com/profile"},
      {"/contacts/v1/contact/email/jo%2540example.com/profile",
       "/contacts/v1/contact/email/***%2540example.com/profile"},
      {"/search?q=jo%2540example.com", "/search?q=***%2540example.com"},
      {"/contacts/v1/contact/email/j%C3%B6rg%2Bx%40Example.com/profile",
       "/contacts/v1/contact/email/***%40Example.com/profile"},
      {"/c/jo\xEF\xBC\xA0x.io?q=jo%Ef%bC%a0x.io", "/c/***\xEF\xBC\xA0x.io?q=***%Ef%bC%a0x.io"},
      {"/search?email=jo@corp.io&a=1;b=ann@x.io", "/search?email=***@corp.io&a=***@x.io"},
      {"/search?email=jane.smith;work@example.com", "/search?email=***@example.com"},
      {"/search?email=%22jane;smith%22@example.com", "/search?email=***@example.com"},
  });
}

TEST(redact_target, an_address_in_a_path_segment_or_query_value_runs_back_to_its_start) {
  expect_redacted(logging::redact_target, {
      // `=` and `&` are atext (RFC 5322): in a segment the local part runs back to the `/`.
      {"/contacts/v1/contact/createOrUpdate/email/tom.pii31=jerry@ok.com/",
       "/contacts/v1/contact/createOrUpdate/email/***@ok.com/"},
      {"/contacts/v1/contact/createOrUpdate/email/tom.pii32&jerry@ok.com",
       "/contacts/v1/contact/createOrUpdate/email/***@ok.com"},
      {"/crm/v3/objects/contacts/tom=pii72@x.com?idProperty=email", "/crm/v3/objects/contacts/***@x.com?idProperty=email"},
      {"/contacts/v1/contact/email/tom%2Fpii74;x=1@ok.com/profile", "/contacts/v1/contact/email/***@ok.com/profile"},
      // In a query, a value starts after the parameter's first `=`, raw or escaped.
      {"/search?email=tom=pii73@x.com&a=1", "/search?email=***@x.com&a=1"},
      {"/search?email%3Dtom=pii75@x.com", "/search?email%3D***@x.com"},
      {"/search?x=1%26email=tom.pii76@x.com", "/search?x=***@x.com"},
      {"/search?tom.pii77%3Djerry@x.com", "/search?***@x.com"},
      // Every at-sign counts, whatever follows it; each part before the last one is redacted.
      {"/contacts/v1/contact/email/jo.secret24@/profile", "/contacts/v1/contact/email/***@/profile"},
      {"/contacts/v1/contact/email/jo.secret25:@x.com/profile", "/contacts/v1/contact/email/***@x.com/profile"},
      {"/contacts/v1/contact/email/jo.secret22@@x.com/profile", "/contacts/v1/contact/email/***@@x.com/profile"},
      {"/c/jo.secret26@pii.secret27@x.com", "/c/***@***@x.com"},
      {"/search?q=jo.secret28@&r=(jo.secret29)@x.com", "/search?q=***@&r=***@x.com"},
      {"/users/@me", "/users/@me"},
      // The at-sign escaped at any depth, any of its characters.
      {"/contacts/v1/contact/email/jo.secret18%25%34%30x.com/profile",
       "/contacts/v1/contact/email/***%25%34%30x.com/profile"},
      {"/c/jo.secret19%%34%30x.com", "/c/***%%34%30x.com"},
      {"/c/jo.secret20%2%35%34%30x.com", "/c/***%2%35%34%30x.com"},
      {"/search?q=jo.secret21%25%45F%25%42C%25A0x.com", "/search?q=***%25%45F%25%42C%25A0x.com"},
  });
}

TEST(redact_emails, reads_at_signs_escaped_at_any_depth) {
  expect_redacted(logging::redact_emails, {
      {"property jo.secret18%25%34%30x.com", "property ***%25%34%30x.com"},
      {"property jo.secret19%%34%30x.com", "property ***%%34%30x.com"},
      {"100%25 of jo%2Fx", "100%25 of jo%2Fx"},
  });
}

TEST(redact_target, reads_escaped_delimiters_as_the_delimiters_they_stand_for) {
  expect_redacted(logging::redact_target, {
      {"/crm/v3/objects/contacts%3Bhapikey=PATHQSECRET2", "/crm/v3/objects/contacts%3Bhapikey=REDACTED"},
      {"/crm/v3/objects/contacts%3Fhapikey=PATHQSECRET1", "/crm/v3/objects/contacts%3Fhapikey=REDACTED"},
      {"/crm/v3/objects/contacts%3fx=1&access_token=PATHQSECRET3/more?a=1",
       "/crm/v3/objects/contacts%3fx=1&access_token=REDACTED?a=1"},
      {"/crm/v3/objects/contacts%253Bhapikey%253DPATHQSECRET4/1", "/crm/v3/objects/contacts%253Bhapikey%253DREDACTED/1"},
      {"/x?hapikey%3DQSECRET1&y=1", "/x?hapikey%3DREDACTED&y=1"},
      {"/x?hapikey%3dQSECRET2", "/x?hapikey%3dREDACTED"},
      {"/x?hapikey%253DQSECRET3", "/x?hapikey%253DREDACTED"},
      {"/x?hapikey%25%33%44QSECRET4", "/x?hapikey%25%33%44REDACTED"},
      {"/x?x=1%26hapikey%3DQSECRET5&y=2", "/x?x=1%26hapikey%3DREDACTED&y=2"},
      {"/x?x=1%2526access_token=QSECRET6", "/x?x=1%2526access_token=REDACTED"},
      {"/x?x=1%3Bcode=QSECRET7", "/x?x=1%3Bcode=REDACTED"},
      {"/x?x=1%3Fclient_secret=QSECRET8", "/x?x=1%3Fclient_secret=REDACTED"},
      // `name[]` (and `name[0]`) is `name` to a server that reads arrays so.
      {"/x?hapikey[]=QSECRET9&y=1", "/x?hapikey[]=REDACTED&y=1"},
      {"/x?hapikey%5B%5D=QSECRET10", "/x?hapikey%5B%5D=REDACTED"},
      {"/x?Token[0]=QSECRET11", "/x?Token[0]=REDACTED"},
      {"/crm/v3/objects/contacts;hapikey[]=QSECRET12/1", "/crm/v3/objects/contacts;hapikey[]=REDACTED/1"},
      // A value runs on to a raw delimiter: an escaped `/` may be the token's own.
      {"/crm/v3/objects/contacts;hapikey=AB%2FQSECRET13/1", "/crm/v3/objects/contacts;hapikey=REDACTED/1"},
      {"/oauth/v1/access-tokens%3Bx=1/QSECRET14", "/oauth/v1/access-tokens%3Bx=1/REDACTED"},
  });
}

TEST(log_render, text_and_json_forms) {
  EXPECT_EQ(logging::render(cli::log_format::text, "request",
                            {{"method", "GET"}, {"status", 200}, {"detail", "a b"}, {"empty", ""}}),
            "request method=GET status=200 detail=\"a b\"");
  auto json = "{" +
              logging::render(cli::log_format::json, "request", {{"method", "GET"}, {"status", 200}, {"n", -3}}) +
              "}";
  auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["msg"], "request");
  EXPECT_EQ(parsed["status"], 200);
  EXPECT_EQ(parsed["n"], -3);
}

// The "listening address=..." lines: an address --listen would read back.
TEST(endpoint_text, an_ipv6_address_is_written_in_brackets) {
  namespace ip = boost::asio::ip;
  EXPECT_EQ(io::endpoint_text({ip::make_address("::"), 9191}), "[::]:9191");
  EXPECT_EQ(io::endpoint_text({ip::make_address("::1"), 8080}), "[::1]:8080");
  EXPECT_EQ(io::endpoint_text({ip::make_address("127.0.0.1"), 8080}), "127.0.0.1:8080");
}

} // namespace
} // namespace hubgate
