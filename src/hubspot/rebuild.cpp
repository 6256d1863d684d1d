#include "hubgate/hubspot/rebuild.hpp"

#include "hubgate/hubspot/text.hpp"

#include "hubgate/hubspot/json_scan.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::hubspot {

namespace {

using container = parsed_body::container;

// Edits name properties as the extractor reads them: ignoring case, Java-style.
bool same_name(std::string_view wire, std::string_view name) { return names_edited_property(wire, name); }

// An entry's or form field's name in the body against a property's: a form's `0-1/email` is
// `email`, as extract reads it.
bool same_property(const parsed_body& body, std::string_view wire, std::string_view name) {
  return same_name(body.form_field_names ? form_field_property(wire) : wire, name);
}

// One member of an object being edited: its key as sent (quotes and escapes), decoded, and its
// value's JSON text (as sent, or written for an edit).
struct member {
  std::string_view key_raw;
  std::string key_written; // a new member's key, when key_raw is empty
  std::string key;
  std::string value;
};

std::string json_text(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::vector<member> members_of(const std::optional<json_value>& object) {
  std::vector<member> out;
  if (!object || !object->is_object()) {
    return out;
  }
  out.reserve(object->size());
  for (const json_member m : object->members()) {
    out.push_back({m.key.raw(), {}, m.key.string_value(), std::string(m.value.raw())});
  }
  return out;
}

member new_member(std::string_view key, std::string value) {
  return {{}, json_text(key), std::string(key), std::move(value)};
}

// The object written compactly: each member's key and value as they were sent, or as edited.
std::string write_object(const std::vector<member>& members) {
  std::size_t size = 2;
  for (const member& m : members) {
    size += m.key_raw.size() + m.key_written.size() + m.value.size() + 2;
  }
  std::string out;
  out.reserve(size);
  out += '{';
  for (const member& m : members) {
    if (out.size() > 1) {
      out += ',';
    }
    out += m.key_raw.empty() ? std::string_view(m.key_written) : m.key_raw;
    out += ':';
    out += m.value;
  }
  out += '}';
  return out;
}

// The member keyed exactly `key` (as a JSON object lookup finds it), or nullptr.
member* find_member(std::vector<member>& members, std::string_view key) {
  const auto it = std::find_if(members.begin(), members.end(), [&](const member& m) { return m.key == key; });
  return it == members.end() ? nullptr : &*it;
}

// The value of the member keyed exactly `key` in `object`.
std::optional<json_value> member_value(const json_value& object, std::string_view key) {
  for (const json_member m : object.members()) {
    if (m.key.string_equals(key)) {
      return m.value;
    }
  }
  return std::nullopt;
}

// Applies `edit` to the first element `is_one` picks and drops the others it picks, in one pass
// (erasing them one at a time would cost a pass each). Whether it picked any.
template <typename T, typename Pick, typename Edit>
bool keep_first_of(std::vector<T>& items, const Pick& is_one, const Edit& edit) {
  bool found = false;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (is_one(items[i])) {
      if (found) {
        continue;
      }
      edit(items[i]);
      found = true;
    }
    if (kept != i) {
      items[kept] = std::move(items[i]);
    }
    ++kept;
  }
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(kept), items.end());
  return found;
}

// Edits one item's contact properties in its own bytes: the item and its property container are
// written anew from their members (compact), every member and entry not edited as it was sent.
// A body scales linearly: no JSON DOM, whose ordered objects look keys up one by one.
class editor {
public:
  explicit editor(const parsed_body& body) : body_(body) {}

  // The item's new text, or nothing (error() says why).
  std::optional<std::string> apply(const json_value& item, const record_edit& edit) {
    for (const auto& [name, value] : edit.set) {
      if (!is_utf8(name) || !is_utf8(value)) {
        refuse("an edit value is not valid UTF-8");
        return std::nullopt;
      }
    }
    std::vector<member> members = members_of(item);
    bool done = false;
    switch (body_.properties) {
      case container::object_map: done = edit_map(item, members, edit); break;
      case container::name_value_array: done = edit_array(item, members, edit); break;
      case container::top_level: done = edit_top_level(item, members, edit); break;
      case container::none: refuse("this operation carries no contact properties to edit"); break;
      case container::form_pairs: refuse("internal: form bodies are not JSON"); break;
    }
    if (!done) {
      return std::nullopt;
    }
    return write_object(members);
  }

  const std::string& error() const noexcept { return error_; }

private:
  bool refuse(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // The first property the edit removes or sets for which `test` holds.
  template <class Test>
  static std::optional<std::string> first_edited(const record_edit& edit, const Test& test) {
    for (const std::string& name : edit.remove) {
      if (test(name)) {
        return name;
      }
    }
    for (const auto& named : edit.set) {
      if (test(named.first)) {
        return named.first;
      }
    }
    return std::nullopt;
  }

  // Puts the property container's new text in the item (added last when it had none).
  void set_container(std::vector<member>& item, std::string text) {
    if (member* m = find_member(item, body_.properties_key)) {
      m->value = std::move(text);
    } else {
      item.push_back(new_member(body_.properties_key, std::move(text)));
    }
  }

  bool edit_map(const json_value& item, std::vector<member>& item_members, const record_edit& edit) {
    std::vector<member> props = members_of(member_value(item, body_.properties_key));
    for (const std::string& name : edit.remove) {
      std::erase_if(props, [&](const member& m) { return same_name(m.key, name); });
    }
    for (const auto& named : edit.set) {
      const std::string& name = named.first; // not a structured binding: clang 14 cannot capture one
      const std::string& value = named.second;
      // The first member of that name takes the value (keeping the sender's spelling and
      // position), the others go: in one pass, however many spellings of the name the body has.
      const bool found = keep_first_of(props, [&](const member& m) { return same_name(m.key, name); },
                                       [&](member& m) { m.value = json_text(value); });
      if (!found) {
        props.push_back(new_member(name, json_text(value)));
      }
    }
    set_container(item_members, write_object(props));
    return true;
  }

  bool edit_array(const json_value& item, std::vector<member>& item_members, const record_edit& edit) {
    struct entry {
      std::optional<json_value> node; // as sent, until edited
      std::vector<member> fields;     // once edited, or added here: what it is written from
      bool edited = false;
      std::optional<std::string> name; // the entry's string under entry_name_key
      bool typed = false;              // it names its object type (objectTypeId)
      bool other_object = false;       // ... and that is not the contact's
    };
    std::vector<entry> entries;
    if (const auto array = member_value(item, body_.properties_key); array && array->is_array()) {
      entries.reserve(array->size());
      for (const json_value e : array->elements()) {
        entry read;
        read.node = e;
        if (e.is_object()) {
          if (const auto n = member_value(e, body_.entry_name_key); n && n->is_string()) {
            read.name = n->string_value();
          }
          const auto type = member_value(e, "objectTypeId");
          read.typed = type.has_value();
          read.other_object = type && !(type->is_string() && is_contact_type_id(type->string_value())) &&
                              !(type->is_number() && is_contact_type_id(type->raw()));
        }
        entries.push_back(std::move(read));
      }
    }
    const auto matches = [&](const entry& e, std::string_view name) {
      return e.name && same_property(body_, *e.name, name);
    };
    // A form may fill several objects, each field naming its own (`objectTypeId`); the extractor
    // reads every field as the contact's, and so might a lenient server. A field of another object
    // with an edited property's name leaves no edit that means one thing: the value set would land
    // on the first field of that name, whichever object's it is.
    const auto touches_other_object = [&](std::string_view name) {
      return std::any_of(entries.begin(), entries.end(), [&](const entry& e) { return e.other_object && matches(e, name); });
    };
    if (const auto name = first_edited(edit, touches_other_object)) {
      return refuse("\"" + *name + "\" is also a field of another object in this form: the edit cannot be made");
    }
    for (const std::string& name : edit.remove) {
      std::erase_if(entries, [&](const entry& e) { return matches(e, name); });
    }
    for (const auto& named : edit.set) {
      const std::string& name = named.first; // not a structured binding: clang 14 cannot capture one
      const std::string& value = named.second;
      const bool found = keep_first_of(entries, [&](const entry& e) { return matches(e, name); }, [&](entry& e) {
        if (!e.edited) {
          e.fields = members_of(e.node);
          e.edited = true;
        }
        if (member* v = find_member(e.fields, "value")) {
          v->value = json_text(value);
        } else {
          e.fields.push_back(new_member("value", json_text(value)));
        }
      });
      if (!found) {
        // Forms v3 fields name their object type (§2.4 row 15): a new field follows the others.
        entry added;
        added.typed = std::any_of(entries.begin(), entries.end(), [](const entry& e) { return e.typed; });
        if (added.typed) {
          added.fields.push_back(new_member("objectTypeId", json_text("0-1")));
        }
        added.fields.push_back(new_member(body_.entry_name_key, json_text(name)));
        added.fields.push_back(new_member("value", json_text(value)));
        added.edited = true;
        added.name = name;
        entries.push_back(std::move(added));
      }
    }
    std::string text = "[";
    for (const entry& e : entries) {
      if (text.size() > 1) {
        text += ',';
      }
      if (e.edited) {
        text += write_object(e.fields);
      } else {
        text += e.node->raw();
      }
    }
    text += ']';
    set_container(item_members, std::move(text));
    return true;
  }

  bool edit_top_level(const json_value& item, std::vector<member>& members, const record_edit& edit) {
    // A booking's form fields name properties too (`firstname`, `0-1/lastname`), which the
    // extractor reads: an edit of the top-level member would leave the field's value beside it,
    // for HubSpot to take either.
    if (const auto fields = member_value(item, "formFields"); fields && fields->is_array()) {
      const auto in_fields = [&](std::string_view name) {
        for (const json_value field : fields->elements()) {
          if (const auto n = field.is_object() ? member_value(field, "name") : std::nullopt;
              n && n->is_string() && same_name(form_field_property(n->string_value()), name)) {
            return true;
          }
        }
        return false;
      };
      if (const auto name = first_edited(edit, in_fields)) {
        return refuse("\"" + *name + "\" is also in the booking's formFields: the edit cannot be made");
      }
    }
    const auto key_for = [&](std::string_view name) -> std::optional<std::string_view> {
      for (const std::string_view key : body_.editable) {
        if (same_name(key, name)) {
          return key;
        }
      }
      return std::nullopt;
    };
    for (const std::string& name : edit.remove) {
      const auto key = key_for(name);
      if (!key) {
        return refuse("\"" + name + "\" cannot be edited on this operation");
      }
      // An object lookup erases the one member keyed so.
      if (const auto it = std::find_if(members.begin(), members.end(), [&](const member& m) { return m.key == *key; });
          it != members.end()) {
        members.erase(it);
      }
    }
    for (const auto& [name, value] : edit.set) {
      const auto key = key_for(name);
      if (!key) {
        return refuse("\"" + name + "\" cannot be edited on this operation");
      }
      member* current = find_member(members, *key);
      std::string text;
      // createContact is a boolean (§2.6 row 22); a string there would be coerced or refused.
      if ((current != nullptr && (current->value == "true" || current->value == "false")) || *key == "createContact") {
        if (value != "true" && value != "false") {
          return refuse("\"" + std::string(*key) + "\" takes true or false");
        }
        text = value;
      } else {
        text = json_text(value);
      }
      if (current != nullptr) {
        current->value = std::move(text);
      } else {
        members.push_back(new_member(*key, std::move(text)));
      }
    }
    return true;
  }

  const parsed_body& body_;
  std::string error_;
};

std::string encode_pair(std::string_view name, std::string_view value) {
  std::string out = percent_encode(name);
  out.push_back('=');
  percent_encode_append(value, out);
  return out;
}

std::string rebuild_form(const parsed_body& body, const record_edit& edit) {
  std::vector<std::string> replaced(body.form.size());
  const auto editable = [&body](const form_pair& pair, std::string_view name) {
    return !iequals_ascii(pair.name, "hs_context") && same_property(body, pair.name, name);
  };
  std::vector<bool> dropped(body.form.size(), false);
  for (const std::string& name : edit.remove) {
    for (std::size_t i = 0; i < body.form.size(); ++i) {
      dropped[i] = dropped[i] || editable(body.form[i], name);
    }
  }
  std::vector<std::string> appended;
  for (const auto& [name, value] : edit.set) {
    bool found = false;
    for (std::size_t i = 0; i < body.form.size(); ++i) {
      if (dropped[i] || !editable(body.form[i], name)) {
        continue;
      }
      if (found) {
        dropped[i] = true;
      } else {
        replaced[i] = encode_pair(body.form[i].name, value);
        found = true;
      }
    }
    if (!found) {
      appended.push_back(encode_pair(name, value));
    }
  }
  std::string out;
  const auto add = [&](std::string_view text) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += text;
  };
  for (std::size_t i = 0; i < body.form.size(); ++i) {
    if (!dropped[i]) {
      add(replaced[i].empty() ? std::string_view(body.form[i].raw) : std::string_view(replaced[i]));
    }
  }
  for (const std::string& text : appended) {
    add(text);
  }
  return out;
}

// The body with only the kept items, as pieces of its own bytes: each kept item is forwarded
// exactly as sent (and as extract() read it), nothing is re-serialised.
std::vector<std::string_view> splice_kept_items(const parsed_body& body, const std::vector<std::size_t>& kept_items) {
  static constexpr std::string_view comma = ",";
  std::string_view text = body.text;
  const std::size_t start = text.starts_with("\xEF\xBB\xBF") ? 3 : 0; // the BOM is not forwarded
  std::vector<std::string_view> pieces;
  pieces.reserve(2 * kept_items.size() + 1);
  pieces.push_back(text.substr(start, body.item_list.begin + 1 - start)); // up to `[`
  for (const std::size_t i : kept_items) {
    if (pieces.size() != 1) {
      pieces.push_back(comma);
    }
    const parsed_body::byte_range item = body.item_bytes[i];
    pieces.push_back(text.substr(item.begin, item.end - item.begin));
  }
  pieces.push_back(text.substr(body.item_list.end - 1)); // from `]`
  return pieces;
}


// The value whose first byte is at `offset`: tokens are in document order, so their first bytes
// rise with their index.
std::optional<json_value> value_at(const json_document& document, std::uint32_t offset) {
  std::uint32_t low = 0;
  std::uint32_t high = static_cast<std::uint32_t>(document.token_count());
  while (low < high) {
    const std::uint32_t mid = low + (high - low) / 2;
    if (document.token(mid).begin < offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  if (low == document.token_count() || document.token(low).begin != offset) {
    return std::nullopt;
  }
  return json_value(document, low);
}

} // namespace

std::string join_pieces(std::span<const std::string_view> pieces) {
  std::size_t size = 0;
  for (const std::string_view piece : pieces) {
    size += piece.size();
  }
  std::string out;
  out.reserve(size);
  for (const std::string_view piece : pieces) {
    out.append(piece);
  }
  return out;
}

rebuilt_body rebuild(const extraction& extraction, const std::vector<bool>& keep, std::span<const record_edit> edits,
                     rebuilt_form form) {
  rebuilt_body out;
  try {
    const parsed_body& body = extraction.body;
    if (!extraction.ok() || extraction.op == nullptr) {
      out.error = "nothing to rebuild: the extraction failed";
      return out;
    }
    if (keep.size() != extraction.records.size() || (!edits.empty() && edits.size() != extraction.records.size())) {
      out.error = "one keep flag (and at most one edit) per record is required";
      return out;
    }
    std::vector<bool> keep_item(body.item_count, true);
    bool changed = false;
    for (std::size_t r = 0; r < extraction.records.size(); ++r) {
      const std::size_t index = extraction.records[r].index;
      if (index >= body.item_count) {
        out.error = "internal: record index outside the body";
        return out;
      }
      if (!keep[r]) {
        keep_item[index] = false;
        changed = true;
      }
      changed = changed || (!edits.empty() && !edits[r].empty());
    }
    for (std::size_t i = 0; i < body.item_count; ++i) {
      if (keep_item[i]) {
        out.kept_items.push_back(i);
      }
    }
    if (!changed) {
      out.unchanged = true;
      return out;
    }
    if (out.kept_items.empty()) {
      out.kept_items.clear();
      out.error = "every item is dropped: answer the request locally";
      return out;
    }
    if (body.properties == container::form_pairs) {
      out.body = rebuild_form(body, edits.empty() ? record_edit{} : edits.front());
      return out;
    }
    // An item's further records (cc/bcc recipients, guests) own no properties: only the first
    // record of an item edits it, and an edit decided for another cannot be made.
    const auto first_of_item = [&](std::size_t r) {
      return r == 0 || extraction.records[r - 1].index != extraction.records[r].index;
    };
    const auto edits_item = [&](std::size_t r) {
      return keep[r] && first_of_item(r) && !edits.empty() && !edits[r].empty();
    };
    for (std::size_t r = 0; r < extraction.records.size() && !edits.empty(); ++r) {
      if (keep[r] && !first_of_item(r) && !edits[r].empty()) {
        out.kept_items.clear();
        out.error = "an edit of a recipient or guest other than the first cannot be made: the body carries no "
                    "properties of theirs";
        return out;
      }
    }
    bool any_edit = false;
    for (std::size_t r = 0; r < extraction.records.size() && !any_edit; ++r) {
      any_edit = edits_item(r);
    }
    if (!any_edit && body.item_bytes.size() == body.item_count && out.kept_items.size() != body.item_count) {
      out.pieces = splice_kept_items(body, out.kept_items);
      if (form == rebuilt_form::text) {
        out.body = join_pieces(out.pieces);
        out.pieces.clear();
      }
      return out;
    }
    // Edits are applied to the body's bytes, scanned again: the scan that extract() made is strict,
    // so this one reads the same document.
    json_document document;
    if (!document.scan(body.text)) {
      out.kept_items.clear();
      out.error = "internal: the body no longer scans: " + document.error();
      return out;
    }
    const bool batch = body.item_bytes.size() == body.item_count && body.item_count > 0 && !body.item_bytes.empty();
    // Each item's value: a batch's from the array that holds them, else the body itself.
    std::vector<json_value> items;
    if (batch) {
      const std::optional<json_value> array = value_at(document, body.item_list.begin);
      if (!array || !array->is_array() || array->size() != body.item_count) {
        out.kept_items.clear();
        out.error = "internal: the items are not where extract() found them";
        return out;
      }
      items.reserve(array->size());
      for (const json_value item : array->elements()) {
        items.push_back(item);
      }
    } else {
      items.push_back(document.root());
    }
    std::vector<std::optional<std::string>> edited(items.size());
    editor edit(body);
    for (std::size_t r = 0; r < extraction.records.size(); ++r) {
      if (!edits_item(r)) {
        continue;
      }
      const std::size_t index = batch ? extraction.records[r].index : 0;
      edited[index] = edit.apply(items[index], edits[r]);
      if (!edited[index]) {
        out.kept_items.clear();
        out.error = edit.error();
        return out;
      }
    }
    const std::string_view text = body.text;
    const std::size_t start = text.starts_with("\xEF\xBB\xBF") ? 3 : 0; // the BOM is not forwarded
    if (!batch) {
      const json_value& item = items.front();
      out.body = std::string(text.substr(start, item.begin_offset() - start));
      out.body += edited.front() ? std::string_view(*edited.front()) : item.raw();
      out.body += text.substr(item.end_offset());
      return out;
    }
    out.body = std::string(text.substr(start, body.item_list.begin + 1 - start)); // up to `[`
    for (std::size_t k = 0; k < out.kept_items.size(); ++k) {
      const std::size_t i = out.kept_items[k];
      if (k != 0) {
        out.body += ',';
      }
      out.body += edited[i] ? std::string_view(*edited[i]) : items[i].raw();
    }
    out.body += text.substr(body.item_list.end - 1); // from `]`
  } catch (const std::exception& ex) {
    out = rebuilt_body{};
    out.error = std::string("cannot rebuild the body: ") + ex.what();
  }
  return out;
}

} // namespace hubgate::hubspot
