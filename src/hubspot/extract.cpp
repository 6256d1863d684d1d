#include "hubgate/hubspot/extract.hpp"

#include "hubgate/hubspot/email.hpp"
#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

namespace hubgate::hubspot {

namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t max_depth = 64;

// Integrity, JSON ambiguity: a document two parsers could read differently (duplicate keys at any
// depth, `Properties` beside `properties`, deep nesting, invalid UTF-8, comments, trailing bytes)
// is rejected; escapes and the spellings of property names are read and inspected.
// Builds an ordered_json like nlohmann's own DOM parser, but refuses duplicate keys (whose meaning
// depends on the reader: first or last wins) and deep nesting.
class strict_dom_builder {
public:
  explicit strict_dom_builder(json& root) : root_(root) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool value) { return put(json(value)); }
  bool number_integer(json::number_integer_t value) { return put(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return put(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t& /*text*/) { return put(json(value)); }
  bool string(json::string_t& value) { return put(json(std::move(value))); }
  bool binary(json::binary_t& /*value*/) { return fail("binary values are not JSON"); }
  bool start_object(std::size_t /*elements*/) { return open(json::object()); }
  bool start_array(std::size_t /*elements*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    frame& top = stack_.back();
    // Small objects are searched directly; large ones get a hash set so that a hostile body with
    // many keys costs linear time.
    if (!top.keys && top.node->size() >= 32) {
      top.keys = std::make_unique<std::unordered_set<std::string>>();
      for (const auto& item : top.node->items()) {
        top.keys->insert(item.key());
      }
    }
    const bool duplicate = top.keys ? !top.keys->insert(name).second : top.node->contains(name);
    if (duplicate) {
      return fail("duplicate key \"" + name + "\"");
    }
    top.pending_key = std::move(name);
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*token*/, const nlohmann::detail::exception& ex) {
    return fail(std::string("invalid JSON: ") + ex.what());
  }

  const std::string& error() const { return error_; }

private:
  struct frame {
    json* node = nullptr;
    std::string pending_key;
    std::unique_ptr<std::unordered_set<std::string>> keys;
  };

  json* insert(json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    frame& top = stack_.back();
    if (top.node->is_array()) {
      top.node->push_back(std::move(value));
      return &top.node->back();
    }
    json& slot = (*top.node)[std::move(top.pending_key)];
    slot = std::move(value);
    return &slot;
  }

  bool put(json&& value) {
    insert(std::move(value));
    return true;
  }

  bool open(json&& container) {
    if (stack_.size() >= max_depth) {
      return fail("JSON nested too deeply");
    }
    json* node = insert(std::move(container));
    stack_.push_back(frame{node, {}, nullptr});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  bool fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    return false;
  }

  json& root_;
  std::vector<frame> stack_;
  std::string error_;
};

// --- reading helpers; each returns false after recording the first error

class reader {
public:
  bool fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    return false;
  }
  bool failed() const { return !error_.empty(); }
  std::string take_error() { return std::move(error_); }

  // The member named exactly `key`, nullptr when absent. Another spelling of the same name
  // (`Properties`, `EMAIL`) is an error: a case-insensitive deserialiser would read it.
  bool member(const json& object, std::string_view key, const json*& out) {
    out = nullptr;
    for (const auto& item : object.items()) {
      if (item.key() == key) {
        out = &item.value();
      } else if (equals_folded(item.key(), key)) {
        return fail("member \"" + item.key() + "\" is ambiguous with \"" + std::string(key) + "\"");
      }
    }
    return true;
  }

  bool object_member(const json& object, std::string_view key, const json*& out, bool required) {
    if (!member(object, key, out)) {
      return false;
    }
    if (out == nullptr || out->is_null()) {
      out = nullptr;
      return !required || fail("\"" + std::string(key) + "\" is required");
    }
    return out->is_object() || fail("\"" + std::string(key) + "\" must be an object");
  }

  bool array_member(const json& object, std::string_view key, const json*& out, bool required) {
    if (!member(object, key, out)) {
      return false;
    }
    if (out == nullptr || out->is_null()) {
      out = nullptr;
      return !required || fail("\"" + std::string(key) + "\" is required");
    }
    return out->is_array() || fail("\"" + std::string(key) + "\" must be an array");
  }

  // A scalar in the string form HubSpot reads into a string field; nullopt for null/absent.
  bool scalar(const json* value, std::string_view what, std::optional<std::string>& out) {
    out.reset();
    if (value == nullptr || value->is_null()) {
      return true;
    }
    if (value->is_string()) {
      out = value->get_ref<const std::string&>();
    } else if (value->is_boolean()) {
      out = value->get<bool>() ? "true" : "false";
    } else if (value->is_number()) {
      out = value->dump();
    } else {
      return fail(std::string(what) + " must be a string, number or boolean");
    }
    return true;
  }

  bool scalar_member(const json& object, std::string_view key, std::optional<std::string>& out) {
    const json* value = nullptr;
    return member(object, key, value) && scalar(value, "\"" + std::string(key) + "\"", out);
  }

private:
  std::string error_;
};

// Integrity, JSON ambiguity: property names are read as a forgiving deserialiser might (any case,
// Java folding, padding trimmed) and every spelling of `email` counts, so that none hides one.
bool is_email_name(std::string_view name) { return equals_folded(trim_ows(name), "email"); }

// Adds an email the item names; two different addresses for one item are refused.
bool add_email(reader& r, contact_record& record, const std::string& email) {
  if (!record.email) {
    record.email = email;
    return true;
  }
  return normalise_email(*record.email) == normalise_email(email) ||
         r.fail("item names two different emails: \"" + *record.email + "\" and \"" + email + "\"");
}

// Adds a property; an email property also names the record's email (null never does).
bool add_property(reader& r, contact_record& record, const std::string& name, const std::optional<std::string>& value) {
  record.properties.emplace_back(name, value.value_or(std::string()));
  return !value || !is_email_name(name) || add_email(r, record, *value);
}

// Refuses a property given twice (in any case) with different values.
bool check_repeats(reader& r, const contact_record& record) {
  const auto& props = record.properties;
  for (std::size_t i = 0; i < props.size(); ++i) {
    for (std::size_t j = i + 1; j < props.size(); ++j) {
      if (!iequals_ascii(props[i].first, props[j].first) || props[i].second == props[j].second) {
        continue;
      }
      // Two spellings of one address are one email (add_email has compared them normalised).
      if (!is_email_name(props[i].first) || normalise_email(props[i].second) != normalise_email(props[j].second)) {
        return r.fail("property \"" + props[i].first + "\" is given twice with different values");
      }
    }
  }
  return true;
}

bool read_property_map(reader& r, const json* map, contact_record& record) {
  if (map == nullptr) {
    return true;
  }
  for (const auto& item : map->items()) {
    std::optional<std::string> value;
    if (!r.scalar(&item.value(), "property \"" + item.key() + "\"", value) ||
        !add_property(r, record, item.key(), value)) {
      return false;
    }
  }
  return check_repeats(r, record);
}

// [{name_key: name, "value": value}, ...]: v1 `property`, forms and legacy sends `name`.
bool read_name_value_array(reader& r, const json* array, std::string_view name_key, contact_record& record,
                           bool repeats_allowed) {
  if (array == nullptr) {
    return true;
  }
  for (const json& entry : *array) {
    if (!entry.is_object()) {
      return r.fail("property entries must be objects");
    }
    std::optional<std::string> name;
    std::optional<std::string> value;
    const json* name_value = nullptr;
    if (!r.member(entry, name_key, name_value)) {
      return false;
    }
    if (name_value == nullptr || !name_value->is_string()) {
      return r.fail("property entry needs a string \"" + std::string(name_key) + "\"");
    }
    if (!r.scalar_member(entry, "value", value) ||
        !add_property(r, record, name_value->get_ref<const std::string&>(), value)) {
      return false;
    }
  }
  return repeats_allowed || check_repeats(r, record);
}

// --- content types

enum class media : std::uint8_t { json_text, urlencoded, multipart, other };


// The media type, refusing a charset other than UTF-8: the bytes would mean something else to a
// server honouring it. (A UTF-8 BOM is skipped by the JSON parser, as a lenient server would.)
bool read_content_type(reader& r, std::string_view header, media& out) {
  const std::size_t semi = header.find(';');
  const std::string_view type = trim_ows(header.substr(0, semi));
  if (type.empty()) {
    return r.fail("missing Content-Type");
  }
  if (iequals_ascii(type, "application/json") ||
      (type.size() > 17 && iequals_ascii(type.substr(0, 12), "application/") &&
       iequals_ascii(type.substr(type.size() - 5), "+json"))) {
    out = media::json_text;
  } else if (iequals_ascii(type, "application/x-www-form-urlencoded")) {
    out = media::urlencoded;
  } else if (iequals_ascii(type, "multipart/form-data")) {
    out = media::multipart;
  } else {
    out = media::other;
  }
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
  while (!params.empty()) {
    const std::size_t next = params.find(';');
    const std::string_view param = trim_ows(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || !iequals_ascii(trim_ows(param.substr(0, eq)), "charset")) {
      continue;
    }
    std::string_view charset = trim_ows(param.substr(eq + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    if (!iequals_ascii(charset, "utf-8") && !iequals_ascii(charset, "utf8") && !iequals_ascii(charset, "us-ascii")) {
      return r.fail("unsupported charset \"" + std::string(charset) + "\"");
    }
  }
  return true;
}

bool parse_json(reader& r, std::string_view body, json& out) {
  strict_dom_builder builder(out);
  const bool parsed = json::sax_parse(body.begin(), body.end(), &builder, json::input_format_t::json, true, false);
  if (!parsed) {
    return r.fail(builder.error().empty() ? "invalid JSON" : builder.error());
  }
  return true;
}

// --- one reader per shape

using container = parsed_body::container;

constexpr std::array<std::string_view, 2> smtp_editable = {"createContact", "campaignName"};
constexpr std::array<std::string_view, 2> flat_editable = {"firstName", "lastName"};

contact_record new_record(std::size_t index) {
  contact_record record;
  record.index = index;
  return record;
}

bool read_crm_input(reader& r, const json& input, std::size_t index, body_shape shape, const classification& request,
                    std::vector<contact_record>& records) {
  if (!input.is_object()) {
    return r.fail("each input must be an object");
  }
  contact_record record = new_record(index);
  if (shape == body_shape::crm_batch_upsert) {
    std::optional<std::string> id_property;
    if (!r.scalar_member(input, "idProperty", id_property) || !r.scalar_member(input, "id", record.id)) {
      return false;
    }
    if (const auto from_query = request.param("id_property")) {
      // Which of the two a server prefers is unknown: they must agree.
      if (id_property && !iequals_ascii(trim_ows(*id_property), trim_ows(*from_query))) {
        return r.fail("idProperty \"" + *id_property + "\" disagrees with the query's \"" + std::string(*from_query) + "\"");
      }
      id_property = std::string(*from_query);
    }
    record.id_property = id_property;
    // Without an idProperty a server might default to email: an id that looks like one is one.
    const bool email_id = id_property ? is_email_name(*id_property) : record.id && record.id->find('@') != std::string::npos;
    if (email_id && record.id && !add_email(r, record, *record.id)) {
      return false;
    }
  }
  if (shape != body_shape::crm_object && !r.scalar_member(input, "objectWriteTraceId", record.object_write_trace_id)) {
    return false;
  }
  const json* properties = nullptr;
  if (!r.object_member(input, "properties", properties, false) || !read_property_map(r, properties, record)) {
    return false;
  }
  records.push_back(std::move(record));
  return true;
}

bool read_v1_item(reader& r, const json& item, std::size_t index, const classification& request, bool batch,
                  std::vector<contact_record>& records) {
  if (!item.is_object()) {
    return r.fail(batch ? "each batch item must be an object" : "the body must be a JSON object");
  }
  contact_record record = new_record(index);
  if (batch) {
    std::optional<std::string> email;
    std::optional<std::string> vid;
    if (!r.scalar_member(item, "email", email) || !r.scalar_member(item, "vid", vid)) {
      return false;
    }
    if (email && !add_email(r, record, *email)) {
      return false;
    }
    if (vid) {
      record.id_property = "vid";
      record.id = std::move(vid);
    }
  } else if (const auto path_email = request.param("email")) {
    record.email = std::string(*path_email); // createOrUpdate: the path names the contact (§2.3 row 12)
  }
  const json* properties = nullptr;
  if (!r.array_member(item, "properties", properties, false) ||
      !read_name_value_array(r, properties, "property", record, false)) {
    return false;
  }
  records.push_back(std::move(record));
  return true;
}

bool read_event(reader& r, const json& event, std::size_t index, std::vector<contact_record>& records) {
  if (!event.is_object()) {
    return r.fail("each event must be an object");
  }
  std::optional<std::string> email;
  if (!r.scalar_member(event, "email", email)) {
    return false;
  }
  // Without an email the event names an existing contact (objectId, utk) and creates none.
  if (email) {
    contact_record record = new_record(index);
    record.email = std::move(email);
    records.push_back(std::move(record));
  }
  return true;
}

// Further recipients of one item (a send's cc and bcc, a booking's guests): each named address is
// a record of its own, sharing the item (index 0) and carrying no properties. A member may hold one
// address or an array of them.
bool read_recipients(reader& r, const json& object, std::initializer_list<std::string_view> keys,
                     std::vector<contact_record>& out) {
  for (const std::string_view key : keys) {
    const json* value = nullptr;
    if (!r.member(object, key, value)) {
      return false;
    }
    if (value == nullptr || value->is_null()) {
      continue;
    }
    const auto add = [&](const json& item) {
      std::optional<std::string> email;
      if (!r.scalar(&item, "\"" + std::string(key) + "\"", email)) {
        return false;
      }
      if (email && !email->empty()) {
        contact_record record = new_record(0);
        record.email = std::move(email);
        out.push_back(std::move(record));
      }
      return true;
    };
    if (value->is_array()) {
      for (const json& item : *value) {
        if (!add(item)) {
          return false;
        }
      }
    } else if (!add(*value)) {
      return false;
    }
  }
  return true;
}

bool read_items(reader& r, const json& root, std::string_view key, parsed_body& body, const json*& items) {
  if (!r.array_member(root, key, items, true)) {
    return false;
  }
  body.items_key = key;
  body.item_count = items->size();
  return true;
}

bool read_json_shape(reader& r, const classification& request, extraction& out) {
  const body_shape shape = out.op->shape;
  const json& root = out.body.json;
  parsed_body& body = out.body;
  auto& records = out.records;
  if (shape == body_shape::v1_batch) {
    if (!root.is_array()) {
      return r.fail("the body must be a JSON array");
    }
  } else if (!root.is_object()) {
    return r.fail("the body must be a JSON object");
  }
  body.item_count = 1;
  const json* items = nullptr;
  switch (shape) {
    case body_shape::crm_object:
      body.properties = container::object_map;
      body.properties_key = "properties";
      return read_crm_input(r, root, 0, shape, request, records);
    case body_shape::crm_batch_create:
    case body_shape::crm_batch_upsert:
      body.properties = container::object_map;
      body.properties_key = "properties";
      if (!read_items(r, root, "inputs", body, items)) {
        return false;
      }
      for (std::size_t i = 0; i < items->size(); ++i) {
        if (!read_crm_input(r, (*items)[i], i, shape, request, records)) {
          return false;
        }
      }
      return true;
    case body_shape::v1_properties:
      body.properties = container::name_value_array;
      body.properties_key = "properties";
      body.entry_name_key = "property";
      return read_v1_item(r, root, 0, request, false, records);
    case body_shape::v1_batch:
      body.properties = container::name_value_array;
      body.properties_key = "properties";
      body.entry_name_key = "property";
      body.item_count = root.size();
      for (std::size_t i = 0; i < root.size(); ++i) {
        if (!read_v1_item(r, root[i], i, request, true, records)) {
          return false;
        }
      }
      return true;
    case body_shape::form_fields: {
      body.properties = container::name_value_array;
      body.properties_key = "fields";
      body.entry_name_key = "name";
      const json* fields = nullptr;
      contact_record record = new_record(0);
      // A repeated field name is a multi-value field (checkboxes), not a conflict; emails still are.
      if (!r.array_member(root, "fields", fields, false) || !read_name_value_array(r, fields, "name", record, true)) {
        return false;
      }
      records.push_back(std::move(record));
      return true;
    }
    case body_shape::single_send: {
      contact_record record = new_record(0);
      const json* message = nullptr;
      if (!r.object_member(root, "message", message, false)) {
        return false;
      }
      std::optional<std::string> to;
      if (message != nullptr && !r.scalar_member(*message, "to", to)) {
        return false;
      }
      if (to) {
        record.email = std::move(to);
      }
      std::vector<contact_record> recipients;
      if (message != nullptr && !read_recipients(r, *message, {"cc", "bcc"}, recipients)) {
        return false;
      }
      // v3/v4 send a map; the legacy v1 single-send sends [{"name","value"}]: both are read.
      const json* props = nullptr;
      if (!r.member(root, "contactProperties", props)) {
        return false;
      }
      body.properties_key = "contactProperties";
      if (props != nullptr && props->is_array()) {
        body.properties = container::name_value_array;
        body.entry_name_key = "name";
        if (!read_name_value_array(r, props, "name", record, false)) {
          return false;
        }
      } else {
        body.properties = container::object_map;
        if (props != nullptr && !props->is_null() && !props->is_object()) {
          return r.fail("\"contactProperties\" must be an object or an array");
        }
        if (!read_property_map(r, props != nullptr && props->is_object() ? props : nullptr, record)) {
          return false;
        }
      }
      records.push_back(std::move(record));
      records.insert(records.end(), std::make_move_iterator(recipients.begin()),
                     std::make_move_iterator(recipients.end()));
      return true;
    }
    case body_shape::smtp_token: {
      body.properties = container::top_level;
      body.editable = smtp_editable;
      const json* create = nullptr;
      if (!r.member(root, "createContact", create)) {
        return false;
      }
      // A JVM binder coerces "true" and non-zero numbers to true; so does this.
      bool creates = false;
      if (create == nullptr || create->is_null()) {
        creates = false;
      } else if (create->is_boolean()) {
        creates = create->get<bool>();
      } else if (create->is_string()) {
        const auto& text = create->get_ref<const std::string&>();
        if (!iequals_ascii(text, "true") && !iequals_ascii(text, "false")) {
          return r.fail("\"createContact\" must be a boolean");
        }
        creates = iequals_ascii(text, "true");
      } else if (create->is_number()) {
        creates = create->get<double>() != 0.0;
      } else {
        return r.fail("\"createContact\" must be a boolean");
      }
      std::optional<std::string> campaign;
      if (!r.scalar_member(root, "campaignName", campaign)) {
        return false;
      }
      if (creates) {
        contact_record record = new_record(0);
        record.properties.emplace_back("createContact", "true");
        if (campaign) {
          record.properties.emplace_back("campaignName", *campaign);
        }
        records.push_back(std::move(record));
      }
      return true;
    }
    case body_shape::event_attendance:
      body.properties = container::object_map;
      body.properties_key = "contactProperties";
      if (!read_items(r, root, "inputs", body, items)) {
        return false;
      }
      for (std::size_t i = 0; i < items->size(); ++i) {
        const json& input = (*items)[i];
        if (!input.is_object()) {
          return r.fail("each input must be an object");
        }
        contact_record record = new_record(i);
        std::optional<std::string> email;
        const json* props = nullptr;
        if (!r.scalar_member(input, "email", email) || !r.object_member(input, "contactProperties", props, false)) {
          return false;
        }
        if (email) {
          record.email = std::move(email);
        }
        if (!read_property_map(r, props, record)) {
          return false;
        }
        records.push_back(std::move(record));
      }
      return true;
    case body_shape::email_event: return read_event(r, root, 0, records);
    case body_shape::email_event_batch:
    case body_shape::email_event_wrappers:
      if (!read_items(r, root, shape == body_shape::email_event_batch ? "inputs" : "eventWrappers", body, items)) {
        return false;
      }
      for (std::size_t i = 0; i < items->size(); ++i) {
        if (!read_event(r, (*items)[i], i, records)) {
          return false;
        }
      }
      return true;
    case body_shape::flat_contact: {
      body.properties = container::top_level;
      body.editable = flat_editable;
      contact_record record = new_record(0);
      if (!r.scalar_member(root, "email", record.email)) {
        return false;
      }
      for (const std::string_view key : flat_editable) {
        std::optional<std::string> value;
        if (!r.scalar_member(root, key, value)) {
          return false;
        }
        if (value) {
          record.properties.emplace_back(key, std::move(*value));
        }
      }
      // A booking's form fields and guests name contacts too (a guest may become one).
      const json* form_fields = nullptr;
      std::vector<contact_record> guests;
      if (!r.array_member(root, "formFields", form_fields, false) ||
          !read_name_value_array(r, form_fields, "name", record, true) ||
          !read_recipients(r, root, {"guestEmails"}, guests)) {
        return false;
      }
      records.push_back(std::move(record));
      records.insert(records.end(), std::make_move_iterator(guests.begin()), std::make_move_iterator(guests.end()));
      return true;
    }
    case body_shape::form_urlencoded:
    case body_shape::import_multipart:
    case body_shape::opaque: break;
  }
  return r.fail("internal: shape is not JSON");
}

bool read_form(reader& r, std::string_view text, extraction& out) {
  // Integrity, body encodings: a JSON document sent as a form is rejected, since a server that
  // sniffs bodies would read the JSON where hubgate reads form pairs.
  std::string_view start = text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;
  start = start.substr(std::min(start.find_first_not_of(" \t\r\n"), start.size()));
  if (start.starts_with('{') || start.starts_with('[')) {
    return r.fail("a JSON body sent as application/x-www-form-urlencoded");
  }
  parsed_body& body = out.body;
  body.properties = container::form_pairs;
  body.item_count = 1;
  contact_record record = new_record(0);
  std::size_t from = 0;
  while (from <= text.size()) {
    std::size_t amp = text.find('&', from);
    if (amp == std::string_view::npos) {
      amp = text.size();
    }
    const std::string_view raw = text.substr(from, amp - from);
    from = amp + 1;
    if (raw.empty()) {
      continue;
    }
    form_pair pair;
    pair.raw = std::string(raw);
    const std::size_t eq = raw.find('=');
    if (!percent_decode(raw.substr(0, eq), pair.name, true) ||
        (eq != std::string_view::npos && !percent_decode(raw.substr(eq + 1), pair.value, true))) {
      return r.fail("invalid percent-encoding in the form body");
    }
    // hs_context is submission metadata (hutk, page), not a contact property (§2.4 row 17).
    if (!iequals_ascii(pair.name, "hs_context") && !add_property(r, record, pair.name, pair.value)) {
      return false;
    }
    body.form.push_back(std::move(pair));
  }
  out.records.push_back(std::move(record));
  return true;
}

// Integrity, email spellings: hubgate normalises what HubSpot's storage would (trimmed, lower-cased,
// email.hpp) and inspects; an address that one reader could take as several, or as another
// (a list, a display name `Jo <jo@x.com>`, inner spaces or control bytes), it rejects.
bool single_addresses(reader& r, const std::vector<contact_record>& records) {
  for (const contact_record& record : records) {
    if (!record.email) {
      continue;
    }
    const std::string email = normalise_email(*record.email);
    const bool odd = std::any_of(email.begin(), email.end(), [](char c) {
      const auto b = static_cast<unsigned char>(c);
      return b <= 0x20 || b == 0x7F || c == ',' || c == ';' || c == '<' || c == '>';
    });
    if (odd) {
      return r.fail("\"" + *record.email + "\" is not one plain email address");
    }
  }
  return true;
}

} // namespace

extraction extract(const classification& request, std::string_view body, std::string_view content_type) {
  extraction out;
  out.op = request.op;
  try {
    reader r;
    if (!request.ok() || request.op == nullptr) {
      out.error = "the request is not a catalog operation";
      return out;
    }
    const body_shape shape = request.op->shape;
    out.body.item_count = 1;
    if (shape == body_shape::opaque) {
      return out;
    }
    media type = media::other;
    if (!read_content_type(r, content_type, type)) {
      out.error = r.take_error();
      return out;
    }
    bool ok = false;
    if (shape == body_shape::import_multipart) {
      ok = type == media::multipart || r.fail("an import must be multipart/form-data");
    } else if (shape == body_shape::form_urlencoded) {
      // Multipart v2 submissions (file fields) are refused: their fields are not read here.
      ok = (type == media::urlencoded || r.fail("a v2 form submission must be application/x-www-form-urlencoded")) &&
           read_form(r, body, out);
    } else {
      ok = (type == media::json_text || r.fail("this operation takes a JSON body")) &&
           (!body.empty() || r.fail("empty body")) && parse_json(r, body, out.body.json) &&
           read_json_shape(r, request, out);
    }
    ok = ok && single_addresses(r, out.records);
    if (!ok) {
      const std::string error = r.take_error();
      out = extraction{};
      out.op = request.op;
      out.error = error;
    }
  } catch (const std::exception& ex) {
    out = extraction{};
    out.op = request.op;
    out.error = std::string("cannot read the body: ") + ex.what();
  }
  return out;
}

} // namespace hubgate::hubspot
