// The gate end to end: rules.yaml in force in the real binary, requests through real sockets, and
// what reached the fake HubSpot (over TLS) checked on its side.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "integration/ops_support.hpp"
#include "integration/proxy_client.hpp"
#include "support/fake_hubspot.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* rules_yaml = R"(version: 1
default: allow
rules:
  - name: no-test-domains
    match: { kind: [create, upsert], email_domain: [example.com, test.com] }
    action: block
    message: Test addresses are not created through the API
  - name: no-deletes
    match: { method: DELETE, path: '^/crm/v3/objects/contacts/' }
    action: block
    status: 405
  - name: tag-api-contacts
    match: { operations: [contacts.create, contacts.batch_create] }
    action: rewrite
    set: { lifecyclestage: lead }
    remove: [hubspot_owner_id]
)";

// Where two long bodies part, for a failure message that can be read.
std::string first_difference(std::string_view got, std::string_view expected) {
  std::size_t at = 0;
  while (at < got.size() && at < expected.size() && got[at] == expected[at]) {
    ++at;
  }
  const std::size_t from = at < 40 ? 0 : at - 40;
  return "sizes " + std::to_string(got.size()) + " and " + std::to_string(expected.size()) + ", first difference at " +
         std::to_string(at) + ": got \"" + std::string(got.substr(from, 80)) + "\", expected \"" +
         std::string(expected.substr(from, 80)) + "\"";
}

class gate_test : public ::testing::Test {
 protected:
  gate_test() {
    char dir[] = "/tmp/hubgate-gate-XXXXXX";
    dir_ = mkdtemp(dir);
    rules_file_ = dir_ + "/rules.yaml";
    std::ofstream(rules_file_) << rules_yaml;
    api.set_handler(hubspot_like);
  }
  ~gate_test() override { std::system(("rm -rf " + dir_).c_str()); }

  running_proxy start(std::vector<std::string> extra = {}) {
    auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
    flags.insert(flags.end(), {"--rules", rules_file_});
    flags.insert(flags.end(), extra.begin(), extra.end());
    return running_proxy(flags);
  }

  // A batch create of an allowed item and one the rules block.
  static std::string mixed_batch(std::vector<std::pair<std::string, std::string>> headers = {
                                     {"Content-Type", "application/json"}}) {
    return post("/crm/v3/objects/contacts/batch/create",
                R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@example.com"}}]})",
                std::move(headers));
  }

  static std::string post(std::string_view target, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers = {
                              {"Content-Type", "application/json"}}) {
    return make_request("POST", target, headers, body);
  }

  const test_pki& pki = shared_test_pki();
  fake_hubspot api{pki.server};
  fake_hubspot forms{pki.server};
  std::string dir_;
  std::string rules_file_;
};

TEST_F(gate_test, a_blocked_create_gets_hubspots_error_shape_and_never_reaches_hubspot) {
  auto proxy = start();
  auto answer =
      exchange(proxy.port(), post("/crm/v3/objects/contacts", R"({"properties":{"email":" Jo@Sub.Test.com "}})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403u);
  EXPECT_EQ(answer->header("x-should-retry").value_or(""), "false");
  EXPECT_EQ(answer->header("Content-Type").value_or(""), "application/json;charset=utf-8");
  auto body = json::parse(answer->body);
  EXPECT_EQ(body["status"], "error");
  EXPECT_EQ(body["category"], "POLICY_BLOCKED");
  EXPECT_EQ(body["message"], "Test addresses are not created through the API");
  EXPECT_EQ(body["context"]["rule"], json::array({"no-test-domains"}));
  EXPECT_EQ(body["correlationId"].get<std::string>().size(), 36u);
  EXPECT_TRUE(api.requests().empty());
}

// A refused address is named by its record, never quoted: the reason goes to the access log, where
// an address (or the name of a display name) must not.
TEST_F(gate_test, a_refused_address_is_named_by_its_record_and_no_address_reaches_the_log) {
  auto proxy = start();
  const std::pair<std::string_view, std::string_view> refusals[] = {
      {"Jo Secretperson <jo.secretperson@corp.io>", "not one plain address"},
      {"jo.secretperson@corp.io@corp.io", "not one plain address"},
      {"jo.secretperson@corp\u2024io", "IDNA refuses"},
  };
  for (const auto& [email, why] : refusals) {
    auto answer = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create",
                                              R"({"inputs":[{"properties":{"email":"a@corp.io"}},)"
                                              R"({"properties":{"email":")" + std::string(email) + R"("}}]})"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400u);
    const std::string message = json::parse(answer->body).value("message", "");
    EXPECT_NE(message.find("the email of record 1"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
    EXPECT_EQ(message.find("secretperson"), std::string::npos) << message;
  }
  // A reason that quotes a name the caller gave (here, an address used as a property name) is
  // still written to the log without the address's local part.
  auto named = exchange(proxy.port(), post("/crm/v3/objects/contacts",
                                           R"({"properties":{"email":"a@corp.io","jo.secretperson@corp.io":"1",)"
                                           R"("JO.SECRETPERSON@corp.io":"2"}})"));
  ASSERT_TRUE(named);
  EXPECT_EQ(named->status, 400u);
  ASSERT_TRUE(proxy.process().wait_for_output("***@corp.io", 10s)) << proxy.log();
  EXPECT_EQ(proxy.log().find("ecretperson"), std::string::npos) << proxy.log();
  EXPECT_EQ(proxy.log().find("ECRETPERSON"), std::string::npos) << proxy.log();
  EXPECT_TRUE(api.requests().empty());
}

TEST_F(gate_test, an_allowed_create_is_rewritten_and_sent_to_the_canonical_path) {
  auto proxy = start();
  auto answer =
      exchange(proxy.port(), post("/CRM/v3//objects/./Contacts/?archived=false",
                                  R"({"properties":{"email":"jo@corp.io","hubspot_owner_id":"7","firstname":"Jo"}})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201u);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/crm/v3/objects/contacts?archived=false");
  auto sent = json::parse(seen[0].body);
  EXPECT_EQ(sent["properties"]["lifecyclestage"], "lead");
  EXPECT_EQ(sent["properties"]["firstname"], "Jo");
  EXPECT_FALSE(sent["properties"].contains("hubspot_owner_id"));
  EXPECT_EQ(seen[0].header("Content-Length").value_or(""), std::to_string(seen[0].body.size()));
}

TEST_F(gate_test, a_mixed_batch_is_split_and_stitched_back_in_input_order) {
  auto proxy = start();
  auto answer =
      exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create",
                                  R"({"inputs":[{"properties":{"email":"a@corp.io"}},)"
                                  R"({"properties":{"email":"b@example.com"},"objectWriteTraceId":"t-1"},)"
                                  R"({"properties":{"email":"c@corp.io"}},{"properties":{"email":"d@test.com"}}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  auto sent = json::parse(seen[0].body);
  ASSERT_EQ(sent["inputs"].size(), 2u);
  EXPECT_EQ(sent["inputs"][0]["properties"]["email"], "a@corp.io");
  EXPECT_EQ(sent["inputs"][1]["properties"]["email"], "c@corp.io");

  auto body = json::parse(answer->body);
  EXPECT_EQ(body["status"], "COMPLETE");
  ASSERT_EQ(body["results"].size(), 2u);
  EXPECT_EQ(body["results"][0]["properties"]["email"], "a@corp.io");
  EXPECT_EQ(body["results"][1]["properties"]["email"], "c@corp.io");
  EXPECT_EQ(body["numErrors"], 2);
  ASSERT_EQ(body["errors"].size(), 2u);
  EXPECT_EQ(body["errors"][0]["category"], "POLICY_BLOCKED");
  EXPECT_EQ(body["errors"][0]["context"]["inputIndex"], json::array({"1"}));
  EXPECT_EQ(body["errors"][0]["context"]["objectWriteTraceId"], json::array({"t-1"}));
  EXPECT_EQ(body["errors"][0]["context"]["rule"], json::array({"no-test-domains"}));
  EXPECT_EQ(body["errors"][1]["context"]["inputIndex"], json::array({"3"}));
}

// A chunked body is read by Beast's parser into a string of its own; the gate's records point into
// it, and a rewrite replaces the body. The blocked item's trace id in the 207 is read from the
// records after HubSpot answered: from freed memory, before the received bytes were kept (heap
// bytes went to the client; ASan: heap-use-after-free).
TEST_F(gate_test, a_chunked_batch_that_is_rewritten_answers_with_the_blocked_items_own_trace_id) {
  auto proxy = start();
  const std::string trace = "trace-" + std::string(200, 't');
  const std::string body = R"({"inputs":[{"properties":{"email":"a@corp.io"}},)"
                           R"({"properties":{"email":"b@example.com"},"objectWriteTraceId":")" +
                           trace + R"("}]})";
  const std::size_t half = body.size() / 2;
  std::ostringstream chunked;
  chunked << "POST /crm/v3/objects/contacts/batch/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          << "Transfer-Encoding: chunked\r\n\r\n"
          << std::hex << half << "\r\n" << body.substr(0, half) << "\r\n"
          << std::hex << body.size() - half << "\r\n" << body.substr(half) << "\r\n0\r\n\r\n";
  auto answer = exchange(proxy.port(), chunked.str());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u) << answer->body;
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  auto sent = json::parse(seen[0].body);
  ASSERT_EQ(sent["inputs"].size(), 1u);
  EXPECT_EQ(sent["inputs"][0]["properties"]["lifecyclestage"], "lead") << "the kept item was rewritten";
  const auto stitched = json::parse(answer->body);
  ASSERT_EQ(stitched["errors"].size(), 1u);
  EXPECT_EQ(stitched["errors"][0]["context"]["objectWriteTraceId"], json::array({trace}));
}

// The SDKs accept gzip. An answer hubgate reads (to stitch a split batch into, here) is asked for
// as text, or the blocked items would be lost in a compressed answer relayed as it came; an answer
// hubgate only relays keeps the client's choice.
TEST_F(gate_test, answers_hubgate_reads_are_asked_for_uncompressed) {
  auto proxy = start();
  const std::vector<std::pair<std::string, std::string>> gzip_client = {{"Content-Type", "application/json"},
                                                                        {"Accept-Encoding", "gzip, deflate"}};
  auto answer = exchange(proxy.port(), mixed_batch(gzip_client));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u);
  auto read = exchange(proxy.port(), post("/crm/v3/objects/deals", R"({"properties":{}})", gzip_client));
  ASSERT_TRUE(read);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("Accept-Encoding").value_or(""), "identity");
  EXPECT_EQ(seen[1].header("Accept-Encoding").value_or(""), "gzip, deflate");
}

TEST_F(gate_test, under_batches_whole_a_batch_with_a_blocked_item_is_refused_whole_and_never_sent) {
  std::string whole_rules(rules_yaml);
  whole_rules.insert(whole_rules.find("rules:"), "batches: whole\n");
  std::ofstream(rules_file_) << whole_rules;
  auto proxy = start();
  auto answer =
      exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create",
                                  R"({"inputs":[{"properties":{"email":"a@corp.io"}},)"
                                  R"({"properties":{"email":"b@example.com"}},{"properties":{"email":"c@corp.io"}}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403u);
  EXPECT_EQ(answer->header("x-should-retry").value_or(""), "false");
  auto body = json::parse(answer->body);
  EXPECT_EQ(body["status"], "error");
  EXPECT_EQ(body["category"], "POLICY_BLOCKED");
  EXPECT_EQ(body["context"]["inputIndex"], json::array({"1"}));
  EXPECT_EQ(body["context"]["rule"], json::array({"no-test-domains"}));
  EXPECT_TRUE(api.requests().empty());

  // A batch of one names its item too.
  auto one = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create",
                                         R"({"inputs":[{"properties":{"email":"b@example.com"}}]})"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 403u);
  EXPECT_EQ(json::parse(one->body)["context"]["inputIndex"], json::array({"0"}));
  EXPECT_TRUE(api.requests().empty());

  // A batch with nothing blocked still goes through, rewritten by the rules as usual.
  auto allowed = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create",
                                             R"({"inputs":[{"properties":{"email":"a@corp.io"}}]})"));
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 201u);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(json::parse(seen[0].body)["inputs"][0]["properties"]["lifecyclestage"], "lead");
}

// An answer hubgate reads whole and sends on re-framed: trailer fields of its chunked body are not
// made headers (they could set a cookie or a location HubSpot's head never had).
TEST_F(gate_test, a_split_batchs_answer_keeps_its_head_without_its_trailers) {
  api.set_handler([](const recorded_request& r) {
    auto answer = hubspot_like(r);
    answer.headers.emplace_back("X-HubSpot-RateLimit-Remaining", "99");
    answer.chunked = true;
    answer.chunks_in_one_write = true;
    answer.trailer_fields = "Set-Cookie: planted=1\r\nLocation: https://elsewhere.example/\r\n";
    return answer;
  });
  auto proxy = start();
  auto answer = exchange(proxy.port(), mixed_batch());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u);
  EXPECT_EQ(answer->header("X-HubSpot-RateLimit-Remaining").value_or(""), "99");
  EXPECT_FALSE(answer->header("Set-Cookie"));
  EXPECT_FALSE(answer->header("Location"));
  EXPECT_EQ(json::parse(answer->body)["numErrors"], 1);
}

// A success HubSpot sent that is no batch answer is relayed as it came (what HubSpot made stays
// said), and the log says the blocked items could not be added to it.
TEST_F(gate_test, a_split_batchs_unreadable_success_is_relayed_and_logged) {
  api.set_handler([](const recorded_request&) { return json_response(201, "<html>created</html>"); });
  auto proxy = start();
  auto answer = exchange(proxy.port(), mixed_batch());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201u);
  EXPECT_EQ(answer->body, "<html>created</html>");
  // The caller still learns which items went and which were blocked.
  EXPECT_EQ(answer->header("x-hubgate-forwarded-items").value_or(""), "0");
  EXPECT_EQ(answer->header("x-hubgate-blocked-items").value_or(""), "1");
  EXPECT_TRUE(proxy.process().wait_for_output("blocked items named in x-hubgate-blocked-items only", std::chrono::seconds(10))) << proxy.log();
}

// An answer nested deeper than hubgate reads (140 KB, 70,000 arrays deep) is relayed as an
// unreadable one: the DOM a split batch's answer falls back to recursed through it and took the
// process down with every connection on it.
TEST_F(gate_test, a_split_batchs_answer_nested_too_deep_is_relayed_and_the_proxy_lives_on) {
  const std::string deep = R"({"status":"COMPLETE","results":[)" + std::string(70000, '[') + std::string(70000, ']') + "]}";
  api.set_handler([&](const recorded_request& r) {
    return r.target.find("/batch/") != std::string::npos ? json_response(201, deep) : json_response(200, "{}");
  });
  auto proxy = start();
  auto answer = exchange(proxy.port(), mixed_batch());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201u);
  EXPECT_EQ(answer->body, deep);
  auto next = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200u);
}

// An answer read whole (a split batch's) is bounded in its framing as a relayed one is: a chunk
// size line that never ends gets a 502 at once, not read on until the upstream stops sending.
TEST_F(gate_test, a_split_batchs_answer_with_framing_without_end_gets_502) {
  api.set_handler([](const recorded_request&) {
    fake_response r;
    r.raw_answer = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" + std::string(256 * 1024, 'x');
    r.raw_answer_stays_open = true; // more to come, for all hubgate can tell
    return r;
  });
  auto proxy = start({"--upstream-response-timeout", "20s"});
  auto answer = exchange(proxy.port(), mixed_batch());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u) << answer->body;
}

// The same for chunk lines ended by bare LFs, which Beast's parser never completes: a 502 at once,
// not at the response timeout.
TEST_F(gate_test, a_split_batchs_answer_with_bare_lf_chunk_lines_gets_502_at_once) {
  api.set_handler([](const recorded_request&) {
    fake_response r;
    r.raw_answer = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n";
    r.raw_answer_stays_open = true;
    return r;
  });
  auto proxy = start({"--upstream-response-timeout", "60s"});
  auto answer = exchange(proxy.port(), mixed_batch());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u) << answer->body;
}

// HubSpot refusing the kept items (one already exists, say) is relayed as it came, as the SDKs
// read it; headers say which of the caller's items HubSpot got and which hubgate blocked.
TEST_F(gate_test, a_split_batch_hubspot_refuses_is_relayed_with_the_items_each_side_had) {
  const std::string conflict = R"({"status":"error","message":"Contact already exists. Existing ID: 7","category":"CONFLICT"})";
  api.set_handler([&](const recorded_request&) { return json_response(409, conflict); });
  auto proxy = start();
  auto answer = exchange(proxy.port(), mixed_batch());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 409u);
  EXPECT_EQ(answer->body, conflict);
  ASSERT_EQ(api.requests().size(), 1u);
  const auto sent = json::parse(api.requests()[0].body);
  ASSERT_EQ(sent["inputs"].size(), 1u);
  EXPECT_EQ(answer->header("x-hubgate-forwarded-items"), "0");
  EXPECT_EQ(answer->header("x-hubgate-blocked-items"), "1");
}

TEST_F(gate_test, a_split_batch_is_stitched_from_answers_however_they_are_framed) {
  // HubSpot's answer to the kept items is read whole before it is stitched: with a length, and
  // chunked in pieces smaller and larger than what one read brings.
  for (const std::size_t chunk_size : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{50000}}) {
    api.set_handler([chunk_size](const recorded_request& r) {
      auto answer = hubspot_like(r);
      answer.chunked = chunk_size != 0;
      answer.chunk_size = chunk_size;
      return answer;
    });
    auto proxy = start();
    std::string inputs;
    for (int i = 0; i < 60; ++i) {
      inputs += std::string(i == 0 ? "" : ",") + R"({"properties":{"email":"person)" + std::to_string(i) +
                (i % 20 == 19 ? "@example.com" : "@corp.io") + R"(","note":")" + std::string(300, 'n') + R"("}})";
    }
    auto answer =
        exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create", "{\"inputs\":[" + inputs + "]}"));
    ASSERT_TRUE(answer) << chunk_size;
    EXPECT_EQ(answer->status, 207u) << chunk_size;
    auto body = json::parse(answer->body);
    ASSERT_EQ(body["results"].size(), 57u) << chunk_size;
    EXPECT_EQ(body["results"][0]["properties"]["email"], "person0@corp.io");
    EXPECT_EQ(body["results"][56]["properties"]["email"], "person58@corp.io"); // 59 was blocked
    EXPECT_EQ(body["results"][56]["properties"]["note"], std::string(300, 'n'));
    ASSERT_EQ(body["errors"].size(), 3u) << chunk_size;
    EXPECT_EQ(body["errors"][2]["context"]["inputIndex"], json::array({"59"}));
  }
}

TEST_F(gate_test, a_split_batch_without_edits_sends_hubspot_the_kept_items_byte_for_byte) {
  // Blocking alone: the kept items go out as they were sent, gathered a TLS record at a time from
  // the body received (the session's relay buffer stages them), behind a head too large to share a
  // record with them. What HubSpot reads must be exactly the body without the blocked items.
  std::ofstream(rules_file_, std::ios::trunc) << R"(version: 1
default: allow
rules:
  - name: no-test-domains
    match: { kind: [create], email_domain: [example.com] }
    action: block
)";
  // One I/O thread, so one pool: the second request finds the first one's connection.
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.end(), {"--rules", rules_file_, "--threads", "1"});
  running_proxy proxy(flags);
  std::vector<std::string> items;
  std::string expected = "{ \"inputs\" :\n [";
  std::string body = expected;
  for (int i = 0; i < 100; ++i) {
    const bool blocked = i % 7 == 3 || i == 99;
    // Items of growing sizes (8 bytes to 1.2 KB of note), so that record boundaries fall inside
    // items, between them and on a comma; escapes and non-ASCII kept as sent.
    items.push_back(R"({"properties":{"email":"p)" + std::to_string(i) + (blocked ? "@example.com" : "@corp.io") +
                    R"(","note":"\u00e9\n)" + std::string(static_cast<std::size_t>(i) * 12, static_cast<char>('a' + i % 26)) +
                    "\xC3\xA9\"}}");
    body += (i == 0 ? "" : " ,\n  ") + items.back();
    if (!blocked) {
      expected += (expected.back() == '[' ? "" : ",") + items.back();
    }
  }
  body += " ] , \"trailer\": [1, 2] }";
  expected += "] , \"trailer\": [1, 2] }"; // from the list's `]` on, as sent
  ASSERT_GT(expected.size(), 3 * 16 * 1024U);
  const std::string padding(20 * 1024, 'x');
  auto answer = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create", body,
                                            {{"Content-Type", "application/json"}, {"X-Padding", padding}}));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u);
  const auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].body == expected) << first_difference(seen[0].body, expected);
  EXPECT_EQ(seen[0].header("X-Padding").value_or(""), padding);
  const auto stitched = json::parse(answer->body);
  EXPECT_EQ(stitched["results"].size(), 85u);
  EXPECT_EQ(stitched["numErrors"], 15);

  // The same request again on the pooled connection: nothing of the first is left behind.
  answer = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create", body));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u);
  ASSERT_EQ(api.requests().size(), 2u);
  EXPECT_TRUE(api.requests()[1].body == expected) << first_difference(api.requests()[1].body, expected);
  EXPECT_EQ(api.handshakes(), 1u);
}

TEST_F(gate_test, a_split_batchs_answer_declaring_more_than_hubgate_merges_gets_502) {
  // The answer is read whole to be stitched, up to 64 MiB: a longer Content-Length is refused from
  // the head, before any room is made for it.
  api.set_handler([](const recorded_request&) {
    auto answer = json_response(201, R"({"status":"COMPLETE","results":[]})");
    answer.headers.emplace_back("Content-Length", "99999999999");
    answer.unframed = true; // the head as given, then the body and the close
    return answer;
  });
  auto proxy = start();
  const std::string batch =
      R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@example.com"}}]})";
  auto answer = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create", batch));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u) << answer->body;
  // And the next batch is served as usual.
  api.set_handler(hubspot_like);
  answer = exchange(proxy.port(), post("/crm/v3/objects/contacts/batch/create", batch));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u) << answer->body;
}

TEST_F(gate_test, a_batch_with_every_item_blocked_makes_no_upstream_call) {
  auto proxy = start();
  auto answer =
      exchange(proxy.port(), post("/crm/v3/objects/0-1/batch/upsert",
                                  R"({"inputs":[{"idProperty":"email","id":"x@example.com","properties":{}}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 207u);
  auto body = json::parse(answer->body);
  EXPECT_TRUE(body["results"].empty());
  EXPECT_EQ(body["numErrors"], 1);
  EXPECT_TRUE(api.requests().empty());
}

TEST_F(gate_test, legacy_v1_calls_are_decided_as_a_whole) {
  auto proxy = start();
  auto answer = exchange(proxy.port(), post("/contacts/v1/contact/createOrUpdate/email/jo@test.com/",
                                            R"({"properties":[{"property":"firstname","value":"Jo"}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403u);
  answer =
      exchange(proxy.port(), post("/contacts/v1/contact/batch/", R"([{"email":"ok@corp.io","properties":[]},)"
                                                                 R"({"email":"no@example.com","properties":[]}])"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403u);
  auto body = json::parse(answer->body);
  EXPECT_EQ(body["context"]["inputIndex"], json::array({"1"}));
  EXPECT_TRUE(api.requests().empty());

  answer = exchange(proxy.port(), post("/contacts/v1/contact/createOrUpdate/email/jo@corp.io",
                                       R"({"properties":[{"property":"firstname","value":"Jo"}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201u); // what the fake answered
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(api.requests()[0].target, "/contacts/v1/contact/createOrUpdate/email/jo%40corp.io");
}

TEST_F(gate_test, form_submissions_are_gated_with_the_forms_error_shape) {
  auto proxy = start();
  const char* target = "/submissions/v3/integration/submit/123/11111111-2222-3333-4444-555555555555";
  auto answer = exchange(proxy.port(), post(target, R"({"fields":[{"name":"email","value":"x@example.com"}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403u);
  auto body = json::parse(answer->body);
  EXPECT_EQ(body["message"], "The request is not valid");
  EXPECT_EQ(body["errors"][0]["errorType"], "POLICY_BLOCKED");
  EXPECT_TRUE(forms.requests().empty());

  answer = exchange(proxy.port(), post(target, R"({"fields":[{"name":"email","value":"x@corp.io"}]})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(forms.requests().size(), 1u);
  EXPECT_TRUE(api.requests().empty());
}

// A contact create of `count` properties, each `value` long, after its email.
std::string create_of(std::size_t count, std::size_t value_length) {
  std::string body = R"({"properties":{"email":"a@corp.io")";
  for (std::size_t i = 0; i < count; ++i) {
    body += ",\"p" + std::to_string(i) + "\":\"" + std::string(value_length, 'v') + "\"";
  }
  return body + "}}";
}

// Reading a JSON body takes 20 bytes a value and key, more than the body for tiny values: a large
// body's reading is taken from --max-body-memory. One of more values than that memory lets hubgate
// read gets a 413 and is never forwarded; a body as large with long values passes.
TEST_F(gate_test, a_body_of_more_json_values_than_max_body_memory_lets_hubgate_read_gets_413) {
  auto proxy = start({"--max-body-size", "100KiB", "--max-body-memory", "512KiB"});
  const std::string many = create_of(7000, 0); // 14,000 values and keys in 77 KB
  const std::string few = create_of(70, 1000);  // 140 in 71 KB
  ASSERT_GT(many.size(), 64u * 1024);
  ASSERT_GT(few.size(), 64u * 1024);

  auto refused = exchange(proxy.port(), post("/crm/v3/objects/contacts", many));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413u) << refused->body;
  const json error = json::parse(refused->body);
  EXPECT_EQ(error["category"], "VALIDATION_ERROR");
  EXPECT_NE(error["message"].get<std::string>().find("--max-body-memory"), std::string::npos) << refused->body;
  EXPECT_TRUE(api.requests().empty());

  auto passed = exchange(proxy.port(), post("/crm/v3/objects/contacts", few));
  ASSERT_TRUE(passed);
  EXPECT_EQ(passed->status, 201u) << passed->body;
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_NE(api.requests()[0].body.find(std::string(1000, 'v')), std::string::npos);
}

// When other bodies hold the memory a body's reading needs, it gets a 503 to retry, and passes
// once they are gone.
TEST_F(gate_test, a_body_whose_reading_needs_memory_other_bodies_hold_gets_503_then_passes) {
  auto proxy = start({"--max-body-size", "100KiB", "--max-body-memory", "1MiB"});
  const std::string many = create_of(7000, 0); // 14,000 values: 560 KB to read, beside its 77 KB
  // Ten bodies of 64 KiB, held from the 100 Continue on: 640 KiB of the 1 MiB.
  std::vector<std::unique_ptr<proxy_connection>> holding;
  for (int i = 0; i < 10; ++i) {
    holding.push_back(std::make_unique<proxy_connection>(proxy.port()));
    holding.back()->send("POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n"
                         "Expect: 100-continue\r\n\r\n");
    auto go_on = holding.back()->read_answer();
    ASSERT_TRUE(go_on);
    ASSERT_EQ(go_on->status, 100u);
  }
  auto refused = exchange(proxy.port(), post("/crm/v3/objects/contacts", many));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503u) << refused->body;
  EXPECT_EQ(refused->header("Retry-After").value_or(""), "1");
  EXPECT_TRUE(api.requests().empty());

  for (auto& c : holding) {
    c->send(std::string(65536, 'n'));
    auto answered = c->read_answer();
    ASSERT_TRUE(answered);
    EXPECT_EQ(answered->status, 200u);
  }
  auto passed = exchange(proxy.port(), post("/crm/v3/objects/contacts", many));
  ASSERT_TRUE(passed);
  EXPECT_EQ(passed->status, 201u) << passed->body;
  EXPECT_EQ(api.requests().size(), 11u);
}

TEST_F(gate_test, bodies_that_cannot_be_read_are_refused_not_forwarded) {
  auto proxy = start();
  const std::pair<std::string, std::vector<std::pair<std::string, std::string>>> cases[] = {
      {R"({"properties":{"email":"a@corp.io"})", {{"Content-Type", "application/json"}}}, // cut off
      {R"({"properties":{"email":"a@corp.io","email":"b@example.com"}})", {{"Content-Type", "application/json"}}},
      {R"({"properties":{"email":["b@example.com"]}})", {{"Content-Type", "application/json"}}},
      {R"({"properties":{"email":"a@corp.io"}})", {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}},
      {R"({"properties":{"email":"a@corp.io"}})", {{"Content-Type", "text/plain"}}},
  };
  for (const auto& [body, headers] : cases) {
    auto answer = exchange(proxy.port(), post("/crm/v3/objects/contacts", body, headers));
    ASSERT_TRUE(answer) << body;
    EXPECT_EQ(answer->status, 400u) << body;
    EXPECT_EQ(json::parse(answer->body)["category"], "VALIDATION_ERROR") << answer->body;
  }
  EXPECT_TRUE(api.requests().empty());
}

TEST_F(gate_test, calls_outside_the_catalog_pass_byte_for_byte_unless_a_rule_is_about_them) {
  auto proxy = start();
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/5?properties=email%2Cfirstname"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  answer =
      exchange(proxy.port(), make_request("PATCH", "/crm/v3/objects/contacts/5", {{"Content-Type", "application/json"}},
                                          R"({"properties":{"email":"x@example.com","a":1,"a":2}})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  answer = exchange(proxy.port(), make_request("DELETE", "/crm/v3/objects/contacts/5"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 405u);
  EXPECT_EQ(json::parse(answer->body)["context"]["rule"], json::array({"no-deletes"}));
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/crm/v3/objects/contacts/5?properties=email%2Cfirstname");
  EXPECT_EQ(seen[1].body, R"({"properties":{"email":"x@example.com","a":1,"a":2}})");
}

// An upstream that sends more than the answer (a second answer no one asked for) must not have it
// taken for the next request's answer: that request, whoever sends it, gets its own, on a new
// connection. Each way an answer is read: relayed as it comes (plain and chunked) and read whole
// (a split batch's, to stitch).
TEST_F(gate_test, bytes_an_upstream_sends_past_its_answer_never_answer_the_next_request) {
  const std::string stray =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"evil\":true}";
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.end(), {"--rules", rules_file_, "--threads", "1"});
  running_proxy proxy(flags);
  for (const std::string_view way : {"plain", "chunked", "split batch"}) {
    SCOPED_TRACE(way);
    api.set_handler([&](const recorded_request& r) {
      if (r.target.starts_with("/next/")) {
        return json_response(200, R"({"target":")" + r.target + R"("})");
      }
      auto answer = json_response(way == "split batch" ? 201 : 200,
                                  way == "split batch" ? R"({"status":"COMPLETE","results":[{"id":"1"}]})" : "{}");
      answer.chunked = way == "chunked";
      answer.chunks_in_one_write = answer.chunked;
      answer.trailing_bytes = stray;
      return answer;
    });
    const std::size_t seen_before = api.requests().size();
    const std::string first_request =
        way == "split batch"
            ? post("/crm/v3/objects/contacts/batch/create",
                   R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@test.com"}}]})")
            : make_request("GET", "/crm/v3/objects/contacts/1");
    auto first = exchange(proxy.port(), first_request);
    ASSERT_TRUE(first);
    EXPECT_LT(first->status, 300u) << first->body;
    EXPECT_EQ(first->body.find("evil"), std::string::npos) << first->body;
    for (int i = 0; i < 3; ++i) {
      const std::string target = "/next/" + std::to_string(i);
      auto next = exchange(proxy.port(), make_request("GET", target));
      ASSERT_TRUE(next);
      EXPECT_EQ(next->status, 200u);
      EXPECT_EQ(next->body, R"({"target":")" + target + R"("})");
    }
    // The tainted connection carried nothing more; the three others shared a fresh one.
    const auto seen = api.requests();
    ASSERT_EQ(seen.size(), seen_before + 4);
    for (std::size_t i = seen_before + 1; i < seen.size(); ++i) {
      EXPECT_NE(seen[i].connection, seen[seen_before].connection) << "the tainted connection was pooled";
      EXPECT_EQ(seen[i].connection, seen[seen_before + 1].connection);
    }
  }
}

TEST_F(gate_test, serve_refuses_an_invalid_rules_file_with_its_position) {
  std::ofstream(rules_file_)
      << "version: 1\nrules:\n  - name: x\n    match: { emial_domain: [a.com] }\n    action: block\n";
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.begin(), "serve");
  flags.insert(flags.begin(), hubgate_binary());
  flags.insert(flags.end(), {"--rules", rules_file_});
  child_process p(flags);
  EXPECT_EQ(p.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(p.output().find(rules_file_ + ":4:14: unknown key 'emial_domain'"), std::string::npos) << p.output();
}

} // namespace
} // namespace hubgate::test
