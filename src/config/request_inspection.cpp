#include "hubgate/config/request_inspection.hpp"

#include "hubgate/hubspot/text.hpp"

#include <exception>

namespace hubgate::config {

rules::request_facts inspected_request::facts(std::string_view method, const rules::header_lookup* headers,
                                              std::string_view client) const {
  rules::request_facts out;
  out.method = method;
  out.headers = headers;
  out.client = client;
  if (const hubspot::operation* op = classification.op) {
    out.path = classification.canonical_path;
    out.operation = rules::operation_ref{op->name, op->kind};
    out.records = extraction.records;
    out.other_paths = other_paths;
  } else {
    out.path = path;
  }
  return out;
}

inspected_request inspect_request(const request_text& request, bool canonicalise_outside_catalog) {
  inspected_request out;
  try {
    out.classification = hubspot::classify(request.method, request.target);
    if (!out.classification.ok()) {
      out.error = out.classification.error;
      return out;
    }
    const hubspot::operation* op = out.classification.op;
    out.other_paths = hubspot::path_spellings(out.classification);
    if (op == nullptr) {
      if (canonicalise_outside_catalog) {
        hubspot::canonical_target canonical = hubspot::canonicalise(request.target);
        out.error = std::move(canonical.error);
        out.path = std::move(canonical.path);
      }
      return out;
    }
    if (!request.content_encoding.empty() && !hubspot::iequals_ascii(request.content_encoding, "identity")) {
      out.error = "Content-Encoding '" + std::string(request.content_encoding) + "' is not accepted on " +
                  std::string(op->name) + ": send the body uncompressed";
      return out;
    }
    out.extraction = hubspot::extract(out.classification, request.body, request.content_type);
    if (!out.extraction.ok()) {
      out.error = out.extraction.error;
    }
  } catch (const std::exception& e) { // out of memory while copying: refuse rather than guess
    out.error = std::string("cannot read the request: ") + e.what();
  }
  return out;
}

} // namespace hubgate::config
