#include "hubgate/hubspot/catalog.hpp"

#include "hubgate/hubspot/classify.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace hubgate::hubspot {
namespace {

TEST(catalog, names_are_unique_and_found_by_name) {
  std::set<std::string_view> names;
  for (const operation& op : all_operations()) {
    EXPECT_TRUE(names.insert(op.name).second) << op.name;
    EXPECT_EQ(find_operation(op.name), &op);
  }
  EXPECT_GE(names.size(), 27U);
  EXPECT_EQ(find_operation("contacts.search"), nullptr);
  EXPECT_EQ(find_operation(""), nullptr);
}

struct expected_entry {
  std::string_view name;
  std::string_view method;
  operation_kind kind;
  upstream_id upstream;
  int status;
  body_shape shape;
};

// The rows of reference §2/§4.2 this catalog must reproduce exactly.
TEST(catalog, entries_carry_the_reference_method_kind_upstream_and_sdk_status) {
  using k = operation_kind;
  using s = body_shape;
  const expected_entry expected[] = {
      {"contacts.create", "POST", k::create, upstream_id::api, 201, s::crm_object},
      {"contacts.batch_create", "POST", k::create, upstream_id::api, 201, s::crm_batch_create},
      {"contacts.batch_upsert", "POST", k::upsert, upstream_id::api, 200, s::crm_batch_upsert},
      {"contacts.v1_create", "POST", k::create, upstream_id::api, 200, s::v1_properties},
      {"contacts.v1_create_or_update", "POST", k::upsert, upstream_id::api, 200, s::v1_properties},
      {"contacts.v1_batch", "POST", k::upsert, upstream_id::api, 202, s::v1_batch},
      {"forms.submit", "POST", k::upsert, upstream_id::forms, 200, s::form_fields},
      {"forms.submit_secure", "POST", k::upsert, upstream_id::forms, 200, s::form_fields},
      {"forms.submit_v2", "POST", k::upsert, upstream_id::forms, 204, s::form_urlencoded},
      {"forms.submit_v2_secure", "POST", k::upsert, upstream_id::forms, 204, s::form_urlencoded},
      {"forms.submit_embedded", "POST", k::upsert, upstream_id::forms, 200, s::opaque},
      {"accounting.contact_sync", "POST", k::side_effect, upstream_id::api, 200, s::opaque},
      {"imports.create", "POST", k::side_effect, upstream_id::api, 200, s::import_multipart},
      {"emails.transactional_send", "POST", k::side_effect, upstream_id::api, 200, s::single_send},
      {"emails.transactional_send_v1", "POST", k::side_effect, upstream_id::api, 200, s::single_send},
      {"emails.marketing_send", "POST", k::side_effect, upstream_id::api, 200, s::single_send},
      {"emails.smtp_token_create", "POST", k::side_effect, upstream_id::api, 201, s::smtp_token},
      {"marketing_events.email_create", "POST", k::side_effect, upstream_id::api, 200, s::event_attendance},
      {"marketing_events.email_upsert", "POST", k::side_effect, upstream_id::api, 204, s::event_attendance},
      {"timeline.event_create", "POST", k::side_effect, upstream_id::api, 201, s::email_event},
      {"timeline.event_batch_create", "POST", k::side_effect, upstream_id::api, 201, s::email_event_batch},
      {"timeline.app_event_create", "POST", k::side_effect, upstream_id::api, 201, s::email_event},
      {"timeline.app_event_batch_create", "POST", k::side_effect, upstream_id::api, 201, s::email_event_batch},
      {"timeline.legacy_event_create", "PUT", k::side_effect, upstream_id::api, 204, s::email_event},
      {"timeline.legacy_event_batch", "PUT", k::side_effect, upstream_id::api, 204, s::email_event_wrappers},
      {"events.send", "POST", k::side_effect, upstream_id::api, 204, s::email_event},
      {"events.send_batch", "POST", k::side_effect, upstream_id::api, 204, s::email_event_batch},
      {"visitor_identification.token_create", "POST", k::side_effect, upstream_id::api, 200, s::flat_contact},
      {"meetings.book", "POST", k::side_effect, upstream_id::api, 200, s::flat_contact},
      {"automation.webhook_trigger", "POST", k::side_effect, upstream_id::api, 200, s::opaque},
      {"conversations.channel_message", "POST", k::side_effect, upstream_id::api, 201, s::channel_message},
      {"conversations.thread_message", "POST", k::side_effect, upstream_id::api, 201, s::channel_message},
  };
  for (const expected_entry& e : expected) {
    const operation* op = find_operation(e.name);
    ASSERT_NE(op, nullptr) << e.name;
    EXPECT_EQ(op->method, e.method) << e.name;
    EXPECT_EQ(op->kind, e.kind) << e.name;
    EXPECT_EQ(op->upstream, e.upstream) << e.name;
    EXPECT_EQ(op->success_status, e.status) << e.name;
    EXPECT_EQ(op->shape, e.shape) << e.name;
  }
  // The legacy timeline calls are documented as PUT and, in HubSpot's newer reference, as POST.
  for (const std::string_view name : {"timeline.legacy_event_create", "timeline.legacy_event_batch"}) {
    EXPECT_EQ(find_operation(name)->other_method, "POST") << name;
  }
}

// Instantiates a pattern with sample values: {type} -> contacts, {date} -> 2026-03, {x} -> x-1,
// {x+} -> an email, {...} -> one segment.
std::string instantiate(std::string_view pattern) {
  std::string out;
  std::size_t from = 1;
  while (from <= pattern.size()) {
    std::size_t slash = pattern.find('/', from);
    if (slash == std::string_view::npos) {
      slash = pattern.size();
    }
    const std::string_view piece = pattern.substr(from, slash - from);
    from = slash + 1;
    out.push_back('/');
    if (piece == "{type}") {
      out += "contacts";
    } else if (piece == "{date}") {
      out += "2026-03";
    } else if (piece == "{...}") {
      out += "anything";
    } else if (piece.ends_with("+}")) {
      out += "someone%40example.com";
    } else if (piece.starts_with('{')) {
      out += "v-1";
    } else {
      out += piece;
    }
  }
  return out;
}

// Every pattern of every entry is reachable: a request on it classifies to that entry (or to an
// earlier one sharing the path, which the catalog orders on purpose) and forwards the same path.
TEST(catalog, every_path_pattern_classifies_to_its_operation) {
  for (const operation& op : all_operations()) {
    ASSERT_FALSE(op.paths.empty()) << op.name;
    for (const std::string_view pattern : op.paths) {
      const std::string target = instantiate(pattern);
      const classification c = classify(op.method, target);
      ASSERT_TRUE(c.ok()) << target << ": " << c.error;
      ASSERT_NE(c.op, nullptr) << target;
      EXPECT_EQ(c.op, &op) << target << " classified as " << c.op->name;
      EXPECT_EQ(c.forward_target, target);
      // A method of the catalog the entry does not take does not match it.
      for (const std::string_view method : {"POST", "PUT"}) {
        if (op.takes(method)) {
          EXPECT_EQ(classify(method, target).op, &op) << method << " " << target;
        } else {
          EXPECT_EQ(classify(method, target).op, nullptr) << method << " " << target;
        }
      }
      EXPECT_EQ(classify("GET", target).op, nullptr) << target;
    }
  }
}

} // namespace
} // namespace hubgate::hubspot
