#pragma once
// The rules-file subcommands, as parsed by options.hpp. Each reads the files it names, writes its
// report to `out` and its problems to `err`, and returns the exit status: 0 success; 1 invalid
// rules, a failed test or an unreadable file. Nothing else is touched, so tests drive them whole.
//
// Output (the product's contract; scripts and editors read it):
//   check    out: `FILE: OK (N rules, N tests)`, plus `; mode: shadow, nothing is enforced` before
//            the `)` for a file in shadow mode. err: one `FILE:LINE:COLUMN: message` per error
//            (`FILE: message` when the file cannot be read).
//   test     out: one line per test in file order, `PASS name` or `FAIL name: why`, followed by
//            ` [shadow: OUTCOME, ...]` (one per record) when the rules gave shadow outcomes; then
//            `N passed, N failed`. An invalid file prints check's errors on err instead.
//   explain  out: one JSON document, indented by 2 spaces:
//     request         {method, target, content_type (null when none), content_type_assumed?}
//     operation       {name, kind} of the catalog operation, or null
//     canonical_path  the path rules match against; null when the target cannot be read
//     records         [{index, email (or null), properties {name: value, or [values] when a
//                     form repeats a field}, id_property?, id?}] as the extractor read them
//     decisions       one per record (one for the whole request outside the catalog, none when no
//                     rule touches it): {index (null outside the catalog), rules: [{name, action,
//                     mode?: "shadow", matched, effect?}], decision: OUTCOME, shadow?: OUTCOME}
//                     where effect is "decided", "edited", "edits dropped (blocked)",
//                     "not reached" (an earlier rule decided) or "shadow only"
//     decision        the proxy's: {verdict: allow|block|rewrite|reject, action: pass|forward|
//                     answer|split, reason?, forward_target?, forwarded_body?, blocked_items?,
//                     answer?: {status, body}}
//   OUTCOME is {verdict: allow|block|rewrite, rule (deciding rule, "default", or null), status?,
//   message?, edits?: [{property, set: value | remove: true, rule}]}.
//
// Requests in `test` and `explain` are read as the proxy reads them (config/request_inspection.hpp).
// A catalog request given no Content-Type header is sent with the one its operation takes (JSON,
// form-urlencoded, multipart), which tests and command lines usually leave out. A request the proxy
// refuses before any rule runs (400, fail closed) is `reject`; a test expects it with
// `expect: reject`.

#include "cli/options.hpp"

#include <ostream>

namespace hubgate::cli {

int run_check(const check_command& check, std::ostream& out, std::ostream& err);
int run_test(const test_command& test_file, std::ostream& out, std::ostream& err);
int run_explain(const explain_command& explain, std::ostream& out, std::ostream& err);
// One operation a line: name, kind, method (and the other one it is also sent with), host, then
// its path patterns (catalog.hpp's notation), one a line under it.
int run_catalog(std::ostream& out);

} // namespace hubgate::cli
