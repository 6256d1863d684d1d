#include "hubgate/hubspot/rebuild.hpp"

#include "hubgate/hubspot/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

namespace hubgate::hubspot {

namespace {

using json = nlohmann::ordered_json;
using container = parsed_body::container;

// Edits name properties as the extractor reads them: ignoring case, Java-style.
// A name in the body is the edited one in any case and with any padding (extract reads it so).
bool same_name(std::string_view wire, std::string_view name) {
  return wire == name || equals_folded(trim_name_padding(wire), name);
}

// An entry's or form field's name in the body against a property's: a form's `0-1/email` is
// `email`, as extract reads it.
bool same_property(const parsed_body& body, std::string_view wire, std::string_view name) {
  return same_name(body.form_field_names ? form_field_property(wire) : wire, name);
}

class editor {
public:
  explicit editor(const parsed_body& body) : body_(body) {}

  bool apply(json& item, const record_edit& edit) {
    switch (body_.properties) {
      case container::object_map: return edit_map(item, edit);
      case container::name_value_array: return edit_array(item, edit);
      case container::top_level: return edit_top_level(item, edit);
      case container::none: return fail("this operation carries no contact properties to edit");
      case container::form_pairs: break;
    }
    return fail("internal: form bodies are not JSON");
  }

  std::string error;

private:
  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }

  json& properties_of(json& item, json initial) {
    json& props = item[std::string(body_.properties_key)];
    if (props.is_null()) {
      props = std::move(initial);
    }
    return props;
  }

  bool edit_map(json& item, const record_edit& edit) {
    json& props = properties_of(item, json::object());
    for (const std::string& name : edit.remove) {
      for (auto it = props.begin(); it != props.end();) {
        it = same_name(it.key(), name) ? props.erase(it) : std::next(it);
      }
    }
    for (const auto& [name, value] : edit.set) {
      bool found = false;
      for (auto it = props.begin(); it != props.end();) {
        if (!same_name(it.key(), name)) {
          ++it;
        } else if (!found) {
          it.value() = value; // keeps the sender's spelling and position
          found = true;
          ++it;
        } else {
          it = props.erase(it);
        }
      }
      if (!found) {
        props[name] = value;
      }
    }
    return true;
  }

  bool edit_array(json& item, const record_edit& edit) {
    json& entries = properties_of(item, json::array());
    const std::string name_key(body_.entry_name_key);
    const auto matches = [&](const json& entry, std::string_view name) {
      const auto it = entry.find(name_key);
      return it != entry.end() && it->is_string() && same_property(body_, it->get_ref<const std::string&>(), name);
    };
    for (const std::string& name : edit.remove) {
      for (std::size_t i = entries.size(); i-- > 0;) {
        if (matches(entries[i], name)) {
          entries.erase(i);
        }
      }
    }
    for (const auto& [name, value] : edit.set) {
      bool found = false;
      for (std::size_t i = 0; i < entries.size();) {
        if (!matches(entries[i], name)) {
          ++i;
        } else if (!found) {
          entries[i]["value"] = value;
          found = true;
          ++i;
        } else {
          entries.erase(i);
        }
      }
      if (!found) {
        json entry = json::object();
        // Forms v3 fields name their object type (§2.4 row 15); a new field follows suit.
        const bool typed = std::any_of(entries.begin(), entries.end(),
                                       [](const json& e) { return e.is_object() && e.contains("objectTypeId"); });
        if (typed) {
          entry["objectTypeId"] = "0-1";
        }
        entry[name_key] = name;
        entry["value"] = value;
        entries.push_back(std::move(entry));
      }
    }
    return true;
  }

  bool edit_top_level(json& item, const record_edit& edit) {
    const auto key_for = [&](std::string_view name) -> std::optional<std::string> {
      for (const std::string_view key : body_.editable) {
        if (same_name(key, name)) {
          return std::string(key);
        }
      }
      return std::nullopt;
    };
    for (const std::string& name : edit.remove) {
      const auto key = key_for(name);
      if (!key) {
        return fail("\"" + name + "\" cannot be edited on this operation");
      }
      item.erase(*key);
    }
    for (const auto& [name, value] : edit.set) {
      const auto key = key_for(name);
      if (!key) {
        return fail("\"" + name + "\" cannot be edited on this operation");
      }
      const auto current = item.find(*key);
      // createContact is a boolean (§2.6 row 22); a string there would be coerced or refused.
      if ((current != item.end() && current->is_boolean()) || *key == "createContact") {
        if (value != "true" && value != "false") {
          return fail("\"" + *key + "\" takes true or false");
        }
        item[*key] = value == "true";
      } else {
        item[*key] = value;
      }
    }
    return true;
  }

  const parsed_body& body_;
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

json* item_at(json& root, const parsed_body& body, std::size_t index) {
  if (!body.items_key.empty()) {
    return &root[std::string(body.items_key)][index];
  }
  return root.is_array() ? &root[index] : &root;
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
    // record of an item edits it.
    const auto edits_item = [&](std::size_t r) {
      const bool first_of_item = r == 0 || extraction.records[r - 1].index != extraction.records[r].index;
      return keep[r] && first_of_item && !edits.empty() && !edits[r].empty();
    };
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
    // Edits are applied to a DOM built only now: the scan that extract() made is strict, so this
    // parse reads the same document.
    json root = json::parse(body.text);
    editor edit(body);
    for (std::size_t r = 0; r < extraction.records.size(); ++r) {
      if (edits_item(r) && !edit.apply(*item_at(root, body, extraction.records[r].index), edits[r])) {
        out.kept_items.clear();
        out.error = edit.error;
        return out;
      }
    }
    if (out.kept_items.size() != body.item_count) {
      json& items = body.items_key.empty() ? root : root[std::string(body.items_key)];
      json kept = json::array();
      for (const std::size_t i : out.kept_items) {
        kept.push_back(std::move(items[i]));
      }
      items = std::move(kept);
    }
    try {
      out.body = root.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::type_error&) {
      out.kept_items.clear();
      out.error = "an edit value is not valid UTF-8";
    }
  } catch (const std::exception& ex) {
    out = rebuilt_body{};
    out.error = std::string("cannot rebuild the body: ") + ex.what();
  }
  return out;
}

} // namespace hubgate::hubspot
