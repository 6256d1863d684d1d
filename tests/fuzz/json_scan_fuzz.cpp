// libFuzzer target: the JSON scanner against the scanner it replaced (tests/reference). On every
// input both must give the same verdict, the same error text and the same tokens, and every object
// the scanner flags plain_members must be one; a difference traps. ASan and UBSan watch the new scanner's block loads and its key buffers. Both block
// readers (AVX2 where the CPU has it, and SSE2) scan every input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "hubgate/hubspot/json_scan.hpp"
#include "json_scan_reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate::hubspot;
  // Its own copy, so that ASan sees a read past the body's last byte.
  const std::vector<char> body(data, data + size);
  const std::string_view text(body.data(), body.size());
  std::vector<json_token> expected_tokens;
  std::string expected_error;
  const bool expected = reference::json_scan(text, expected_tokens, expected_error);
  // Each input with the block reader the CPU allows (AVX2 on most), then with SSE2 forced.
  for (const bool force_sse2 : {false, true}) {
    detail::json_scan_force_sse2(force_sse2);
    json_document document;
    const bool actual = document.scan(text);
    bool same =
        actual == expected && document.error() == expected_error && document.token_count() == expected_tokens.size();
    for (std::uint32_t i = 0; same && i < expected_tokens.size(); ++i) {
      same = std::memcmp(&document.token(i), &expected_tokens[i], offsetof(json_token, escaped) + 1) == 0;
    }
    if (!same) {
      std::fprintf(stderr, "scanner (%s) and reference differ: %s / %s\n", force_sse2 ? "SSE2" : "CPU's choice",
                   document.error().c_str(), expected_error.c_str());
      __builtin_trap();
    }
    // Objects flagged plain_members are what readers take them for.
    if (const std::string flaw = reference::plain_members_flaw(document); !flaw.empty()) {
      std::fprintf(stderr, "scanner (%s): %s\n", force_sse2 ? "SSE2" : "CPU's choice", flaw.c_str());
      __builtin_trap();
    }
  }
  detail::json_scan_force_sse2(false);
  return 0;
}
