#pragma once
// The JSON scanner as it was before its single-pass rewrite, kept only so that tests and the
// fuzzer can check that the production scanner (src/hubspot/json_scan.cpp) still gives the same
// verdict and the same tokens on every input. Never linked into hubgate itself.

#include "hubgate/hubspot/json_scan.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hubgate::hubspot::reference {

// True with the document's tokens in `tokens`, or false with a message in `error`.
bool json_scan(std::string_view text, std::vector<json_token>& tokens, std::string& error);

// What the reference scanner does not say: json_token::plain_members, which readers trust to walk
// an object's members as key and string-value pairs. Empty when every object the document flags
// is such an object and no other token is flagged; else what is wrong, at which token.
std::string plain_members_flaw(const json_document& document);

} // namespace hubgate::hubspot::reference
