#include "hubgate/hubspot/rebuild.hpp"

#include "hubgate/hubspot/classify.hpp"
#include "hubgate/hubspot/extract.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hubgate::hubspot {
namespace {

using json = nlohmann::ordered_json;

extraction read(std::string_view method, std::string_view target, std::string_view body,
                std::string_view content_type = "application/json") {
  extraction e = extract(classify(method, target), body, content_type);
  EXPECT_TRUE(e.ok()) << e.error;
  return e;
}

extraction read_post(std::string_view target, std::string_view body,
                     std::string_view content_type = "application/json") {
  return read("POST", target, body, content_type);
}

TEST(rebuild, nothing_to_change_keeps_the_original_bytes) {
  const extraction e = read_post("/crm/v3/objects/contacts/batch/create",
                                 R"({"inputs":[{"properties":{"email":"a@b.com"}},{"properties":{}}]})");
  const rebuilt_body r = rebuild(e, {true, true}, std::vector<record_edit>(2));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.unchanged);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{0, 1}));
}

TEST(rebuild, v3_batch_drops_items_keeps_order_and_reports_original_positions) {
  const extraction e = read_post("/crm/v3/objects/contacts/batch/create",
                                 R"({"inputs":[)"
                                 R"({"properties":{"email":"a@b.com","firstname":"A"},"objectWriteTraceId":"r0"},)"
                                 R"({"properties":{"email":"spam@bad.com"},"objectWriteTraceId":"r1"},)"
                                 R"({"properties":{"email":"c@d.com"},"associations":[],"objectWriteTraceId":"r2"}]})");
  std::vector<record_edit> edits(3);
  edits[0].set = {{"lifecyclestage", "lead"}, {"FirstName", "Ann"}};
  edits[1].set = {{"ignored", "because dropped"}};
  edits[2].remove = {"EMAIL"};
  const rebuilt_body r = rebuild(e, {true, false, true}, edits);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{0, 2}));
  // The sender's spelling and position of `firstname` are kept; new properties are appended.
  EXPECT_EQ(r.body,
            R"({"inputs":[)"
            R"({"properties":{"email":"a@b.com","firstname":"Ann","lifecyclestage":"lead"},"objectWriteTraceId":"r0"},)"
            R"({"properties":{},"associations":[],"objectWriteTraceId":"r2"}]})");
}

TEST(rebuild, v3_single_edits_properties_and_drops_case_variants_of_a_set_name) {
  const extraction e =
      read_post("/crm/v3/objects/contacts",
                R"({"properties":{"EMAIL":"a@b.com","email":"A@B.COM","phone":"1"},"associations":[]})");
  record_edit edit;
  edit.set = {{"email", "a@b.com"}};
  edit.remove = {"Phone"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"properties":{"EMAIL":"a@b.com"},"associations":[]})");
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{0}));

  record_edit add;
  add.set = {{"hs_lead_status", "NEW"}};
  const extraction bare = read_post("/crm/v3/objects/contacts", R"({"associations":[]})");
  EXPECT_EQ(rebuild(bare, {true}, std::span<const record_edit>(&add, 1)).body,
            R"({"associations":[],"properties":{"hs_lead_status":"NEW"}})");
}

TEST(rebuild, a_name_with_padding_is_edited_as_the_name) {
  // Read as one property (extract trims padding), so edited as one: else the rebuilt body would
  // carry the old value beside the new, and not read again.
  const extraction e = read_post("/crm/v3/objects/contacts",
                                 R"({"properties":{"email":"a@b.com","lifecyclestage\u00a0":"customer",)"
                                 R"(" hubspot_owner_id":"7"}})");
  record_edit edit;
  edit.set = {{"lifecyclestage", "lead"}};
  edit.remove = {"hubspot_owner_id"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  // The key as it was sent.
  EXPECT_EQ(r.body, R"({"properties":{"email":"a@b.com","lifecyclestage\u00a0":"lead"}})");
  EXPECT_TRUE(read_post("/crm/v3/objects/contacts", r.body).ok());

  const extraction form = read_post("/uploads/form/v2/1/g", "email=a%40b.com&lifecyclestage%20=customer",
                                    "application/x-www-form-urlencoded");
  const rebuilt_body f = rebuild(form, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(f.ok()) << f.error;
  EXPECT_EQ(f.body, "email=a%40b.com&lifecyclestage%20=lead");
}

TEST(rebuild, v3_upsert_keeps_id_and_id_property) {
  const extraction e = read_post("/crm/v3/objects/contacts/batch/upsert",
                                 R"({"inputs":[{"idProperty":"email","id":"a@b.com","properties":{"firstname":"A"}},)"
                                 R"({"idProperty":"email","id":"x@bad.com","properties":{}}]})");
  const rebuilt_body r = rebuild(e, {false, true});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{1}));
  EXPECT_EQ(r.body, R"({"inputs":[{"idProperty":"email","id":"x@bad.com","properties":{}}]})");
}

TEST(rebuild, dropping_items_alone_forwards_the_kept_items_as_sent) {
  const std::string body = "\xEF\xBB\xBF"
                           R"({ "inputs" : [ {"properties":{"email":"a@b.com","n":1e2}} ,)"
                           R"( {"properties":{"email":"x@bad.com"}} , {"properties":{"firstname":"\u00c9"}} ] , "x": 1 })";
  const extraction e = read_post("/crm/v3/objects/contacts/batch/create", body);
  const rebuilt_body r = rebuild(e, {true, false, true});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(r.body, R"({ "inputs" : [{"properties":{"email":"a@b.com","n":1e2}},)"
                    R"({"properties":{"firstname":"\u00c9"}}] , "x": 1 })");
  const extraction again = read_post("/crm/v3/objects/contacts/batch/create", r.body);
  ASSERT_EQ(again.records.size(), 2U);
  EXPECT_EQ(again.records[0].properties, e.records[0].properties);
  EXPECT_EQ(again.records[1].properties, e.records[2].properties);

  // As pieces (what the proxy sends): the same bytes, each piece a view of the body as received
  // or a separator, and no body written out.
  const rebuilt_body pieces = rebuild(e, {true, false, true}, {}, rebuilt_form::pieces);
  ASSERT_TRUE(pieces.ok()) << pieces.error;
  EXPECT_TRUE(pieces.body.empty());
  EXPECT_EQ(pieces.kept_items, r.kept_items);
  EXPECT_EQ(join_pieces(pieces.pieces), r.body);
  for (const std::string_view piece : pieces.pieces) {
    const bool in_body = piece.data() >= body.data() && piece.data() + piece.size() <= body.data() + body.size();
    EXPECT_TRUE(in_body || piece == ",") << piece;
  }

  // An edit writes the edited item anew (compact, its members as sent); the rest of the body, BOM
  // aside, is sent as it came.
  std::vector<record_edit> edits(3);
  edits[2].set = {{"lastname", "L"}};
  const rebuilt_body edited = rebuild(e, {true, false, true}, edits, rebuilt_form::pieces);
  ASSERT_TRUE(edited.ok()) << edited.error;
  EXPECT_TRUE(edited.pieces.empty());
  EXPECT_EQ(edited.body, R"({ "inputs" : [{"properties":{"email":"a@b.com","n":1e2}},)"
                         R"({"properties":{"firstname":"\u00c9","lastname":"L"}}] , "x": 1 })");

  const rebuilt_body last = rebuild(e, {false, false, true});
  ASSERT_TRUE(last.ok()) << last.error;
  EXPECT_EQ(last.body, R"({ "inputs" : [{"properties":{"firstname":"\u00c9"}}] , "x": 1 })");
}

TEST(rebuild, v1_array_replaces_appends_and_removes_entries) {
  const extraction e =
      read_post("/contacts/v1/contact", R"({"properties":[{"property":"email","value":"a@b.com"},)"
                                        R"({"property":"firstname","value":"A"},{"property":"phone","value":"1"}]})");
  record_edit edit;
  edit.set = {{"FIRSTNAME", "Ann"}, {"lifecyclestage", "lead"}};
  edit.remove = {"phone"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"properties":[{"property":"email","value":"a@b.com"},)"
                    R"({"property":"firstname","value":"Ann"},{"property":"lifecyclestage","value":"lead"}]})");
}

TEST(rebuild, v1_batch_array_keeps_the_surviving_items) {
  const extraction e = read_post("/contacts/v1/contact/batch",
                                 R"([{"email":"a@b.com","properties":[]},{"email":"x@bad.com","properties":[]},)"
                                 R"({"vid":"9","properties":[{"property":"firstname","value":"Z"}]}])");
  std::vector<record_edit> edits(3);
  edits[2].set = {{"firstname", "Zed"}};
  const rebuilt_body r = rebuild(e, {true, false, true}, edits);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(
      r.body,
      R"([{"email":"a@b.com","properties":[]},{"vid":"9","properties":[{"property":"firstname","value":"Zed"}]}])");
}

TEST(rebuild, forms_v3_fields_follow_the_object_type_convention) {
  const extraction e = read_post("/submissions/v3/integration/submit/1/g",
                                 R"({"fields":[{"objectTypeId":"0-1","name":"email","value":"a@b.com"},)"
                                 R"({"objectTypeId":"0-1","name":"company","value":"X"}],"context":{"hutk":"h"}})");
  record_edit edit;
  edit.set = {{"lifecyclestage", "lead"}};
  edit.remove = {"company"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"fields":[{"objectTypeId":"0-1","name":"email","value":"a@b.com"},)"
                    R"({"objectTypeId":"0-1","name":"lifecyclestage","value":"lead"}],"context":{"hutk":"h"}})");
}

TEST(rebuild, a_form_field_named_with_the_contact_type_is_edited_in_place) {
  const extraction e = read_post("/submissions/v3/integration/submit/1/g",
                                 R"({"fields":[{"name":"0-1/email","value":"a@b.com"},)"
                                 R"({"name":"0-1/lifecyclestage","value":"customer"},{"name":"0-1/company","value":"X"}]})");
  record_edit edit;
  edit.set = {{"lifecyclestage", "lead"}};
  edit.remove = {"company"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"fields":[{"name":"0-1/email","value":"a@b.com"},{"name":"0-1/lifecyclestage","value":"lead"}]})");

  const extraction v2 = read_post("/uploads/form/v2/1/g", "email=a%40b.com&0-1%2Flifecyclestage=customer",
                                  "application/x-www-form-urlencoded");
  EXPECT_EQ(rebuild(v2, {true}, std::span<const record_edit>(&edit, 1)).body, "email=a%40b.com&0-1%2Flifecyclestage=lead");
}

// A form filling several objects: a field of another object with an edited property's name
// leaves no edit that means one thing (the value set would land on the first field of that name).
TEST(rebuild, an_edit_a_field_of_another_object_shares_cannot_be_made) {
  const extraction e = read_post("/submissions/v3/integration/submit/1/g",
                                 R"({"fields":[{"objectTypeId":"0-2","name":"lifecyclestage","value":"other"},)"
                                 R"({"objectTypeId":"0-1","name":"email","value":"a@b.com"},)"
                                 R"({"objectTypeId":"0-1","name":"lifecyclestage","value":"customer"}]})");
  record_edit set;
  set.set = {{"lifecyclestage", "lead"}};
  EXPECT_FALSE(rebuild(e, {true}, std::span<const record_edit>(&set, 1)).ok());
  record_edit remove;
  remove.remove = {"lifecyclestage"};
  EXPECT_FALSE(rebuild(e, {true}, std::span<const record_edit>(&remove, 1)).ok());
  // Other properties are edited, and the other object's field stays as it came.
  record_edit other;
  other.set = {{"firstname", "Jo"}};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&other, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(json::parse(r.body)["fields"][0], json::parse(R"({"objectTypeId":"0-2","name":"lifecyclestage","value":"other"})"));
  EXPECT_EQ(json::parse(r.body)["fields"][3]["name"], "firstname");
}

// A send's cc and bcc, a booking's guests, carry no properties: an edit decided for one of them
// cannot be made, and is not silently skipped.
TEST(rebuild, an_edit_for_a_recipient_other_than_the_first_cannot_be_made) {
  const extraction send = read_post("/marketing/v3/transactional/single-email/send",
                                    R"({"emailId":1,"message":{"to":"a@ok.com","cc":["c@rw.com"]}})");
  ASSERT_EQ(send.records.size(), 2U);
  record_edit none;
  record_edit tag;
  tag.set = {{"lifecyclestage", "lead"}};
  const std::vector<record_edit> cc_only = {none, tag};
  EXPECT_FALSE(rebuild(send, {true, true}, cc_only).ok());
  const std::vector<record_edit> to_only = {tag, none};
  const rebuilt_body r = rebuild(send, {true, true}, to_only);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(json::parse(r.body)["contactProperties"]["lifecyclestage"], "lead");
}

// A booking's form fields name properties too: editing the top-level member alone would leave
// the field's value for HubSpot to take instead.
TEST(rebuild, a_booking_edit_of_a_property_its_form_fields_name_cannot_be_made) {
  const extraction e = read_post("/scheduler/v3/meetings/meeting-links/book",
                                 R"({"slug":"s","email":"jo@x.com","firstName":"Jo","lastName":"Real",)"
                                 R"("formFields":[{"name":"firstname","value":"Jo"},{"name":"0-1/lastname","value":"Real2"}]})");
  ASSERT_FALSE(e.records.empty());
  for (const char* name : {"firstName", "lastName"}) {
    record_edit remove;
    remove.remove = {name};
    std::vector<record_edit> edits(e.records.size());
    edits[0] = remove;
    EXPECT_FALSE(rebuild(e, std::vector<bool>(e.records.size(), true), edits).ok()) << name;
  }
  const extraction plain = read_post("/scheduler/v3/meetings/meeting-links/book",
                                     R"({"slug":"s","email":"jo@x.com","firstName":"Jo","lastName":"Real","formFields":[]})");
  record_edit set;
  set.set = {{"lastName", "Redacted"}};
  std::vector<record_edit> edits(plain.records.size());
  edits[0] = set;
  const rebuilt_body r = rebuild(plain, std::vector<bool>(plain.records.size(), true), edits);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(json::parse(r.body)["lastName"], "Redacted");
}

// `0-1/name` in a v1 entry is that property, read and edited as such.
TEST(rebuild, a_v1_entry_named_with_the_contact_type_is_edited_in_place) {
  const extraction e = read_post("/contacts/v1/contact",
                                 R"({"properties":[{"property":"email","value":"a@ok.com"},)"
                                 R"({"property":"0-1/lifecyclestage","value":"customer"},{"property":"0-1/hubspot_owner_id","value":"9"}]})");
  record_edit edit;
  edit.set = {{"lifecyclestage", "lead"}};
  edit.remove = {"hubspot_owner_id"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"properties":[{"property":"email","value":"a@ok.com"},{"property":"0-1/lifecyclestage","value":"lead"}]})");
}

TEST(rebuild, an_entry_set_twice_keeps_its_name) {
  // Two sets naming one property (rules may, in other letters): the second edits the entry the
  // first added, which must keep its name.
  const extraction e = read_post("/contacts/v1/contact", R"({"properties":[{"property":"email","value":"jo@ok.com"}]})");
  record_edit edit;
  edit.set = {{"City", "A"}, {"city", "B"}};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"properties":[{"property":"email","value":"jo@ok.com"},{"property":"City","value":"B"}]})");
  EXPECT_TRUE(read_post("/contacts/v1/contact", r.body).ok());
}

TEST(rebuild, a_name_spelt_many_ways_becomes_one_member) {
  // Spellings a server reads as one property (case, padding), all given the same value.
  std::string body = R"({"properties":{"email":"jo@ok.com")";
  std::string entries = R"({"properties":[{"property":"email","value":"jo@ok.com"})";
  for (int i = 0; i < 40; ++i) {
    const std::string spelling = "hs_lead_status" + std::string(static_cast<std::size_t>(i), ' ');
    body += R"(,")" + spelling + R"(":" ")";
    entries += R"(,{"property":")" + spelling + R"(","value":" "})";
  }
  record_edit edit;
  edit.set = {{"hs_lead_status", "NEW"}};
  const rebuilt_body map = rebuild(read_post("/crm/v3/objects/contacts", body + "}}"), {true},
                                   std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(map.ok()) << map.error;
  EXPECT_EQ(map.body, R"({"properties":{"email":"jo@ok.com","hs_lead_status":"NEW"}})");
  const rebuilt_body array = rebuild(read_post("/contacts/v1/contact", entries + "]}"), {true},
                                     std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(array.ok()) << array.error;
  EXPECT_EQ(array.body,
            R"({"properties":[{"property":"email","value":"jo@ok.com"},{"property":"hs_lead_status","value":"NEW"}]})");
}

TEST(rebuild, a_new_field_is_typed_only_while_a_typed_one_remains) {
  const extraction e = read_post("/submissions/v3/integration/submit/1/g",
                                 R"({"fields":[{"name":"email","value":"a@b.com"},)"
                                 R"({"objectTypeId":"0-1","name":"firstname","value":"Jo"}]})");
  record_edit edit;
  edit.set = {{"lifecyclestage", "lead"}};
  edit.remove = {"firstname"};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"fields":[{"name":"email","value":"a@b.com"},{"name":"lifecyclestage","value":"lead"}]})");
}

TEST(rebuild, forms_v2_pairs_keep_untouched_bytes_and_encode_edits) {
  const extraction e = read_post(
      "/uploads/form/v2/1/g", "email=a%40b.com&firstname=Ann+Lee&hs_context=%7B%22hutk%22%3A%22h%22%7D&phone=1&phone=2",
      "application/x-www-form-urlencoded");
  record_edit edit;
  edit.set = {{"firstname", "Ann & Co"}, {"lifecyclestage", "lead"}};
  edit.remove = {"PHONE", "hs_context"}; // hs_context is not a contact property: left alone
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body,
            "email=a%40b.com&firstname=Ann%20%26%20Co&hs_context=%7B%22hutk%22%3A%22h%22%7D&lifecyclestage=lead");
}

TEST(rebuild, legacy_single_send_array_and_v3_send_map) {
  const extraction legacy =
      read_post("/email/public/v1/singleEmail/send",
                R"({"emailId":1,"message":{"to":"n@x.com"},"contactProperties":[{"name":"firstname","value":"N"}]})");
  record_edit edit;
  edit.set = {{"firstname", "M"}};
  EXPECT_EQ(rebuild(legacy, {true}, std::span<const record_edit>(&edit, 1)).body,
            R"({"emailId":1,"message":{"to":"n@x.com"},"contactProperties":[{"name":"firstname","value":"M"}]})");

  const extraction send =
      read_post("/marketing/v3/transactional/single-email/send", R"({"emailId":1,"message":{"to":"n@x.com"}})");
  EXPECT_EQ(rebuild(send, {true}, std::span<const record_edit>(&edit, 1)).body,
            R"({"emailId":1,"message":{"to":"n@x.com"},"contactProperties":{"firstname":"M"}})");
}

TEST(rebuild, smtp_token_create_contact_can_be_turned_off) {
  const extraction e =
      read_post("/marketing/v3/transactional/smtp-tokens", R"({"createContact":true,"campaignName":"c"})");
  record_edit off;
  off.set = {{"createContact", "false"}};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&off, 1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, R"({"createContact":false,"campaignName":"c"})");

  record_edit bad;
  bad.set = {{"createContact", "no"}};
  EXPECT_FALSE(rebuild(e, {true}, std::span<const record_edit>(&bad, 1)).ok());
  record_edit other;
  other.set = {{"emailId", "1"}};
  EXPECT_FALSE(rebuild(e, {true}, std::span<const record_edit>(&other, 1)).ok());
}

TEST(rebuild, event_batches_keep_items_without_a_record) {
  const extraction e = read_post("/integrators/timeline/v3/events/batch/create",
                                 R"({"inputs":[{"email":"a@b.com"},{"utk":"u"},{"email":"x@bad.com"}]})");
  ASSERT_EQ(e.records.size(), 2U);
  const rebuilt_body r = rebuild(e, {true, false});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(r.body, R"({"inputs":[{"email":"a@b.com"},{"utk":"u"}]})");

  record_edit edit;
  edit.set = {{"firstname", "A"}};
  const std::vector<record_edit> edits{edit, {}};
  EXPECT_FALSE(rebuild(e, {true, true}, edits).ok()) << "events carry no contact properties";
}

TEST(rebuild, marketing_event_inputs_edit_contact_properties) {
  const extraction e =
      read_post("/marketing/v3/marketing-events/attendance/ev/attend/email-create",
                R"({"inputs":[{"email":"a@b.com","contactProperties":{"firstname":"A"}},{"email":"c@d.com"}]})");
  std::vector<record_edit> edits(2);
  edits[1].set = {{"lastname", "D"}};
  const rebuilt_body r = rebuild(e, {false, true}, edits);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.kept_items, (std::vector<std::size_t>{1}));
  EXPECT_EQ(r.body, R"({"inputs":[{"email":"c@d.com","contactProperties":{"lastname":"D"}}]})");
}

TEST(rebuild, dropping_everything_or_mismatched_decisions_are_errors) {
  const extraction single = read_post("/crm/v3/objects/contacts", R"({"properties":{"email":"a@b.com"}})");
  EXPECT_FALSE(rebuild(single, {false}).ok());
  const extraction batch =
      read_post("/crm/v3/objects/contacts/batch/create", R"({"inputs":[{"properties":{}},{"properties":{}}]})");
  const rebuilt_body none = rebuild(batch, {false, false});
  EXPECT_FALSE(none.ok());
  EXPECT_TRUE(none.kept_items.empty());
  EXPECT_FALSE(rebuild(batch, {true}).ok());
  EXPECT_FALSE(rebuild(batch, {true, true}, std::vector<record_edit>(1)).ok());
  EXPECT_FALSE(rebuild(extract(classify("GET", "/x"), "", ""), {}).ok());
}

TEST(rebuild, an_edit_value_that_is_not_utf8_is_an_error) {
  const extraction e = read_post("/crm/v3/objects/contacts", R"({"properties":{}})");
  record_edit edit;
  edit.set = {{"firstname", "\xFF"}};
  const rebuilt_body r = rebuild(e, {true}, std::span<const record_edit>(&edit, 1));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.body.empty());
}

TEST(rebuild, the_rebuilt_body_extracts_to_the_edited_records) {
  const extraction e = read_post("/crm/v3/objects/contacts/batch/upsert",
                                 R"({"inputs":[{"idProperty":"email","id":"a@b.com","properties":{"firstname":"A"}},)"
                                 R"({"idProperty":"email","id":"b@b.com","properties":{}}]})");
  std::vector<record_edit> edits(2);
  edits[1].set = {{"firstname", "B"}};
  const rebuilt_body r = rebuild(e, {false, true}, edits);
  ASSERT_TRUE(r.ok()) << r.error;
  const extraction again = read_post("/crm/v3/objects/contacts/batch/upsert", r.body);
  ASSERT_EQ(again.records.size(), 1U);
  EXPECT_EQ(again.records[0].email, "b@b.com");
  EXPECT_EQ(again.records[0].properties, (std::pmr::vector<hubspot::contact_record::property>{{"firstname", "B"}}));
}

} // namespace
} // namespace hubgate::hubspot
