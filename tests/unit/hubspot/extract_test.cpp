#include "hubgate/hubspot/extract.hpp"

#include "hubgate/hubspot/classify.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace hubgate::hubspot {
namespace {

using props = std::pmr::vector<std::pair<std::string_view, std::string_view>>;

constexpr std::string_view json_type = "application/json";

extraction run(std::string_view method, std::string_view target, std::string_view body,
               std::string_view content_type = json_type) {
  const classification c = classify(method, target);
  EXPECT_TRUE(c.ok()) << c.error;
  EXPECT_NE(c.op, nullptr) << target;
  return extract(c, body, content_type);
}

extraction post(std::string_view target, std::string_view body, std::string_view content_type = json_type) {
  return run("POST", target, body, content_type);
}

// The same with a selection of properties to list (property_selection): every property is read
// and checked all the same.
extraction post_listing(std::string_view target, std::string_view body, const property_selection& listed) {
  const classification c = classify("POST", target);
  return extract(c, body, json_type, listed);
}

// Whether the body is accepted, the same listing every property and listing none (the proxy's
// usual case, where most properties are only skimmed); a test fails when the two disagree.
bool accepted(std::string_view target, std::string_view body) {
  const bool listing_all = post(target, body).ok();
  EXPECT_EQ(post_listing(target, body, property_selection{false, {}}).ok(), listing_all) << body;
  return listing_all;
}

// The first record's email; fails the test (instead of reading past the end) when there is none.
std::optional<std::string> first_email(const extraction& e) {
  EXPECT_TRUE(e.ok()) << e.error;
  EXPECT_FALSE(e.records.empty());
  if (e.records.empty()) {
    return "<no record>";
  }
  return e.records[0].email ? std::optional<std::string>(*e.records[0].email) : std::nullopt;
}

constexpr std::string_view create = "/crm/v3/objects/contacts";
constexpr std::string_view batch_create = "/crm/v3/objects/contacts/batch/create";
constexpr std::string_view batch_upsert = "/crm/v3/objects/contacts/batch/upsert";
constexpr std::string_view v1_create = "/contacts/v1/contact";
constexpr std::string_view v1_batch = "/contacts/v1/contact/batch";

TEST(extract_v3, each_email_is_normalised_once_and_decoded_text_moves_with_the_records) {
  extraction e = post(create, R"({"properties":{"email":" Jo@Test.COM ","firstname":"J\u00f6rg","age":1e2}})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.records[0].email, " Jo@Test.COM ");
  EXPECT_EQ(e.records[0].normalised_email, "jo@test.com");
  EXPECT_EQ(post(create, R"({"properties":{"email":"jo@test.com"}})").records[0].normalised_email, "jo@test.com");
  // Records point at the body and at text the extraction keeps (decoded escapes, numbers): a moved
  // extraction takes that text along.
  const extraction moved = std::move(e);
  EXPECT_EQ(moved.records[0].properties,
            (props{{"email", " Jo@Test.COM "}, {"firstname", "J\xC3\xB6rg"}, {"age", "100.0"}}));
}

TEST(extract_v3, single_create_reads_properties_in_order_and_the_email) {
  // Appendix A capture of crm.contacts.basicApi.create.
  const extraction e = post(create, R"({"associations":[{"types":[{"associationCategory":"HUBSPOT_DEFINED",)"
                                    R"("associationTypeId":279}],"to":{"id":"101"}}],)"
                                    R"("properties":{"email":"a@b.com","firstname":"A"}})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].index, 0U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].properties, (props{{"email", "a@b.com"}, {"firstname", "A"}}));
}

TEST(extract_v3, scalars_become_strings_and_null_is_no_email) {
  const extraction e =
      post(create, R"({"properties":{"age":42,"score":1.5,"big":18446744073709551615,"vip":true,"email":null}})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.records[0].properties,
            (props{{"age", "42"}, {"score", "1.5"}, {"big", "18446744073709551615"}, {"vip", "true"}, {"email", ""}}));
  EXPECT_EQ(e.records[0].email, std::nullopt);
}

TEST(extract_v3, numbers_read_as_re_serialised) {
  const extraction e = post(create, R"({"properties":{"a":1e2,"b":-0,"c":1.50,"d":1E-400,"e":123456789012345678901}})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.records[0].properties,
            (props{{"a", "100.0"}, {"b", "0"}, {"c", "1.5"}, {"d", "0.0"}, {"e", "1.2345678901234568e+20"}}));
  EXPECT_FALSE(post(create, R"({"properties":{"a":1e400}})").ok()) << "beyond a double";
}

TEST(extract_json, escaped_names_and_values_are_read_decoded) {
  const extraction e = post(create, "\xEF\xBB\xBF" R"({"propert\u0069es":{"em\u0061il":"a\u0040b.com","x\/y":"\u00c9"}})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(first_email(e), "a@b.com");
  EXPECT_EQ(e.records[0].properties, (props{{"email", "a@b.com"}, {"x/y", "\xC3\x89"}}));
  // Escapes hide neither a repeat nor a case variant.
  EXPECT_FALSE(post(create, R"({"properties":{"email":"a@b.com","em\u0061il":"c@d.com"}})").ok());
  EXPECT_FALSE(post(create, R"({"properties":{"email":"a@b.com","\u0045MAIL":"c@d.com"}})").ok());
  EXPECT_FALSE(post(create, R"({"properties":{},"\u0050roperties":{"email":"a@b.com"}})").ok());
  EXPECT_FALSE(post(create, R"({"properties":{"email":"a@b.com\ud800"}})").ok()) << "a lone surrogate";
}

TEST(extract_v3, a_property_repeated_in_another_case_among_many_must_agree) {
  std::string many = R"({"properties":{)";
  for (int i = 0; i < 100; ++i) {
    many += "\"p" + std::to_string(i) + "\":\"v" + std::to_string(i) + "\",";
  }
  EXPECT_TRUE(accepted(create, many + R"("P42":"v42"}})"));
  EXPECT_FALSE(accepted(create, many + R"("P42":"other"}})"));
  EXPECT_FALSE(accepted(create, many + R"("Q0":"x","q0":"y"}})"));
  EXPECT_TRUE(accepted(create, many + R"("EMAIL":"a@b.com","Email":" A@B.com"}})"));
  EXPECT_FALSE(accepted(create, many + R"("EMAIL":"a@b.com","Email":"c@b.com"}})"));
  EXPECT_FALSE(accepted(create, many + R"("Z":"1","z":"1","Z ":"2","z":"2"}})")) << "a repeated key";
  EXPECT_FALSE(accepted(create, many + R"("Zz":"1","zZ":"1","ZZ":"2"}})"));
  EXPECT_TRUE(accepted(create, many + R"("Zz":"1","zZ":"1","ZZ":"1","zz":"1"}})"));
}

// A repeat in another case needs a capital letter somewhere in a name, which is looked for eight
// bytes at a time: every position of names of every length up to 20 bytes, and capitals that only
// an escape or the other name spells.
TEST(extract_v3, a_repeat_in_another_case_is_found_wherever_the_capital_is) {
  for (std::size_t length = 1; length <= 20; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      const std::string lower(length, 'q');
      std::string upper = lower;
      upper[at] = 'Q';
      for (const auto& [first, second] : {std::pair{lower, upper}, std::pair{upper, lower}}) {
        const std::string body = R"({"properties":{")" + first + R"(":"1","x":"2",")" + second + R"(":"3"}})";
        EXPECT_FALSE(accepted(create, body)) << body;
        const std::string agreeing = R"({"properties":{")" + first + R"(":"1",")" + second + R"(":"1"}})";
        EXPECT_TRUE(accepted(create, agreeing)) << agreeing;
      }
    }
  }
  EXPECT_FALSE(accepted(create, R"({"properties":{"q":"1","\u0051":"2"}})")) << "an escaped capital";
  EXPECT_TRUE(accepted(create, R"({"properties":{"\u00c9t\u00e9":"1","\u00e9t\u00e9":"2"}})"))
      << "only ASCII letters fold";
}

// When no property is listed, names are skimmed: a name's capital letters are looked for with one
// 16-byte load where the text goes on that far from its start, else byte by byte; the scanner's
// plain maps (json_token::plain_members) and the others take loops of their own. A capital at every
// position of names of every length up to 20 bytes, at every distance from the text's end, in both.
TEST(extract_v3, skimmed_names_are_looked_at_for_capitals_wherever_they_lie) {
  for (std::size_t length = 1; length <= 20; ++length) {
    const std::string lower(length, 'q');
    for (std::size_t at = 0; at < length; ++at) {
      std::string upper = lower;
      upper[at] = 'Q';
      for (std::size_t pad = 0; pad <= 18; ++pad) {
        const std::string end = "}}" + std::string(pad, ' ');
        for (const std::string_view other : {R"("x":"2")", R"("x":2)"}) {
          const std::string clash = R"({"properties":{")" + lower + R"(":"1",)" + std::string(other) + R"(,")" +
                                    upper + R"(":"3")" + end;
          EXPECT_FALSE(accepted(create, clash)) << clash;
          const std::string agreeing = R"({"properties":{")" + lower + R"(":"1",)" + std::string(other) + R"(,")" +
                                       upper + R"(":"1")" + end;
          EXPECT_TRUE(accepted(create, agreeing)) << agreeing;
        }
      }
    }
  }
}

// The skims stop at a name that may spell `email` (`e`, `E` or padding first) and read it; every
// other first byte is skimmed on, in plain maps and in the others.
TEST(extract_v3, skims_stop_at_every_name_that_may_spell_email) {
  for (const std::string_view other : {R"("x":"2")", R"("x":2)"}) {
    for (const std::string_view email : {"email", "EMAIL", "Email", " email", "email ", "eMail"}) {
      const std::string body = R"({"properties":{"a":"1",)" + std::string(other) + R"(,")" + std::string(email) +
                               R"(":"Jo@x.io","z":"2"}})";
      const extraction none = post_listing(create, body, property_selection{false, {}});
      ASSERT_TRUE(none.ok()) << body << ": " << none.error;
      EXPECT_EQ(none.records[0].email, "Jo@x.io") << body;
      EXPECT_EQ(none.records[0].normalised_email, "jo@x.io") << body;
    }
    for (int first = 0x20; first < 0x7F; ++first) {
      if (first == '"' || first == '\\' || first == 'e' || first == 'E' || first == ' ') {
        continue;
      }
      const std::string name = std::string(1, static_cast<char>(first)) + "mail";
      const std::string body = R"({"properties":{")" + name + R"(":"a@b.co",)" + std::string(other) + "}}";
      const extraction none = post_listing(create, body, property_selection{false, {}});
      ASSERT_TRUE(none.ok()) << body << ": " << none.error;
      EXPECT_FALSE(none.records[0].email) << body;
    }
  }
}

// A body of many properties costs n log n to check, not n squared (60,000 took 27 s before).
TEST(extract_v3, many_properties_are_checked_in_reasonable_time) {
  std::string many = R"({"properties":{)";
  for (int i = 0; i < 60000; ++i) {
    many += "\"p" + std::to_string(i) + "\":\"v\",";
  }
  const auto start = std::chrono::steady_clock::now();
  const extraction e = post(create, many + R"("P59999":"w"}})");
  EXPECT_FALSE(e.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(extract_v3, records_list_only_the_selected_properties) {
  const std::vector<std::string> names = {"FirstName", "zip"};
  const std::string_view body = R"({"inputs":[{"properties":{"email":"A@b.com","firstname":"Ann","lastname":"L","zip":90210}},)"
                                R"({"properties":{"FIRSTNAME":"Bo","firstName":"Bo","city":"X"}}]})";
  const extraction selected = post_listing(batch_create, body, property_selection{false, names});
  ASSERT_TRUE(selected.ok()) << selected.error;
  ASSERT_EQ(selected.records.size(), 2U);
  EXPECT_EQ(selected.records[0].properties, (props{{"firstname", "Ann"}, {"zip", "90210"}}));
  EXPECT_EQ(selected.records[0].email, "A@b.com");
  EXPECT_EQ(selected.records[0].normalised_email, "a@b.com");
  EXPECT_EQ(selected.records[1].properties, (props{{"FIRSTNAME", "Bo"}, {"firstName", "Bo"}}));

  const extraction none = post_listing(batch_create, body, property_selection{false, {}});
  ASSERT_TRUE(none.ok()) << none.error;
  EXPECT_TRUE(none.records[0].properties.empty());
  EXPECT_TRUE(none.records[1].properties.empty());
  EXPECT_EQ(none.records[0].normalised_email, "a@b.com");

  const extraction all = post(batch_create, body);
  ASSERT_TRUE(all.ok()) << all.error;
  EXPECT_EQ(all.records[0].properties.size(), 4U);
  EXPECT_EQ(all.records[1].properties.size(), 3U);
}

// Listing fewer properties reads no fewer: every check runs on the ones left out, with the same
// verdict, error and email as when all are listed.
TEST(extract_v3, properties_left_out_of_the_list_are_checked_all_the_same) {
  const std::vector<std::string> firstname = {"firstname"};
  const std::vector<std::pair<std::string_view, bool>> bodies = {
      {R"({"properties":{"email":"a@b.com","EMAIL":"c@d.com"}})", false},
      {R"({"properties":{"EMAIL ":"a@b.com","email":" A@B.com","firstname":"A"}})", true},
      {R"({"properties":{"Company":"x","company":"y","firstname":"A"}})", false},
      {R"({"properties":{"firstname":"A","Company":"x","company":"x"}})", true},
      {R"({"properties":{"FirstName":"A","firstname":"B"}})", false},
      {R"({"properties":{"tags":["a"],"firstname":"A"}})", false},
      {R"({"properties":{"firstname":"A","nested":{"a":1}}})", false},
      {R"({"properties":{"email":"a@b.com, c@d.com"}})", false},
      {R"({"properties":{"score":1e2,"email":"x@y.io","ok":true,"gone":null}})", true},
      {R"({"properties":{"email":12}})", true},
  };
  for (const auto& [body, accepted] : bodies) {
    const extraction all = post(create, body);
    EXPECT_EQ(all.ok(), accepted) << body << ": " << all.error;
    for (const property_selection& listed : {property_selection{false, {}}, property_selection{false, firstname}}) {
      const extraction partial = post_listing(create, body, listed);
      EXPECT_EQ(partial.ok(), all.ok()) << body;
      EXPECT_EQ(partial.error, all.error) << body;
      if (all.ok() && partial.ok()) {
        EXPECT_EQ(partial.records[0].email, all.records[0].email) << body;
        EXPECT_EQ(partial.records[0].normalised_email, all.records[0].normalised_email) << body;
      }
    }
  }
}

TEST(extract_v3, email_property_name_is_case_insensitive) {
  EXPECT_EQ(first_email(post(create, R"({"properties":{"EMAIL":"X@y.com"}})")), "X@y.com");
  EXPECT_EQ(first_email(post(create, R"({"properties":{"Email":"x@y.com","email":" X@Y.com "}})")), "x@y.com");
  const extraction conflict = post(create, R"({"properties":{"email":"a@b.com","EMAIL":"c@d.com"}})");
  EXPECT_FALSE(conflict.ok());
  EXPECT_TRUE(conflict.records.empty());
}

TEST(extract_v3, a_record_without_email_is_still_a_create) {
  const extraction e = post(create, R"({"properties":{"firstname":"A"}})");
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].email, std::nullopt);
  EXPECT_EQ(post(create, R"({"associations":[]})").records.size(), 1U);
}

TEST(extract_v3, batch_create_reads_each_input_with_its_trace_id) {
  const extraction e = post(batch_create, R"({"inputs":[)"
                                          R"({"properties":{"email":"a@b.com"},"objectWriteTraceId":"row-1"},)"
                                          R"({"properties":{"firstname":"B"},"associations":[]},)"
                                          R"({"properties":{"email":"c@d.com"},"objectWriteTraceId":7}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 3U);
  EXPECT_EQ(e.body.item_count, 3U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].object_write_trace_id, "row-1");
  EXPECT_EQ(e.records[1].index, 1U);
  EXPECT_EQ(e.records[1].email, std::nullopt);
  EXPECT_EQ(e.records[1].object_write_trace_id, std::nullopt);
  EXPECT_EQ(e.records[2].index, 2U);
  EXPECT_EQ(e.records[2].object_write_trace_id, "7");
}

TEST(extract_v3, batch_upsert_takes_the_email_from_id_when_id_property_is_email) {
  const extraction e =
      post(batch_upsert, R"({"inputs":[)"
                         R"({"idProperty":"email","id":"a@b.com","properties":{"firstname":"A"}},)"
                         R"({"idProperty":"hs_object_id","id":512,"properties":{"email":"n@b.com"}}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 2U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].id_property, "email");
  EXPECT_EQ(e.records[0].id, "a@b.com");
  EXPECT_EQ(e.records[1].email, "n@b.com");
  EXPECT_EQ(e.records[1].id_property, "hs_object_id");
  EXPECT_EQ(e.records[1].id, "512");
}

TEST(extract_v3, batch_upsert_falls_back_to_the_id_property_query_parameter) {
  const extraction e = post(std::string(batch_upsert) + "?idProperty=email", R"({"inputs":[{"id":"q@b.com"}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(first_email(e), "q@b.com");
  EXPECT_EQ(e.records[0].id_property, "email");
  // Which one a server prefers is unknown: the body's idProperty and the query's must agree.
  const extraction disagree =
      post(std::string(batch_upsert) + "?idProperty=email", R"({"inputs":[{"idProperty":"domain_key","id":"k1"}]})");
  EXPECT_FALSE(disagree.ok());
}

TEST(extract_v3, batch_upsert_with_two_emails_for_one_item_is_refused) {
  EXPECT_FALSE(
      post(batch_upsert, R"({"inputs":[{"idProperty":"email","id":"a@b.com","properties":{"email":"c@d.com"}}]})")
          .ok());
  EXPECT_TRUE(
      post(batch_upsert, R"({"inputs":[{"idProperty":"email","id":"a@b.com","properties":{"email":"A@B.COM"}}]})")
          .ok());
}

TEST(extract_v3, wrong_shapes_are_refused) {
  const std::string_view bad_creates[] = {
      R"({"properties":[{"property":"email","value":"a@b.com"}]})", // v1 shape on a v3 path
      R"({"properties":"email=a@b.com"})",
      R"({"properties":{"email":["a@b.com"]}})",
      R"({"properties":{"email":{"value":"a@b.com"}}})",
      R"({"Properties":{"email":"a@b.com"}})",
      R"({"properties":{},"PROPERTIES":{"email":"a@b.com"}})",
      R"(["properties"])",
      R"("text")",
  };
  for (const std::string_view body : bad_creates) {
    const extraction e = post(create, body);
    EXPECT_FALSE(e.ok()) << body;
    EXPECT_TRUE(e.records.empty()) << body;
  }
  EXPECT_FALSE(post(batch_create, R"({"properties":{"email":"a@b.com"}})").ok());
  EXPECT_FALSE(post(batch_create, R"({"inputs":{"0":{}}})").ok());
  EXPECT_FALSE(post(batch_create, R"({"inputs":["a@b.com"]})").ok());
  EXPECT_FALSE(post(batch_upsert, R"({"inputs":[{"idProperty":"email","id":["a@b.com"]}]})").ok());
  EXPECT_FALSE(post(batch_create, R"({"inputs":[{"properties":{},"objectWriteTraceId":{}}]})").ok());
}

TEST(extract_json, duplicate_keys_at_any_depth_are_refused) {
  EXPECT_FALSE(post(create, R"({"properties":{"email":"a@b.com"},"properties":{"email":"c@d.com"}})").ok());
  EXPECT_FALSE(post(create, R"({"properties":{"email":"a@b.com","email":"c@d.com"}})").ok());
  EXPECT_FALSE(post(create, R"({"properties":{},"x":[{"a":1,"a":1}]})").ok());
  // Large objects go through the hash-set path.
  std::string many = R"({"properties":{)";
  for (int i = 0; i < 100; ++i) {
    many += "\"p" + std::to_string(i) + "\":\"v\",";
  }
  EXPECT_TRUE(post(create, many + R"("email":"a@b.com"}})").ok());
  EXPECT_FALSE(post(create, many + R"("p7":"w"}})").ok());
}

TEST(extract_json, invalid_json_is_refused) {
  const std::string_view bodies[] = {
      "",
      "{",
      R"({"properties":{"email":"a@b.com"}} trailing)",
      R"({"properties":{"email":"a@b.com",}})",
      R"({'properties':{}})",
      R"({"properties":{"email":"a@b.com"}} {"x":1})",
      "{\"properties\":{\"email\":\"a\xFF@b.com\"}}", // not UTF-8
      R"({/*c*/"properties":{}})",
  };
  for (const std::string_view body : bodies) {
    EXPECT_FALSE(post(create, body).ok()) << body;
  }
  // nlohmann's reader stopped at a NUL byte and forwarded whatever followed it unread.
  using namespace std::string_view_literals;
  EXPECT_FALSE(post(create, "{\"properties\":{\"email\":\"a@b.com\"}}\0{\"properties\":{\"email\":\"x@c.com\"}}"sv).ok());
  EXPECT_FALSE(post(create, "{\"properties\":{\"email\":\"a@b.com\"}}\0"sv).ok());
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "[";
  }
  EXPECT_FALSE(post(create, R"({"properties":{},"x":)" + deep).ok());
}

TEST(extract_json, content_type_must_fit_the_shape) {
  const std::string_view body = R"({"properties":{"email":"a@b.com"}})";
  EXPECT_TRUE(post(create, body, "application/json; charset=UTF-8").ok());
  EXPECT_TRUE(post(create, body, "Application/JSON;charset=\"utf-8\"").ok());
  EXPECT_TRUE(post(create, body, "application/vnd.hubspot+json").ok());
  EXPECT_FALSE(post(create, body, "").ok());
  EXPECT_FALSE(post(create, body, "text/plain").ok());
  EXPECT_FALSE(post(create, body, "application/x-www-form-urlencoded").ok());
  EXPECT_FALSE(post(create, body, "application/json; charset=ISO-8859-1").ok());
  EXPECT_FALSE(post(create, body, "application/json; charset=utf-16").ok());
  EXPECT_FALSE(post(create, body, "application/json; charset=utf-8; charset=").ok()) << "every charset is read";
  EXPECT_TRUE(post(create, body, "application/json; charset=us-ascii").ok());
}

// A rule's value may add UTF-8 to a body its client labelled US-ASCII.
TEST(extract_json, a_rewritten_body_labelled_us_ascii_is_labelled_utf_8) {
  EXPECT_EQ(rewritten_content_type("application/json; charset=us-ascii"), "application/json; charset=utf-8");
  EXPECT_EQ(rewritten_content_type("application/json;Charset=\"US-ASCII\";x=1"), "application/json;Charset=\"utf-8\";x=1");
  EXPECT_EQ(rewritten_content_type("application/json; charset=us-ascii; charset=US-ASCII"),
            "application/json; charset=utf-8; charset=utf-8");
  EXPECT_EQ(rewritten_content_type("application/json; charset=UTF-8"), "application/json; charset=UTF-8");
  EXPECT_EQ(rewritten_content_type("application/json"), "application/json");
  EXPECT_EQ(rewritten_content_type("application/json; x=us-ascii"), "application/json; x=us-ascii");
}

TEST(extract, refuses_requests_that_are_not_catalog_operations) {
  EXPECT_FALSE(extract(classify("GET", "/crm/v3/objects/contacts"), "{}", json_type).ok());
  EXPECT_FALSE(extract(classify("post", "/crm/v3/objects/contacts"), "{}", json_type).ok());
}

TEST(extract_v1, create_reads_the_property_array) {
  const extraction e = post(v1_create, R"({"properties":[{"property":"email","value":"a@b.com"},)"
                                       R"({"property":"firstname","value":"A"},{"property":"age","value":30}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].properties, (props{{"email", "a@b.com"}, {"firstname", "A"}, {"age", "30"}}));
}

// v1 reads its array into a map, so a repeat is read by whichever entry HubSpot keeps: refused
// unless both entries agree.
TEST(extract_v1, repeated_email_entries_must_agree) {
  EXPECT_TRUE(post(v1_create, R"({"properties":[{"property":"email","value":"a@b.com"},)"
                              R"({"property":"email","value":"A@B.com"}]})")
                  .ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":[{"property":"email","value":"a@b.com"},)"
                               R"({"property":"EMAIL","value":"c@d.com"}]})")
                   .ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":[{"property":"firstname","value":"A"},)"
                               R"({"property":"firstname","value":"B"}]})")
                   .ok());
}

TEST(extract_v1, wrong_shapes_are_refused) {
  EXPECT_FALSE(post(v1_create, R"({"properties":{"email":"a@b.com"}})").ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":[{"name":"email","value":"a@b.com"}]})").ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":[{"property":1,"value":"a@b.com"}]})").ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":[{"property":"email","value":["a@b.com"]}]})").ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":["email"]})").ok());
  EXPECT_FALSE(post(v1_create, R"({"properties":[{"property":"email","Property":"x","value":"a@b.com"}]})").ok());
}

TEST(extract_v1, create_or_update_takes_the_email_from_the_path) {
  const extraction e = post("/contacts/v1/contact/createOrUpdate/email/a%40b.com",
                            R"({"properties":[{"property":"firstname","value":"A"}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].properties, (props{{"firstname", "A"}}));
  EXPECT_TRUE(post("/contacts/v1/contact/createOrUpdate/email/a@b.com",
                   R"({"properties":[{"property":"email","value":"A@b.com"}]})")
                  .ok());
  EXPECT_FALSE(post("/contacts/v1/contact/createOrUpdate/email/a@b.com",
                    R"({"properties":[{"property":"email","value":"other@b.com"}]})")
                   .ok());
}

TEST(extract_v1, batch_reads_email_and_vid_items) {
  const extraction e = post(v1_batch, R"([{"email":"a@b.com","properties":[{"property":"firstname","value":"A"}]},)"
                                      R"({"vid":"259429","properties":[{"property":"lastname","value":"B"}]},)"
                                      R"({"vid":12,"properties":[{"property":"email","value":"new@b.com"}]}])");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 3U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[1].email, std::nullopt);
  EXPECT_EQ(e.records[1].id_property, "vid");
  EXPECT_EQ(e.records[1].id, "259429");
  EXPECT_EQ(e.records[2].email, "new@b.com");
  EXPECT_EQ(e.records[2].id, "12");
  EXPECT_EQ(e.records[2].index, 2U);
  EXPECT_FALSE(post(v1_batch, R"({"inputs":[]})").ok());
  EXPECT_FALSE(post(v1_batch, R"([{"email":"a@b.com","properties":[{"property":"email","value":"c@d.com"}]}])").ok());
  EXPECT_FALSE(post(v1_batch, R"(["a@b.com"])").ok());
}

constexpr std::string_view forms_v3 = "/submissions/v3/integration/submit/123/guid";

TEST(extract_forms, v3_fields_with_context_and_consent) {
  const extraction e = post(forms_v3, R"({"submittedAt":"1700000000000","fields":[)"
                                      R"({"objectTypeId":"0-1","name":"email","value":"a@b.com"},)"
                                      R"({"objectTypeId":"0-1","name":"firstname","value":"A"},)"
                                      R"({"name":"interests","value":"x"},{"name":"interests","value":"y"}],)"
                                      R"("context":{"hutk":"h","pageUri":"u"},)"
                                      R"("legalConsentOptions":{"consent":{"consentToProcess":true}}})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  // A repeated field is a multi-value field: both values are kept.
  EXPECT_EQ(e.records[0].properties,
            (props{{"email", "a@b.com"}, {"firstname", "A"}, {"interests", "x"}, {"interests", "y"}}));
}

TEST(extract_forms, a_field_named_with_the_contact_type_is_that_contact_property) {
  // HubSpot's newer forms editor names fields `objectTypeId/property`.
  const extraction e = post(forms_v3, R"({"fields":[{"name":"0-1/email","value":"a@b.com"},)"
                                      R"({"name":" 00-01/LifecycleStage","value":"lead"},)"
                                      R"({"name":"0-2/name","value":"Acme"},{"name":"10-1/x","value":"y"}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].properties,
            (props{{"email", "a@b.com"}, {"LifecycleStage", "lead"}, {"0-2/name", "Acme"}, {"10-1/x", "y"}}));
  // Two emails, however each is named, are two emails.
  EXPECT_FALSE(
      post(forms_v3, R"({"fields":[{"name":"email","value":"a@b.com"},{"name":"0-1/email","value":"c@d.com"}]})").ok());
  const extraction v2 = post("/uploads/form/v2/1/g", "0-1%2Femail=a%40b.com&firstname=A", "application/x-www-form-urlencoded");
  ASSERT_TRUE(v2.ok()) << v2.error;
  EXPECT_EQ(v2.records[0].email, "a@b.com");
  // An object type written other than in ASCII digits may be the contact's to a lenient reader.
  for (const std::string_view name : {"+0-1/email", "0-+1/email", "\xEF\xBC\x90-\xEF\xBC\x91/email",
                                      "\xD9\xA0-\xD9\xA1/email"}) {
    const extraction refused =
        post(forms_v3, R"({"fields":[{"name":")" + std::string(name) + R"(","value":"a@b.com"}]})");
    EXPECT_FALSE(refused.ok()) << name;
  }
  EXPECT_FALSE(post("/uploads/form/v2/1/g", "%2B0-1%2Femail=a%40b.com", "application/x-www-form-urlencoded").ok());
  // So is it in v1 entries and a send's property array: a server knowing the prefix from its
  // forms may read it there too.
  const extraction v1 = post("/contacts/v1/contact", R"({"properties":[{"property":"0-1/email","value":"a@b.com"}]})");
  ASSERT_TRUE(v1.ok()) << v1.error;
  EXPECT_EQ(v1.records[0].email, "a@b.com");
  EXPECT_FALSE(post("/contacts/v1/contact", R"({"properties":[{"property":"+0-1/email","value":"a@b.com"}]})").ok());
  // `+` at a name's ends is a form's space to a server decoding once too often: such a name is
  // read as `email` wherever it names one, so that the rules see the address.
  for (const auto& [path, body, type] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/crm/v3/objects/contacts", R"({"properties":{"+email":"a@b.com"}})", "application/json"},
           {"/crm/v3/objects/contacts", R"({"properties":{"email+ ":"a@b.com"}})", "application/json"},
           {"/contacts/v1/contact", R"({"properties":[{"property":"+email","value":"a@b.com"}]})", "application/json"},
           {"/uploads/form/v2/1/g", "email%2B=a%40b.com", "application/x-www-form-urlencoded"}}) {
    const extraction plus = post(path, body, type);
    ASSERT_TRUE(plus.ok()) << plus.error;
    EXPECT_EQ(plus.records[0].email, "a@b.com") << body;
    if (type == "application/json") {
      // The same where the rules list no property, and the map's usual names are only skimmed.
      const extraction skimmed = post_listing(path, body, property_selection{false, {}});
      ASSERT_TRUE(skimmed.ok()) << skimmed.error;
      EXPECT_EQ(skimmed.records[0].email, "a@b.com") << body;
    }
  }
  // A map's names hold no object type: one written with the contact's is refused, not read as
  // `email` by one reader and as another name by another (padded, or in another digit too).
  for (const std::string_view name :
       {"0-1/email", " 0-1/email", "00-01/hubspot_owner_id", "\xEF\xBC\x90-1/email", "+0-1/email"}) {
    const extraction typed =
        post("/crm/v3/objects/contacts", R"({"properties":{")" + std::string(name) + R"(":"a@b.com"}})");
    EXPECT_FALSE(typed.ok()) << name;
  }
  const extraction other_object = post("/crm/v3/objects/contacts", R"({"properties":{"0-2/email":"a@b.com"}})");
  ASSERT_TRUE(other_object.ok()) << other_object.error;
  EXPECT_EQ(other_object.records[0].email, std::nullopt);
  // A form field names its object by objectTypeId and by its name: the two agree, or it is refused.
  EXPECT_TRUE(post(forms_v3, R"({"fields":[{"objectTypeId":"0-1","name":"0-1/email","value":"a@b.com"}]})").ok());
  EXPECT_TRUE(post(forms_v3, R"({"fields":[{"objectTypeId":"0-2","name":"0-2/name","value":"Acme"}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"objectTypeId":"0-1","name":"0-2/email","value":"a@b.com"}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"objectTypeId":"0-2","name":"0-1/email","value":"a@b.com"}]})").ok());
  // An objectTypeId a lenient reader may take for the contact's, whatever the name.
  for (const std::string_view type :
       {R"(" 0-1")", R"("+0-1")", R"("0-1 ")", R"("0-1\u0000")", "\"\xEF\xBC\x90-1\"", R"("00-1x")", R"("CONTACT")"}) {
    for (const std::string_view name : {"0-2/email", "email", "firstname"}) {
      EXPECT_FALSE(post(forms_v3, R"({"fields":[{"objectTypeId":)" + std::string(type) + R"(,"name":")" +
                                      std::string(name) + R"(","value":"a@b.com"}]})")
                       .ok())
          << type << " " << name;
    }
  }
  // A field of another object named bare is that object's, as HubSpot reads it: read as its typed
  // spelling, which no contact rule meets, and no repeat of the contact's field of that name. But
  // an `email` so named is refused: a reader that goes by names would take it for the contact's.
  const extraction multi_object = post(forms_v3, R"({"fields":[{"objectTypeId":"0-1","name":"email","value":"a@b.com"},)"
                                                 R"({"objectTypeId":null,"name":"firstname","value":"A"},)"
                                                 R"({"objectTypeId":"0-1","name":"country","value":"France"},)"
                                                 R"({"objectTypeId":"0-2","name":"Country","value":"Germany"},)"
                                                 R"({"objectTypeId":"2-123456","name":"lifecyclestage","value":"x"}]})");
  ASSERT_TRUE(multi_object.ok()) << multi_object.error;
  ASSERT_EQ(multi_object.records.size(), 1U);
  EXPECT_EQ(multi_object.records[0].email, "a@b.com");
  std::vector<std::string> names;
  for (const auto& [name, value] : multi_object.records[0].properties) {
    names.push_back(std::string(name) + "=" + std::string(value));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"email=a@b.com", "firstname=A", "country=France", "0-2/Country=Germany",
                                             "2-123456/lifecyclestage=x"}));
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"objectTypeId":"0-2","name":"email","value":"a@b.com"}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"objectTypeId":"0-2","name":" EMAIL","value":"a@b.com"}]})").ok());
}

TEST(extract_forms, v3_refuses_two_emails_and_non_scalar_values) {
  EXPECT_FALSE(
      post(forms_v3, R"({"fields":[{"name":"email","value":"a@b.com"},{"name":"email","value":"c@d.com"}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"name":"email","value":["a@b.com"]}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":{"email":"a@b.com"}})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"value":"a@b.com"}]})").ok());
  EXPECT_FALSE(post(forms_v3, "email=a%40b.com", "application/x-www-form-urlencoded").ok());
}

TEST(extract_forms, v2_urlencoded_pairs_without_hs_context) {
  const extraction e = post("/uploads/form/v2/123/guid",
                            "email=a%40b.com&firstname=Ann+Lee&hs_context=%7B%22hutk%22%3A%22h%22%7D&&empty=",
                            "application/x-www-form-urlencoded; charset=utf-8");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].properties, (props{{"email", "a@b.com"}, {"firstname", "Ann Lee"}, {"empty", ""}}));
  EXPECT_EQ(e.body.form.size(), 4U);
}

TEST(extract_forms, v2_refuses_bad_encoding_conflicts_and_other_content_types) {
  constexpr std::string_view urlencoded = "application/x-www-form-urlencoded";
  EXPECT_FALSE(post("/uploads/form/v2/1/g", "email=a%4", urlencoded).ok());
  EXPECT_FALSE(post("/uploads/form/v2/1/g", "email=a%40b.com&EMAIL=c%40d.com", urlencoded).ok());
  EXPECT_FALSE(post("/uploads/form/v2/1/g", R"({"email":"a@b.com"})").ok());
  EXPECT_FALSE(post("/uploads/form/v2/1/g", "--b\r\n", "multipart/form-data; boundary=b").ok());
  EXPECT_TRUE(post("/submissions/v2/post/upload/secure/1/g", "email=a%40b.com", urlencoded).ok());
}

TEST(extract_sends, transactional_send_reads_message_to_and_contact_properties) {
  // Appendix A capture of marketing.transactional.singleSendApi.sendEmail.
  const extraction e = post("/marketing/v3/transactional/single-email/send",
                            R"({"emailId":1,"message":{"to":"new@x.com"},"contactProperties":{"firstname":"N"}})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 1U);
  EXPECT_EQ(e.records[0].email, "new@x.com");
  EXPECT_EQ(e.records[0].properties, (props{{"firstname", "N"}}));
}

TEST(extract_sends, legacy_send_takes_contact_properties_as_a_name_value_array) {
  const extraction e =
      post("/email/public/v1/singleEmail/send",
           R"({"emailId":1,"message":{"to":"n@x.com"},"contactProperties":[{"name":"firstname","value":"N"}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.records[0].properties, (props{{"firstname", "N"}}));
  EXPECT_EQ(e.body.properties, parsed_body::container::name_value_array);
}

TEST(extract_sends, marketing_send_and_refusals) {
  EXPECT_EQ(first_email(post("/marketing/v4/email/single-send", R"({"emailId":1,"message":{"to":"m@x.com"}})")),
            "m@x.com");
  EXPECT_FALSE(post("/marketing/v4/email/single-send", R"({"message":{"to":["m@x.com"]}})").ok());
  EXPECT_FALSE(post("/marketing/v4/email/single-send", R"({"message":"m@x.com"})").ok());
  EXPECT_FALSE(
      post("/marketing/v4/email/single-send", R"({"message":{"to":"m@x.com"},"contactProperties":{"email":"o@x.com"}})")
          .ok());
  EXPECT_FALSE(post("/marketing/v4/email/single-send", R"({"message":{"to":"m@x.com"},"contactProperties":"x"})").ok());
}

TEST(extract_sends, smtp_token_is_a_record_only_when_it_creates_contacts) {
  constexpr std::string_view path = "/marketing/v3/transactional/smtp-tokens";
  const extraction creates = post(path, R"({"createContact":true,"campaignName":"c"})");
  ASSERT_TRUE(creates.ok()) << creates.error;
  ASSERT_EQ(creates.records.size(), 1U);
  EXPECT_EQ(creates.records[0].email, std::nullopt);
  EXPECT_EQ(creates.records[0].properties, (props{{"createContact", "true"}, {"campaignName", "c"}}));
  EXPECT_EQ(post(path, R"({"createContact":false,"campaignName":"c"})").records.size(), 0U);
  EXPECT_EQ(post(path, R"({"campaignName":"c"})").records.size(), 0U);
  // A JVM binder coerces these to true.
  EXPECT_EQ(post(path, R"({"createContact":"TRUE","campaignName":"c"})").records.size(), 1U);
  EXPECT_EQ(post(path, R"({"createContact":1,"campaignName":"c"})").records.size(), 1U);
  EXPECT_FALSE(post(path, R"({"createContact":"yes"})").ok());
  EXPECT_FALSE(post(path, R"({"createContact":{}})").ok());
}

TEST(extract_events, marketing_event_email_create_reads_inputs) {
  const extraction e = post("/marketing/v3/marketing-events/attendance/ev/attend/email-create",
                            R"({"inputs":[{"email":"a@b.com","interactionDateTime":1700000000000,"properties":{},)"
                            R"("contactProperties":{"firstname":"A"}},{"email":"c@d.com"}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 2U);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[0].properties, (props{{"firstname", "A"}}));
  EXPECT_EQ(e.records[1].email, "c@d.com");
  EXPECT_EQ(e.records[1].index, 1U);
  EXPECT_FALSE(
      post("/marketing/v3/marketing-events/attendance/ev/attend/email-create", R"({"inputs":[{"email":[]}]})").ok());
}

TEST(extract_events, timeline_events_yield_a_record_only_with_an_email) {
  const extraction one =
      post("/integrators/timeline/v3/events", R"({"eventTemplateId":"1001298","email":"a@b.com","tokens":{"k":"v"}})");
  ASSERT_TRUE(one.ok()) << one.error;
  ASSERT_EQ(one.records.size(), 1U);
  EXPECT_EQ(one.records[0].email, "a@b.com");
  EXPECT_TRUE(one.records[0].properties.empty());
  EXPECT_EQ(post("/integrators/timeline/v3/events", R"({"eventTemplateId":"1","objectId":"5"})").records.size(), 0U);

  const extraction batch = post("/integrators/timeline/v3/events/batch/create",
                                R"({"inputs":[{"email":"a@b.com"},{"utk":"u"},{"email":"c@d.com"}]})");
  ASSERT_TRUE(batch.ok()) << batch.error;
  ASSERT_EQ(batch.records.size(), 2U);
  EXPECT_EQ(batch.records[0].index, 0U);
  EXPECT_EQ(batch.records[1].index, 2U);
  EXPECT_EQ(batch.body.item_count, 3U);

  const extraction legacy = run("PUT", "/integrations/v1/7/timeline/event/batch",
                                R"({"eventWrappers":[{"id":"1","eventTypeId":"2","email":"a@b.com"}]})");
  ASSERT_TRUE(legacy.ok()) << legacy.error;
  EXPECT_EQ(legacy.records.size(), 1U);
  EXPECT_FALSE(run("PUT", "/integrations/v1/7/timeline/event/batch", R"({"inputs":[]})").ok());
}

TEST(extract_events, custom_event_sends) {
  EXPECT_EQ(first_email(post("/events/v3/send", R"({"eventName":"pe123_evt","email":"new@x.com","properties":{}})")),
            "new@x.com");
  EXPECT_EQ(post("/events/v3/send/batch", R"({"inputs":[{"eventName":"e","email":"a@b.com"}]})").records.size(), 1U);
  EXPECT_FALSE(post("/events/v3/send", R"({"email":{"a":1}})").ok());
}

TEST(extract_other, visitor_identification_and_meetings_read_the_flat_contact) {
  const extraction e =
      post("/visitor-identification/v3/tokens/create", R"({"email":"v@x.com","firstName":"V","lastName":"W"})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.records[0].email, "v@x.com");
  EXPECT_EQ(e.records[0].properties, (props{{"firstName", "V"}, {"lastName", "W"}}));
  const extraction m = post("/scheduler/v3/meetings/meeting-links/book",
                            R"({"slug":"s","email":"b@x.com","firstName":"B","formFields":[],"startTime":"t"})");
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_EQ(m.records[0].email, "b@x.com");
  EXPECT_FALSE(post("/visitor-identification/v3/tokens/create", R"({"Email":"v@x.com"})").ok());
}

TEST(extract_integrity, padded_email_property_names_name_the_email) {
  EXPECT_EQ(first_email(post(create, R"({"properties":{"Email ":"a@b.com"}})")), "a@b.com");
  EXPECT_FALSE(post(create, R"({"properties":{"email":"a@b.com"," EMAIL":"c@d.com"}})").ok());
  // Padding is whatever a server might trim: control bytes (Java's String.trim), Unicode spaces,
  // zero-width spaces and the byte order mark, escaped or as UTF-8.
  for (const std::string_view name : {R"(email\u0000)", R"(\u0001email)", R"(email\n)", R"(\ufeffemail)",
                                      "\xEF\xBB\xBF" "email", "email\xC2\xA0", R"(email\u200b)", "\xE3\x80\x80" "Email"}) {
    EXPECT_EQ(first_email(post(create, R"({"properties":{")" + std::string(name) + R"(":"bad@blocked.test"}})")),
              "bad@blocked.test")
        << name;
    // In a batch too, where the names are skimmed unless one may need a closer look. (The
    // records point into the body: it outlives the extraction.)
    const std::string batch_body =
        R"({"inputs":[{"properties":{"firstname":"A","lastname":"B",")" + std::string(name) + R"(":"bad@blocked.test"}}]})";
    const extraction batch = post("/crm/v3/objects/contacts/batch/create", batch_body);
    ASSERT_TRUE(batch.ok()) << batch.error;
    EXPECT_EQ(first_email(batch), "bad@blocked.test") << name;
  }
  // Other names with padding are the same property: two values for one name are refused.
  EXPECT_FALSE(post(create, R"({"properties":{"firstname":"a","firstname ":"b"}})").ok());
  EXPECT_FALSE(post("/crm/v3/objects/contacts/batch/create",
                    R"({"inputs":[{"properties":{"lastname":"x","firstname":"a","firstname\u00a0":"b"}}]})")
                   .ok());
  EXPECT_TRUE(post(create, R"({"properties":{"firstname":"a","firstname ":"a"}})").ok());
}

TEST(extract_integrity, a_form_field_a_rule_reads_carries_one_value) {
  // Forms may repeat a field (several values); which one HubSpot keeps is unknown, so a field
  // the rules read may repeat only with the same value. Others stay free.
  const std::vector<std::string> read = {"lifecyclestage"};
  const property_selection rules_read{false, read};
  const auto form = [&](std::string_view target, std::string_view body, std::string_view type) {
    return extract(classify("POST", target), body, type, rules_read);
  };
  constexpr std::string_view urlencoded = "application/x-www-form-urlencoded";
  EXPECT_FALSE(form("/uploads/form/v2/1/g", "email=a%40b.com&lifecyclestage=lead&LIFECYCLESTAGE%20=customer", urlencoded).ok());
  EXPECT_TRUE(form("/uploads/form/v2/1/g", "email=a%40b.com&lifecyclestage=lead&lifecyclestage=lead", urlencoded).ok());
  EXPECT_TRUE(form("/uploads/form/v2/1/g", "email=a%40b.com&phone=1&phone=2", urlencoded).ok());
  const std::string v3 = R"({"fields":[{"name":"email","value":"a@b.com"},{"name":"lifecyclestage","value":"lead"},)"
                         R"({"name":"lifecyclestage","value":"customer"}]})";
  EXPECT_FALSE(form("/submissions/v3/integration/submit/1/g", v3, "application/json").ok());
  const std::string v3_free = R"({"fields":[{"name":"email","value":"a@b.com"},{"name":"hobby","value":"a"},)"
                              R"({"name":"hobby","value":"b"}]})";
  EXPECT_TRUE(form("/submissions/v3/integration/submit/1/g", v3_free, "application/json").ok());
}

// A name with a folding alias (`lıfecyclestage`) is the name it spells: listed for the rules that
// read that name, and a repeat of it with another value is refused, however long the name.
TEST(extract_integrity, a_name_with_a_folding_alias_is_the_name_it_spells) {
  const std::vector<std::string> names = {"lifecyclestage", "hs_marketable_status"};
  const property_selection listed{false, names};
  const extraction read = post_listing(create, R"({"properties":{"email":"a@b.io","l\u0131fecyclestage":"customer"}})", listed);
  ASSERT_TRUE(read.ok()) << read.error;
  ASSERT_EQ(read.records[0].properties.size(), 1u);
  EXPECT_EQ(read.records[0].properties[0].second, "customer");
  for (const std::string_view body :
       {R"({"properties":{"lifecyclestage":"lead","l\u0131fecyclestage":"customer"}})",
        "{\"properties\":{\"lifecyclestage\":\"lead\",\"l\xC4\xB1" "fecyclestage\":\"customer\"}}",
        "{\"properties\":{\"hs_marketable_status\":\"false\",\"hs_marketable_\xC5\xBFtatus\":\"true\"}}"}) {
    for (const bool all : {true, false}) {
      const extraction e = post_listing(create, body, property_selection{all, names});
      EXPECT_FALSE(e.ok()) << body;
      EXPECT_NE(e.error.find("given twice"), std::string::npos) << e.error;
    }
  }
  const std::string v1 = R"({"properties":[{"property":"lifecyclestage","value":"lead"},)"
                         R"({"property":"L\u0130FECYCLESTAGE","value":"customer"}]})";
  EXPECT_FALSE(post(v1_create, v1).ok());
  EXPECT_FALSE(extract(classify("POST", "/uploads/form/v2/1/g"), "lifecyclestage=lead&l%C4%B1fecyclestage=customer",
                       "application/x-www-form-urlencoded", listed)
                   .ok());
}

// An entry of a name/value array names its property once: with both "property" (v1) and "name"
// (forms, sends), a server taking either for the other would read the one hubgate did not.
TEST(extract_integrity, an_entry_naming_two_properties_is_refused) {
  const extraction v1 = post(v1_create, R"({"properties":[{"property":"firstname","name":"email","value":"x@b.io"}]})");
  EXPECT_FALSE(v1.ok());
  EXPECT_NE(v1.error.find("both \"property\" and \"name\""), std::string::npos) << v1.error;
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"name":"firstname","property":"email","value":"x@b.io"}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"name":"email","Property":"firstname","value":"x@b.io"}]})").ok());
  EXPECT_FALSE(post(forms_v3, R"({"fields":[{"name":"email","property":5,"value":"x@b.io"}]})").ok());
  // Both naming the same property say one thing.
  const extraction same = post(v1_create, R"({"properties":[{"property":"email","name":"email","value":"x@b.io"}]})");
  ASSERT_TRUE(same.ok()) << same.error;
  EXPECT_EQ(same.records[0].normalised_email, "x@b.io");
}

TEST(extract_integrity, a_padded_member_name_is_ambiguous_with_the_member) {
  // A trimming deserialiser would read `properties ` as `properties`, and find the email in it.
  for (const std::string_view body : {R"({"properties ":{"email":"bad@blocked.test"}})",
                                      R"({"\u0000properties":{"email":"bad@blocked.test"}})",
                                      "{\"properties\xC2\xA0\":{\"email\":\"bad@blocked.test\"}}"}) {
    const extraction e = post(create, body);
    EXPECT_FALSE(e.ok()) << body;
    EXPECT_NE(e.error.find("ambiguous"), std::string::npos) << e.error;
  }
  EXPECT_FALSE(post("/crm/v3/objects/contacts/batch/upsert",
                    R"({"inputs":[{"idProperty ":"email","id":"bad@blocked.test","properties":{}}]})")
                   .ok());
}

TEST(extract_integrity, an_email_that_is_not_one_plain_address_is_refused) {
  for (const std::string_view email : {"ok@corp.io, bad@blocked.test", "Bad <bad@blocked.test>", "bad@blocked.test;x@y.z",
                                       "bad @blocked.test", "bad@blocked.test\\u0000.corp.io", "bad@bl\tocked.test",
                                       // RFC 5322 quoting, comments, address literals, a group or a URI
                                       R"(\"bad\"@blocked.test)", "bad(c)@blocked.test", "bad@(c)blocked.test",
                                       "bad@[blocked.test]", "mailto:bad@blocked.test", R"(bad\\x@blocked.test)",
                                       // two `@`s: split at the first or the last?
                                       "bad@blocked.test@corp.io", "bad@corp.io@blocked.test", "a@@corp.io"}) {
    const extraction e = post(create, R"({"properties":{"email":")" + std::string(email) + R"("}})");
    EXPECT_FALSE(e.ok()) << email;
  }
  EXPECT_TRUE(post(create, R"({"properties":{"email":"  a@b.com\t"}})").ok());
  // The bytes that are fine in an address stay fine, on the short path and the 16-byte one.
  for (const std::string_view email : {"o'brien@corp.io", "a#b$c%d&e=f@corp.io", "o'brien.the-long-one@corp.io",
                                       "srs=x=y+tag@corp.io"}) {
    const std::string body = R"({"properties":{"email":")" + std::string(email) + R"("}})";
    const extraction e = post(create, body);
    ASSERT_TRUE(e.ok()) << email << ": " << e.error;
    EXPECT_EQ(e.records[0].normalised_email, email);
  }
}

// A value that differs from one a rule compares its property with only in letter case or padding
// is refused (property_selection::compared), in every body shape; exact values, other values and
// other properties pass.
TEST(extract_integrity, a_near_miss_of_a_value_a_rule_compares_is_refused) {
  compared_values compared;
  compared.add("lifecyclestage", "customer");
  compared.add("hs_marketable_status", "true");
  compared.add("hs_marketable_status", "TRUE");
  const std::vector<std::string> names = {"lifecyclestage", "hs_marketable_status"};
  for (const bool all : {true, false}) {
    const property_selection listed{all, names, &compared};
    const auto v3 = [&](std::string_view name, std::string_view value) {
      const std::string body = R"({"properties":{"email":"a@b.io",")" + std::string(name) + R"(":")" +
                               std::string(value) + R"("}})";
      return post_listing(create, body, listed).ok();
    };
    EXPECT_TRUE(v3("lifecyclestage", "customer"));
    EXPECT_TRUE(v3("lifecyclestage", "lead"));
    EXPECT_TRUE(v3("lifecyclestage", "Lead"));
    EXPECT_TRUE(v3("lifecyclestage", "lead;opportunity"));
    EXPECT_TRUE(v3("lifecyclestage", "customers"));
    EXPECT_TRUE(v3("hs_marketable_status", "TRUE")); // a rule names this spelling too
    EXPECT_TRUE(v3("firstname", "Customer"));        // no rule compares firstname
    for (const std::string_view near : {"Customer", "CUSTOMER", " customer", "customer\\u00a0", "\\u200bcustomer",
                                        "customer\\u0000", "lead;customer", ";customer", "customer;", "lead; Customer"}) {
      EXPECT_FALSE(v3("lifecyclestage", near)) << near;
      EXPECT_FALSE(v3("LifecycleStage ", near)) << near;
    }
    EXPECT_FALSE(v3("hs_marketable_status", "True"));
    const std::string v1 = R"({"properties":[{"property":"email","value":"a@b.io"},)"
                           R"({"property":"lifecyclestage","value":"Customer"}]})";
    const extraction refused_v1 = post_listing("/contacts/v1/contact", v1, listed);
    EXPECT_FALSE(refused_v1.ok());
    EXPECT_NE(refused_v1.error.find("\"lifecyclestage\" differs from one a rule compares it with"), std::string::npos)
        << refused_v1.error;
    const classification form = classify("POST", "/uploads/form/v2/1/g");
    EXPECT_FALSE(extract(form, "email=a%40b.io&lifecyclestage=customer%20", "application/x-www-form-urlencoded", listed).ok());
    EXPECT_TRUE(extract(form, "email=a%40b.io&lifecyclestage=customer", "application/x-www-form-urlencoded", listed).ok());
  }
}

// An internationalised domain is read as IDNA reads it, in its one ASCII form; one IDNA refuses
// is refused, whatever NFKC alone or a lax punycode decoder would make of it.
TEST(extract_integrity, an_internationalised_domain_is_read_in_its_idna_form_or_refused) {
  const auto body_of = [](std::string_view email) { return R"({"properties":{"email":")" + std::string(email) + R"("}})"; };
  const std::pair<std::string_view, std::string_view> read[] = {
      {"jo@B\u00dcCHER.de", "jo@xn--bcher-kva.de"},
      {"jo@xn--bcher-kva.de", "jo@xn--bcher-kva.de"},
      {"jo@XN--BCHER-KVA.DE", "jo@xn--bcher-kva.de"},
      {"jo@mail.xn--bcher-kva.de", "jo@mail.xn--bcher-kva.de"},
      {"bad@\\ud835\\udc1blocked.test", "bad@blocked.test"}, // MATHEMATICAL BOLD SMALL B
      {"bad@\u24d1locked.test", "bad@blocked.test"},        // CIRCLED LATIN SMALL LETTER B
      {"jo@fa\u00df.de", "jo@fass.de"},                     // transitional, as IDNA2003 reads it
      {"jo-smith@my-corp.io", "jo-smith@my-corp.io"},        // a hyphen alone is no ACE label
  };
  for (const auto& [email, normalised] : read) {
    const std::string body = body_of(email);
    const extraction e = post(create, body);
    ASSERT_TRUE(e.ok()) << email << ": " << e.error;
    EXPECT_EQ(e.records[0].normalised_email, normalised) << email;
  }
  for (const std::string_view email : {"bad@blocked\u2024test",    // ONE DOT LEADER: NFKC reads `.`
                                       "bad@blocked\ufe52test",    // SMALL FULL STOP: the same
                                       "bad@xn--blocked-.test",     // punycode of plain ASCII
                                       "bad@xn--.test", "bad@xn--a.test", "bad@sub.xn--blocked-.test"}) {
    const std::string body = body_of(email);
    const extraction e = post(create, body);
    EXPECT_FALSE(e.ok()) << email;
    EXPECT_NE(e.error.find("IDNA"), std::string::npos) << e.error;
  }
}

TEST(extract_integrity, a_batch_longer_than_any_hubspot_takes_is_refused) {
  const auto batch_of = [](std::size_t n) {
    std::string body = R"({"inputs":[)";
    for (std::size_t i = 0; i < n; ++i) {
      body += i == 0 ? "{}" : ",{}";
    }
    return body + "]}";
  };
  EXPECT_TRUE(post("/crm/v3/objects/contacts/batch/create", batch_of(1000)).ok());
  const extraction e = post("/crm/v3/objects/contacts/batch/create", batch_of(1001));
  EXPECT_FALSE(e.ok());
  EXPECT_NE(e.error.find("1001 items"), std::string::npos) << e.error;
  std::string v1 = "[";
  for (int i = 0; i < 1001; ++i) {
    v1 += i == 0 ? R"({"email":"a@b.com","properties":[]})" : R"(,{"email":"a@b.com","properties":[]})";
  }
  EXPECT_FALSE(post("/contacts/v1/contact/batch", v1 + "]").ok());
}

TEST(extract_integrity, an_email_whose_domain_is_no_host_name_is_refused) {
  // Short addresses take the long way, long ones (16 bytes and more) the 16-byte one: both refuse.
  for (const std::string_view email : {"jo@example.com/x", "a.long.name@example.com/extra", "jo@exa_mple.com",
                                       "a.long.name@exa_mple.com", "jo@example..com", "a.long.name@example..com",
                                       "Jo@Example..com", "a.long.name@.example.com"}) {
    const extraction e = post(create, R"({"properties":{"email":")" + std::string(email) + R"("}})");
    EXPECT_FALSE(e.ok()) << email;
    EXPECT_NE(e.error.find("not a host name"), std::string::npos) << e.error;
  }
  // The v1 path's email, where a router that cut the path at `/` would read `example.com`.
  const extraction v1 = post("/contacts/v1/contact/createOrUpdate/email/jo%40example.com%2Fextra", R"({"properties":[]})");
  EXPECT_FALSE(v1.ok());
  // No domain at all names none a rule could miss: HubSpot answers it.
  for (const std::string_view email : {"jo", "jo@", "a.long.name.without.at"}) {
    const extraction e = post(create, R"({"properties":{"email":")" + std::string(email) + R"("}})");
    EXPECT_TRUE(e.ok()) << email << ": " << e.error;
  }
}

// Addresses of 16 bytes or more are checked 16 bytes at a time: every byte that changes an
// address or makes it more than one, at every position of addresses of 16 to 40 bytes, must
// still be found there (lengths around the block edges, the last block overlapping the one before).
TEST(extract_integrity, long_addresses_are_normalised_and_checked_at_every_position) {
  // The records point into the body: each body is a named string that outlives its extraction.
  const auto body_of = [](const std::string& email) { return R"({"properties":{"email":")" + email + R"("}})"; };
  for (std::size_t length = 16; length <= 40; ++length) {
    // `user…@corp.io`, `length` bytes long.
    const std::string plain = std::string(length - 8, 'u') + "@corp.io";
    const std::string plain_body = body_of(plain);
    const extraction as_is = post(create, plain_body);
    ASSERT_TRUE(as_is.ok()) << plain << ": " << as_is.error;
    EXPECT_EQ(as_is.records[0].normalised_email, plain);
    for (std::size_t at = 1; at + 1 < length; ++at) {
      std::string capital = plain;
      if (capital[at] >= 'a' && capital[at] <= 'z') {
        capital[at] = static_cast<char>(capital[at] - 'a' + 'A');
      }
      const std::string capital_body = body_of(capital);
      const extraction upper = post(create, capital_body);
      ASSERT_TRUE(upper.ok()) << capital << ": " << upper.error;
      EXPECT_EQ(upper.records[0].normalised_email, plain) << capital;
      for (const std::string_view odd : {" ", ",", ";", "<", ">", "\\u007f", "\\u0001", "\\t", "(", ")", "\\\"", "[", "]",
                                         "\\\\", ":"}) {
        const std::string body = body_of(plain.substr(0, at) + std::string(odd) + plain.substr(at));
        EXPECT_FALSE(post(create, body).ok()) << body;
      }
      // A second `@` is refused wherever it is; a hyphen is fine.
      const std::string second_at = body_of(plain.substr(0, at) + "@" + plain.substr(at));
      EXPECT_FALSE(post(create, second_at).ok()) << second_at;
      const std::string hyphenated = plain.substr(0, at) + "-" + plain.substr(at);
      const std::string hyphen_body = body_of(hyphenated);
      const extraction hyphen = post(create, hyphen_body);
      ASSERT_TRUE(hyphen.ok()) << hyphenated << ": " << hyphen.error;
      EXPECT_EQ(hyphen.records[0].normalised_email, hyphenated);
      const std::string doubled = plain.substr(0, at) + "--" + plain.substr(at);
      const std::string doubled_body = body_of(doubled);
      const extraction two_hyphens = post(create, doubled_body);
      ASSERT_TRUE(two_hyphens.ok()) << doubled << ": " << two_hyphens.error;
      EXPECT_EQ(two_hyphens.records[0].normalised_email, doubled);
      // A soft hyphen (U+00AD) is dropped, as HubSpot's storage drops it.
      const std::string soft = body_of(plain.substr(0, at) + "\u00ad" + plain.substr(at));
      const extraction dropped = post(create, soft);
      ASSERT_TRUE(dropped.ok()) << soft << ": " << dropped.error;
      EXPECT_EQ(dropped.records[0].normalised_email, plain) << soft;
    }
    // An ACE label IDNA refuses is found at any length, wherever the blocks fall.
    const std::string ace_body = body_of(std::string(length - 15, 'u') + "@xn--blocked-.io");
    EXPECT_FALSE(post(create, ace_body).ok()) << ace_body;
    const std::string dot_body = body_of(plain + ".");
    const extraction dot = post(create, dot_body);
    ASSERT_TRUE(dot.ok()) << dot.error;
    EXPECT_EQ(dot.records[0].normalised_email, plain) << "a trailing dot is stripped, as HubSpot stores it";
  }
}

TEST(extract_integrity, batch_upsert_id_with_an_at_sign_and_no_id_property_is_the_email) {
  const extraction e = post(batch_upsert, R"({"inputs":[{"id":"a@b.com","properties":{}},{"id":"123"}]})");
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.records.size(), 2u);
  EXPECT_EQ(e.records[0].email, "a@b.com");
  EXPECT_EQ(e.records[1].email, std::nullopt);
  EXPECT_FALSE(post(batch_upsert, R"({"inputs":[{"id":"a@b.com","properties":{"email":"c@d.com"}}]})").ok());
  // The query's idProperty and the item's must agree (which one a server prefers is unknown).
  EXPECT_FALSE(post(std::string(batch_upsert) + "?idProperty=email", R"({"inputs":[{"idProperty":"hs_object_id","id":"a@b.com"}]})").ok());
  EXPECT_TRUE(post(std::string(batch_upsert) + "?idProperty=email", R"({"inputs":[{"idProperty":"EMAIL","id":"a@b.com"}]})").ok());
}

// A custom channel message: each sender's and recipient's identifier that is an address (typed
// HS_EMAIL_ADDRESS, or holding an `@`) is a record; phone numbers and opaque ids are not.
TEST(extract_integrity, a_channel_message_s_addresses_are_records) {
  const extraction message = post("/conversations/v3/custom-channels/c1/messages",
                                   R"({"text":"hi","senders":[{"deliveryIdentifier":{"type":"HS_EMAIL_ADDRESS","value":"a@b.io"}},)"
                                   R"({"deliveryIdentifier":{"type":"HS_PHONE_NUMBER","value":"+15550100"}},{"name":"x"}],)"
                                   R"("recipients":[{"deliveryIdentifier":{"type":"CHANNEL_SPECIFIC_OPAQUE_ID","value":"c@d.io"}},)"
                                   R"({"deliveryIdentifier":{"type":"CHANNEL_SPECIFIC_OPAQUE_ID","value":"u-123"}}]})");
  ASSERT_TRUE(message.ok()) << message.error;
  ASSERT_EQ(message.records.size(), 2u);
  EXPECT_EQ(message.records[0].email, "a@b.io");
  EXPECT_EQ(message.records[1].email, "c@d.io");
  const extraction typed = post("/conversations/custom-channels/2026-03/c1/messages",
                                R"({"senders":[{"deliveryIdentifier":{"type":"hs_email_address ","value":"no-at-sign"}}]})");
  ASSERT_TRUE(typed.ok()) << typed.error;
  ASSERT_EQ(typed.records.size(), 1u);
  EXPECT_FALSE(post("/conversations/v3/custom-channels/c1/messages", R"({"senders":["a@b.io"]})").ok());
  EXPECT_FALSE(post("/conversations/v3/custom-channels/c1/messages",
                    R"({"senders":[{"deliveryIdentifier":{"value":"a@b.io","Value":"c@d.io"}}]})")
                   .ok());
}

TEST(extract_integrity, an_inbox_thread_message_s_recipients_are_records) {
  // HubSpot's threads API names each recipient's addresses in a list.
  const extraction reply = post("/conversations/v3/conversations/threads/77/messages",
                                R"({"type":"MESSAGE","text":"hi","senderActorId":"A-1","channelId":"1000",)"
                                R"("recipients":[{"actorId":"V-9","recipientField":"TO","deliveryIdentifiers":[)"
                                R"({"type":"HS_EMAIL_ADDRESS","value":"a@b.io"},{"type":"HS_PHONE_NUMBER","value":"+1555"}]},)"
                                R"({"recipientField":"CC","deliveryIdentifiers":[{"type":"HS_EMAIL_ADDRESS","value":"c@d.io"}]}]})");
  ASSERT_TRUE(reply.ok()) << reply.error;
  ASSERT_NE(reply.op, nullptr);
  EXPECT_EQ(reply.op->name, "conversations.thread_message");
  ASSERT_EQ(reply.records.size(), 2u);
  EXPECT_EQ(reply.records[0].email, "a@b.io");
  EXPECT_EQ(reply.records[1].email, "c@d.io");
  EXPECT_FALSE(post("/conversations/v3/conversations/threads/77/messages",
                    R"({"recipients":[{"deliveryIdentifiers":["a@b.io"]}]})")
                   .ok());
  // An email actor (`E-<address>`), and an untyped value with a fullwidth at-sign, are addresses too.
  const extraction actors = post("/conversations/v3/conversations/threads/77/messages",
                                 R"({"recipients":[{"actorId":"E-jo@example.com"},{"actorId":"V-123"},)"
                                 R"({"deliveryIdentifiers":[{"value":"ann\uff20corp.io"}]}]})");
  ASSERT_TRUE(actors.ok()) << actors.error;
  ASSERT_EQ(actors.records.size(), 2u);
  EXPECT_EQ(actors.records[0].email, "jo@example.com");
  EXPECT_EQ(actors.records[1].normalised_email, "ann@corp.io");
}

TEST(extract_integrity, send_cc_bcc_and_booking_guests_are_records_of_their_own) {
  const extraction send = post("/marketing/v3/transactional/single-email/send",
                               R"({"emailId":1,"message":{"to":"a@b.com","cc":["c@d.com"],"bcc":"e@f.com"}})");
  ASSERT_TRUE(send.ok()) << send.error;
  ASSERT_EQ(send.records.size(), 3u);
  EXPECT_EQ(send.records[1].email, "c@d.com");
  EXPECT_EQ(send.records[2].email, "e@f.com");
  EXPECT_EQ(send.records[2].index, 0u);
  EXPECT_FALSE(post("/marketing/v3/transactional/single-email/send", R"({"message":{"to":"a@b.com","cc":[{}]}})").ok());

  const extraction book = post("/scheduler/v3/meetings/meeting-links/book",
                               R"({"slug":"s","formFields":[{"name":"email","value":"a@b.com"}],"guestEmails":["g@h.com"]})");
  ASSERT_TRUE(book.ok()) << book.error;
  ASSERT_EQ(book.records.size(), 2u);
  EXPECT_EQ(book.records[0].email, "a@b.com");
  EXPECT_EQ(book.records[1].email, "g@h.com");
  EXPECT_FALSE(post("/scheduler/v3/meetings/meeting-links/book",
                    R"({"email":"a@b.com","formFields":[{"name":"EMAIL","value":"x@y.com"}]})")
                   .ok());
}

// A servlet reads the query's parameters as form fields too: a v2 submission takes none.
TEST(extract_integrity, a_v2_form_with_fields_in_its_query_is_refused) {
  constexpr std::string_view urlencoded = "application/x-www-form-urlencoded";
  for (const std::string_view target : {"/uploads/form/v2/1/g?email=bad%40blocked.test", "/uploads/form/v2/1/g?x",
                                        "/submissions/v2/post/upload/secure/1/g?&lifecyclestage=customer"}) {
    const extraction e = post(target, "firstname=Jo&email=ok%40corp.io", urlencoded);
    EXPECT_FALSE(e.ok()) << target;
    EXPECT_NE(e.error.find("query string"), std::string::npos) << e.error;
  }
  for (const std::string_view target : {"/uploads/form/v2/1/g", "/uploads/form/v2/1/g?", "/uploads/form/v2/1/g?&&"}) {
    EXPECT_TRUE(post(target, "firstname=Jo&email=ok%40corp.io", urlencoded).ok()) << target;
  }
}

TEST(extract_integrity, a_json_document_sent_as_a_v2_form_is_refused) {
  const auto form = [](std::string_view body) {
    return post("/uploads/form/v2/1/g", body, "application/x-www-form-urlencoded");
  };
  EXPECT_FALSE(form(R"({"email":"bad@blocked.test","x":"&email=ok@corp.io&y="})").ok());
  EXPECT_FALSE(form("\xEF\xBB\xBF [{\"email\":\"a@b.com\"}]").ok());
  EXPECT_TRUE(form("email=a%40b.com&x=%7B").ok());
  // A pair that would start the body once a rewrite drops what is before it (empty pairs, a
  // removed field) is refused too: the rebuilt body must read again.
  EXPECT_FALSE(form("&&[&0000").ok());
  EXPECT_FALSE(form("hubspot_owner_id=1&\n{\"email\":\"a@b.com\"}").ok());
}

TEST(extract_other, imports_and_opaque_bodies_have_no_visible_records) {
  const extraction import = post("/crm/v3/imports", "--b\r\nContent-Disposition: form-data; name=\"importRequest\"\r\n",
                                 "multipart/form-data; boundary=b");
  ASSERT_TRUE(import.ok()) << import.error;
  EXPECT_TRUE(import.records.empty());
  EXPECT_FALSE(post("/crm/v3/imports", R"({"name":"imp"})").ok());

  const extraction trigger = post("/automation/v4/webhook-triggers/1/2", "anything at all", "text/plain");
  ASSERT_TRUE(trigger.ok()) << trigger.error;
  EXPECT_TRUE(trigger.records.empty());
}

} // namespace
} // namespace hubgate::hubspot
