// Test that header file is self-contained.
#include "cli/commands.hpp"

#include "hubgate/config/request_inspection.hpp"
#include "hubgate/config/rules_file.hpp"
#include "hubgate/hubspot/catalog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::cli {
namespace {

using json = nlohmann::ordered_json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::EndsWith;
using ::testing::StartsWith;

// A directory of its own per test, removed afterwards; files are written into it by name.
class scratch_dir {
 public:
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hubgate-cli-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    path_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  std::string write(std::string_view name, std::string_view text) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  std::string path(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct run_result {
  int status = -1;
  std::string out;
  std::string err;

  std::vector<std::string> out_lines() const { return lines(out); }
  std::vector<std::string> err_lines() const { return lines(err); }

  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }
};

run_result check(const std::string& file) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = run_check(check_command{file}, out, err);
  return {status, out.str(), err.str()};
}

run_result test(const std::string& file) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = run_test(test_command{file}, out, err);
  return {status, out.str(), err.str()};
}

run_result explain(const explain_command& command) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = run_explain(command, out, err);
  return {status, out.str(), err.str()};
}

// Runs explain and returns its document, failing the test when it is not one.
json explain_json(const explain_command& command) {
  const run_result r = explain(command);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  json doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  return doc;
}

command parse(std::vector<std::string_view> args) {
  args.insert(args.begin(), "hubgate");
  return parse_command_line(args, [](std::string_view) { return std::optional<std::string>(); });
}

std::string error_of(const command& c) {
  return std::holds_alternative<usage_error>(c) ? std::get<usage_error>(c).message : "(no error)";
}

constexpr std::string_view small_rules = R"yaml(version: 1
default: allow
rules:
  - name: no-test-domains
    match: { email_domain: [example.com, test.com] }
    action: block
    message: Test addresses are not created
  - name: require-email
    match: { kind: [create], email: { missing: true } }
    action: block
    status: 422
  - name: tag
    match: { operations: [contacts.create, contacts.batch_create] }
    action: rewrite
    set: { lifecyclestage: lead }
  - name: try-free-mail
    mode: shadow
    match: { email_domain: gmail.com }
    action: block
  - name: no-deletes
    match: { method: DELETE, path: '^/crm/v3/objects/contacts/\d+$' }
    action: block
tests:
  - name: test domain blocked
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: Jo@Test.com } } }
    expect: { verdict: block, rule: no-test-domains }
)yaml";

// --- the command line

TEST(CommandLine, ParsesTheRulesCommands) {
  const command c = parse({"check", "config/rules.yaml"});
  ASSERT_TRUE(std::holds_alternative<check_command>(c)) << error_of(c);
  EXPECT_EQ(std::get<check_command>(c).file, "config/rules.yaml");

  const command t = parse({"test", "r.yaml"});
  ASSERT_TRUE(std::holds_alternative<test_command>(t)) << error_of(t);
  EXPECT_EQ(std::get<test_command>(t).file, "r.yaml");

  const command e = parse({"explain", "--method", "POST", "r.yaml", "--path=/crm/v3/objects/contacts?a=b", "--body",
                           "c.json", "--header", "Content-Type:  application/json ", "--header=X-App: sync",
                           "--client", "zapier"});
  ASSERT_TRUE(std::holds_alternative<explain_command>(e)) << error_of(e);
  const auto& x = std::get<explain_command>(e);
  EXPECT_EQ(x.file, "r.yaml");
  EXPECT_EQ(x.method, "POST");
  EXPECT_EQ(x.path, "/crm/v3/objects/contacts?a=b");
  EXPECT_EQ(x.body_file, std::optional<std::string>("c.json"));
  EXPECT_EQ(x.headers, (std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"},
                                                                         {"X-App", "sync"}}));
  EXPECT_EQ(x.client, std::optional<std::string>("zapier"));
  EXPECT_TRUE(std::holds_alternative<help_request>(parse({"explain", "--help"})));
  EXPECT_TRUE(std::holds_alternative<help_request>(parse({"check", "-h"})));
}

TEST(CommandLine, BadRulesCommandLinesAreUsageErrors) {
  EXPECT_EQ(error_of(parse({"check"})), "check needs a rules FILE (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"test", "a", "b"})), "unexpected argument 'b' (test takes one rules FILE)");
  EXPECT_EQ(error_of(parse({"check", "--strict", "a"})), "unknown flag '--strict' (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"explain", "--method", "GET", "--path", "/"})),
            "explain needs a rules FILE (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--path", "/"})), "explain needs --method");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method", "GET"})), "explain needs --path");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method"})), "flag --method needs a value");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method", "GET", "--method", "POST", "--path", "/"})),
            "--method given twice");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method", "G T", "--path", "/"})),
            "--method 'G T': expected an HTTP method like POST");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method", "GET", "--path", "/", "--header", "X-App"})),
            "--header: expected 'Name: value', a field name then ':' (what was given is not shown, as it may hold "
            "a secret)");
  EXPECT_THAT(error_of(parse({"explain", "r.yaml", "--method", "GET", "--path", "/", "--header",
                              "Authorization Bearer pat-na1-SECRET"})),
              ::testing::Not(::testing::HasSubstr("SECRET")));
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method", "GET", "--path", "/", "--verbose"})),
            "unknown flag '--verbose' (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "s.yaml", "--method", "GET", "--path", "/"})),
            "unexpected argument 's.yaml' (explain takes one rules FILE)");
  EXPECT_EQ(error_of(parse({"explain", "r.yaml", "--method", "GET", "--path", "/", "--client", "a", "--client=b"})),
            "--client given twice");
}

TEST(CommandLine, HelpListsTheRulesCommands) {
  const std::string help = help_text();
  EXPECT_THAT(help, HasSubstr("hubgate check FILE"));
  EXPECT_THAT(help, HasSubstr("hubgate test FILE"));
  EXPECT_THAT(help, HasSubstr("hubgate explain FILE --method M --path P [--body FILE] [--header 'Name: value']..."));
}

// --- catalog

// Every operation rules can name, once, at the start of its line, with the host it goes to and
// each of its paths.
TEST(Catalog, ListsEveryOperationWithItsKindMethodHostAndPaths) {
  std::ostringstream out;
  EXPECT_EQ(run_catalog(out), 0);
  const std::string text = out.str();
  EXPECT_TRUE(text.starts_with("OPERATION ")) << text;
  for (const hubspot::operation& op : hubspot::all_operations()) {
    const std::string line_start = "\n" + std::string(op.name) + " ";
    const auto at = text.find(line_start);
    ASSERT_NE(at, std::string::npos) << op.name;
    EXPECT_EQ(text.find(line_start, at + 1), std::string::npos) << op.name;
    const std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
    EXPECT_NE(line.find(std::string(" ") + std::string(hubspot::to_string(op.kind)) + " "), std::string::npos) << line;
    EXPECT_NE(line.find(op.upstream == hubspot::upstream_id::forms ? " forms " : " api "), std::string::npos) << line;
    for (const std::string_view path : op.paths) {
      EXPECT_NE(text.find(" " + std::string(path) + "\n"), std::string::npos) << path;
    }
  }
  EXPECT_NE(text.find("\ntimeline.legacy_event_create "), std::string::npos);
  EXPECT_NE(text.find(" PUT|POST "), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<catalog_command>(parse({"catalog"})));
  EXPECT_EQ(error_of(parse({"catalog", "rules.yaml"})), "unexpected argument 'rules.yaml' (catalog takes none)");
}

// --- check

TEST(Check, ValidFileSaysOkWithCounts) {
  const scratch_dir dir;
  const std::string file = dir.write("rules.yaml", small_rules);
  const run_result r = check(file);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, file + ": OK (5 rules, 1 test)\n");
  EXPECT_EQ(r.err, "");

  const std::string shadow =
      dir.write("shadow.yaml", "version: 1\nmode: shadow\nrules:\n  - name: a\n    action: allow\n");
  EXPECT_EQ(check(shadow).out, shadow + ": OK (1 rule, 0 tests; mode: shadow, nothing is enforced)\n");
}

// A rewrite rule that would refuse events and messages (it cannot edit them) is named with its
// line; the file is valid all the same.
TEST(Check, NotesRewritesOfCallsThatCannotTakeThem) {
  const scratch_dir dir;
  const std::string file = dir.write("rules.yaml", "version: 1\nrules:\n  - name: for-creates\n    match: { kind: [create] }\n"
                                                   "    action: rewrite\n    set: { lifecyclestage: lead }\n"
                                                   "  - name: everything\n    action: rewrite\n    remove: [phone]\n");
  const run_result r = check(file);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, StartsWith(file + ": OK (2 rules, 0 tests)\n" + file +
                                ":7: note: rule 'everything' rewrites calls that cannot take its edits, and each of them "
                                "it matches is refused with a 400: forms.submit_embedded, imports.create, "
                                "emails.smtp_token_create, timeline.event_create, "));
  EXPECT_THAT(r.out, HasSubstr("automation.webhook_trigger. Name the calls it is for with operations: or kind:.\n"));
  // A send's cc and bcc, a booking's guests, carry no properties: a rewrite that may match them
  // refuses such calls.
  EXPECT_THAT(r.out, EndsWith(file + ":7: note: rule 'everything' may match a send's cc or bcc recipient or a booking's "
                                     "guest, who carry no properties to edit: such a call is refused with a 400 "
                                     "(emails.transactional_send, emails.transactional_send_v1, emails.marketing_send, "
                                     "meetings.book). Name the calls it is for with operations: if those are not among "
                                     "them.\n"));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);

  const std::string retried = dir.write("retried.yaml", "version: 1\nrules:\n  - name: busy\n    action: block\n    status: 503\n"
                                                        "  - name: plain\n    action: block\n    status: 429\n");
  EXPECT_EQ(check(retried).out, retried + ": OK (2 rules, 0 tests)\n" + retried +
                                    ":3: note: rule 'busy' blocks with status 503, which clients take for a failure of "
                                    "the server: the official SDKs retry 5xx answers (x-should-retry: false "
                                    "notwithstanding). A 4xx is not retried.\n");
}

TEST(Check, EveryErrorKindWithItsPosition) {
  const scratch_dir dir;
  const std::string file = dir.write("rules.yaml", R"yaml(version: 1
rules:
  - name: a
    action: block
  - name: b
    match:
      emial_domain: [example.com]
    action: block
  - name: c
    match: { path: '^/crm/(v3', operations: [contacts.craete, deals.create] }
    action: block
  - name: a
    action: allow
tests:
  - name: t
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { items: [reject] }
  - name: u
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: reject, rule: a }
)yaml");
  const run_result r = check(file);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err_lines(),
              ElementsAre(file + ":7:7: unknown key 'emial_domain' (did you mean 'email_domain'?)",
                          file + ":10:20: invalid regex '^/crm/(v3': missing ): ^/crm/(v3",
                          file + ":10:46: unknown operation 'contacts.craete' (did you mean 'contacts.create'?)",
                          file + ":10:63: unknown operation 'deals.create'",
                          file + ":12:11: duplicate rule name 'a' (first on line 3)",
                          file + ":17:23: a request is rejected whole: write 'expect: reject', not per item",
                          file + ":20:32: 'rule' cannot be expected of a rejected request (no rule runs on it)"));
}

TEST(Check, SyntaxErrorsAndUnreadableFiles) {
  const scratch_dir dir;
  const std::string file = dir.write("rules.yaml", "version: 1\nrules:\n  - name: a\n    match: { kind: [create }\n");
  const run_result r = check(file);
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err_lines(), ElementsAre(file + ":4:28: illegal flow end"));

  const std::string missing = dir.path("missing.yaml");
  const run_result m = check(missing);
  EXPECT_EQ(m.status, 1);
  EXPECT_EQ(m.out, "");
  EXPECT_EQ(m.err, missing + ": cannot read the rules file: No such file or directory\n");

  const run_result d = check(dir.path(""));
  EXPECT_EQ(d.status, 1);
  EXPECT_THAT(d.err, HasSubstr(": cannot read the rules file: Is a directory"));

  // A FIFO is refused at once: reading it would wait for a writer (in serve, on the thread that
  // answers /healthz).
  const std::string fifo = dir.path("fifo.yaml");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const run_result f = check(fifo);
  EXPECT_EQ(f.status, 1);
  EXPECT_EQ(f.err, fifo + ": cannot read the rules file: not a regular file\n");
}

// --- test

TEST(Test, PassAndFailLinesAndExitStatus) {
  const scratch_dir dir;
  std::string yaml(small_rules);
  yaml += R"yaml(  - name: good create is tagged
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: a@corp.io } } }
    expect: { set: { lifecyclestage: lead } }
  - name: wrong on purpose
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: a@corp.io } } }
    expect: block
  - name: batch
    request:
      method: POST
      path: /crm/v3/objects/contacts/batch/create
      body: { inputs: [ { properties: { email: a@corp.io } }, { properties: { firstname: X } } ] }
    expect: { items: [rewrite, { verdict: block, status: 422 }] }
  - name: free mail in shadow
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: jo@gmail.com } } }
    expect: { verdict: rewrite, shadow: block }
  - name: deletes of ids are blocked
    request: { method: DELETE, path: /crm/v3/objects/contacts/42 }
    expect: { verdict: block, rule: no-deletes }
  - name: reads pass
    request: { method: GET, path: /crm/v3/objects/contacts/42 }
    expect: allow
)yaml";
  const std::string file = dir.write("rules.yaml", yaml);
  const run_result r = test(file);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out_lines(),
              ElementsAre("PASS test domain blocked", "PASS good create is tagged",
                          "FAIL wrong on purpose: expected block, got rewrite (default, set lifecyclestage=lead by "
                          "'tag')",
                          "PASS batch", "PASS free mail in shadow [shadow: block by 'try-free-mail']",
                          "PASS deletes of ids are blocked", "PASS reads pass", "6 passed, 1 failed"));
}

TEST(Test, AllPassingExitsZero) {
  const scratch_dir dir;
  const run_result r = test(dir.write("rules.yaml", small_rules));
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out_lines(), ElementsAre("PASS test domain blocked", "1 passed, 0 failed"));
}

// A request the rules make the proxy refuse (a near miss of a rule's value, a rewrite of an import
// that cannot be made) is a reject to `test` as well, as `explain` and the proxy have it.
TEST(Test, RefusalsTheRulesCauseAreRejects) {
  const scratch_dir dir;
  const run_result r = test(dir.write("rules.yaml", R"(version: 1
rules:
  - name: no-owner-7
    match: { properties: { hubspot_owner_id: "7" } }
    action: block
  - name: tag
    match: { kind: [side_effect] }
    action: rewrite
    set: { lifecyclestage: lead }
tests:
  - name: near miss
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: a@b.io, hubspot_owner_id: "07" } } }
    expect: reject
  - name: import
    request: { method: POST, path: /crm/v3/imports, body: "--x--" }
    expect: reject
  - name: import said to be rewritten
    request: { method: POST, path: /crm/v3/imports, body: "--x--" }
    expect: rewrite
)"));
  EXPECT_EQ(r.status, 1);
  ASSERT_EQ(r.out_lines().size(), 4U) << r.out;
  EXPECT_EQ(r.out_lines()[0], "PASS near miss");
  EXPECT_EQ(r.out_lines()[1], "PASS import");
  EXPECT_THAT(r.out_lines()[2], StartsWith("FAIL import said to be rewritten: expected rewrite, got reject"));
}

// `expect: block` is what the proxy does with the request: a call decided whole is refused by one
// blocked contact; a v3 batch is split, so it is not blocked unless every item is.
TEST(Test, BlockIsTheRequestsFate) {
  const scratch_dir dir;
  const run_result r = test(dir.write("rules.yaml", R"(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
tests:
  - name: v1 batch with one blocked contact
    request: { method: POST, path: /contacts/v1/contact/batch, body: [ { email: a@corp.io, properties: [] }, { email: b@test.com, properties: [] } ] }
    expect: { verdict: block, rule: no-test-domains, status: 403 }
  - name: split batch with one blocked item
    request: { method: POST, path: /crm/v3/objects/contacts/batch/create, body: { inputs: [ { properties: { email: a@corp.io } }, { properties: { email: b@test.com } } ] } }
    expect: block
  - name: split batch item by item
    request: { method: POST, path: /crm/v3/objects/contacts/batch/create, body: { inputs: [ { properties: { email: a@corp.io } }, { properties: { email: b@test.com } } ] } }
    expect: { items: [allow, block] }
)"));
  EXPECT_EQ(r.status, 1);
  ASSERT_EQ(r.out_lines().size(), 4U) << r.out;
  EXPECT_EQ(r.out_lines()[0], "PASS v1 batch with one blocked contact");
  EXPECT_THAT(r.out_lines()[1], StartsWith("FAIL split batch with one blocked item: items[0] of 2: expected block, "
                                           "got allow (default); the batch was forwarded without its blocked items"));
  EXPECT_EQ(r.out_lines()[2], "PASS split batch item by item");
}

TEST(Test, RejectIsExpectedOfUnreadableRequestsOnly) {
  const scratch_dir dir;
  const std::string file = dir.write("rules.yaml", R"yaml(version: 1
tests:
  - name: duplicate keys are refused
    request: { method: POST, path: /crm/v3/objects/contacts, body: '{"properties":{"email":"a@b.io","email":"c@d.io"}}' }
    expect: reject
  - name: as a mapping
    request: { method: POST, path: /crm/v3/objects/contacts, headers: { Content-Encoding: gzip }, body: {} }
    expect: { verdict: reject }
  - name: an empty create cannot be allowed
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: allow
  - name: a readable request is not rejected
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: a@b.io } } }
    expect: reject
  - name: a batch either
    request: { method: POST, path: /crm/v3/objects/contacts/batch/create, body: 'not json' }
    expect: { items: [allow, block] }
  - name: nor a bad target
    request: { method: POST, path: /crm/v3/objects/contacts%zz }
    expect: reject
)yaml");
  const run_result r = test(file);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out_lines().size(), 7U);
  EXPECT_THAT(r.out_lines(),
              ElementsAre("PASS duplicate keys are refused", "PASS as a mapping",
                          "FAIL an empty create cannot be allowed: expected allow, got reject (empty body)",
                          "FAIL a readable request is not rejected: expected reject, got allow (default)",
                          ::testing::StartsWith("FAIL a batch either: expected items [allow, block], got reject ("),
                          "PASS nor a bad target", "3 passed, 3 failed"));
}

constexpr std::string_view client_rules = R"yaml(version: 1
auth: clients
upstream_token: { env: HUBSPOT_TOKEN }
clients:
  - name: zapier
    keys: [ { env: ZAPIER_KEY } ]
  - name: sync
    keys: [ { env: SYNC_KEY } ]
rules:
  - name: zapier-updates-only
    match: { client: zapier, kind: [create] }
    action: block
tests:
  - name: zapier cannot create
    request: { method: POST, path: /crm/v3/objects/contacts, client: zapier, body: { properties: { email: a@b.io } } }
    expect: { verdict: block, rule: zapier-updates-only }
  - name: sync can
    request: { method: POST, path: /crm/v3/objects/contacts, client: sync, body: { properties: { email: a@b.io } } }
    expect: allow
  - name: nor can a request of no client
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: a@b.io } } }
    expect: block
)yaml";

TEST(Test, RequestsAreMadeAsTheClientTheyName) {
  // The secrets are not read (nor set): `test` checks rules, not deployments.
  const scratch_dir dir;
  const run_result r = test(dir.write("rules.yaml", client_rules));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out_lines(), ElementsAre("PASS zapier cannot create", "PASS sync can",
                                         "FAIL nor can a request of no client: expected block, got allow (default)",
                                         "2 passed, 1 failed"));
}

TEST(Explain, ClientNamesTheClientMakingTheRequest) {
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", client_rules);
  const std::string body = dir.write("c.json", R"({"properties":{"email":"a@b.io"}})");
  const json as_zapier = explain_json({rules, "POST", "/crm/v3/objects/contacts", body, {}, "zapier"});
  EXPECT_EQ(as_zapier["request"]["client"], "zapier");
  EXPECT_EQ(as_zapier["decision"]["verdict"], "block");
  const json as_sync = explain_json({rules, "POST", "/crm/v3/objects/contacts", body, {}, "sync"});
  EXPECT_EQ(as_sync["decision"]["verdict"], "allow");
  const run_result unknown = explain({rules, "POST", "/crm/v3/objects/contacts", body, {}, "zapeir"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_THAT(unknown.err, ::testing::HasSubstr("--client: no client 'zapeir'"));
}

TEST(Test, InvalidFilePrintsTheCheckErrors) {
  const scratch_dir dir;
  const std::string file = dir.write("rules.yaml", "version: 2\n");
  const run_result r = test(file);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file + ":1:10: 'version' must be 1, got '2'\n");
}

// --- explain

TEST(Explain, SingleCreateBlocked) {
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", small_rules);
  const std::string body = dir.write("c.json", R"({"properties":{"email":"Jo@Test.com","firstname":"Jo"}})");
  const json doc = explain_json({rules, "POST", "/crm/v3/objects/contacts?validate=1", body, {}, std::nullopt});

  EXPECT_EQ(doc["request"], json::parse(R"({"method":"POST","target":"/crm/v3/objects/contacts?validate=1",
      "content_type":"application/json","content_type_assumed":true})"));
  EXPECT_EQ(doc["operation"], json::parse(R"({"name":"contacts.create","kind":"create"})"));
  EXPECT_EQ(doc["canonical_path"], "/crm/v3/objects/contacts");
  EXPECT_EQ(
      doc["records"],
      json::parse(R"([{"index":0,"email":"Jo@Test.com","email_compared":"jo@test.com",
                      "properties":{"email":"Jo@Test.com","firstname":"Jo"}}])"));
  ASSERT_EQ(doc["decisions"].size(), 1U);
  const json& d = doc["decisions"][0];
  EXPECT_EQ(d["index"], 0);
  EXPECT_EQ(d["rules"], json::parse(R"([
      {"name":"no-test-domains","action":"block","matched":true,"effect":"decided"},
      {"name":"require-email","action":"block","matched":false},
      {"name":"tag","action":"rewrite","matched":true,"effect":"not reached"},
      {"name":"try-free-mail","action":"block","mode":"shadow","matched":false},
      {"name":"no-deletes","action":"block","matched":false}])"));
  EXPECT_EQ(d["decision"], json::parse(R"({"verdict":"block","rule":"no-test-domains","status":403,
      "message":"Test addresses are not created"})"));
  EXPECT_EQ(d["shadow"], d["decision"]);
  const json& overall = doc["decision"];
  EXPECT_EQ(overall["verdict"], "block");
  EXPECT_EQ(overall["action"], "answer");
  EXPECT_EQ(overall["answer"]["status"], 403);
  EXPECT_EQ(overall["answer"]["body"]["message"], "Test addresses are not created");
}

// An internationalised domain is shown as the rules compared it.
TEST(Explain, ShowsTheAddressTheRulesCompared) {
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", R"yaml(version: 1
rules:
  - name: no-books
    match: { email_domain: ["b\u00fccher.de"] }
    action: block
)yaml");
  const std::string body = dir.write("c.json", R"({"inputs":[{"properties":{"email":"Jo@B\u00dcCHER.de"}},)"
                                               R"({"properties":{"email":"ann@corp.io"}}]})");
  const json doc = explain_json({rules, "POST", "/crm/v3/objects/contacts/batch/create", body, {}, std::nullopt});
  ASSERT_EQ(doc["records"].size(), 2U);
  EXPECT_EQ(doc["records"][0]["email_compared"], "jo@xn--bcher-kva.de");
  EXPECT_FALSE(doc["records"][1].contains("email_compared")) << doc["records"][1]; // sent as compared
  EXPECT_EQ(doc["decisions"][0]["decision"]["verdict"], "block");
  EXPECT_EQ(doc["decisions"][1]["decision"]["verdict"], "allow");
}

TEST(Explain, BatchIsSplitAndRewritten) {
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", small_rules);
  const std::string body = dir.write("b.json", R"({"inputs":[{"properties":{"email":"a@corp.io"}},
      {"properties":{"email":"b@example.com"}},{"properties":{"email":"c@gmail.com"}}]})");
  const json doc = explain_json({rules,
                                 "POST",
                                 "/crm/v3/objects/contacts/batch/create",
                                 body,
                                 {{"content-type", "application/json; charset=UTF-8"}}, std::nullopt});
  EXPECT_EQ(doc["request"]["content_type"], "application/json; charset=UTF-8");
  EXPECT_FALSE(doc["request"].contains("content_type_assumed"));
  EXPECT_EQ(doc["operation"]["name"], "contacts.batch_create");
  ASSERT_EQ(doc["records"].size(), 3U);
  ASSERT_EQ(doc["decisions"].size(), 3U);

  const json& first = doc["decisions"][0];
  EXPECT_EQ(first["rules"][2], json::parse(R"({"name":"tag","action":"rewrite","matched":true,"effect":"edited"})"));
  EXPECT_EQ(first["decision"], json::parse(R"({"verdict":"rewrite","rule":"default",
      "edits":[{"property":"lifecyclestage","set":"lead","rule":"tag"}]})"));
  EXPECT_EQ(doc["decisions"][1]["decision"]["verdict"], "block");
  const json& third = doc["decisions"][2];
  EXPECT_EQ(third["decision"]["verdict"], "rewrite");
  EXPECT_EQ(third["rules"][3], json::parse(R"({"name":"try-free-mail","action":"block","mode":"shadow",
      "matched":true,"effect":"shadow only"})"));
  EXPECT_EQ(third["shadow"], json::parse(R"({"verdict":"block","rule":"try-free-mail","status":403})"));

  const json& overall = doc["decision"];
  EXPECT_EQ(overall["verdict"], "rewrite");
  EXPECT_EQ(overall["action"], "split");
  EXPECT_EQ(overall["blocked_items"], json::parse("[1]"));
  EXPECT_EQ(overall["forward_target"], "/crm/v3/objects/contacts/batch/create");
  EXPECT_EQ(overall["forwarded_body"], json::parse(R"({"inputs":[
      {"properties":{"email":"a@corp.io","lifecyclestage":"lead"}},
      {"properties":{"email":"c@gmail.com","lifecyclestage":"lead"}}]})"));
}

TEST(Explain, RequestOutsideTheCatalog) {
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", small_rules);
  const json get = explain_json({rules, "GET", "/crm/v3/objects/contacts/42?properties=email", std::nullopt, {}, std::nullopt});
  EXPECT_EQ(get["request"]["content_type"], nullptr);
  EXPECT_EQ(get["operation"], nullptr);
  EXPECT_EQ(get["canonical_path"], "/crm/v3/objects/contacts/42");
  EXPECT_EQ(get["records"], json::array());
  EXPECT_EQ(get["decisions"], json::array());
  EXPECT_EQ(get["decision"], json::parse(R"({"verdict":"allow","action":"pass"})"));

  const json del = explain_json({rules, "DELETE", "/crm/v3/objects/contacts/42", std::nullopt, {}, std::nullopt});
  ASSERT_EQ(del["decisions"].size(), 1U);
  EXPECT_EQ(del["decisions"][0]["index"], nullptr);
  EXPECT_EQ(del["decisions"][0]["rules"][4],
            json::parse(R"({"name":"no-deletes","action":"block","matched":true,"effect":"decided"})"));
  EXPECT_EQ(del["decisions"][0]["rules"][0]["matched"], false);
  EXPECT_EQ(del["decision"]["verdict"], "block");
  EXPECT_EQ(del["decision"]["answer"]["status"], 403);
}

TEST(Explain, UnreadableBodyIsRejected) {
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", small_rules);
  const std::string body = dir.write("c.json", R"({"properties":{"email":"a@corp.io","email":"b@corp.io"}})");
  const json doc = explain_json({rules, "POST", "/crm/v3/objects/contacts", body, {}, std::nullopt});
  EXPECT_EQ(doc["operation"]["name"], "contacts.create");
  EXPECT_EQ(doc["records"], json::array());
  EXPECT_EQ(doc["decisions"], json::array());
  EXPECT_EQ(doc["decision"]["verdict"], "reject");
  EXPECT_EQ(doc["decision"]["answer"]["status"], 400);
  EXPECT_THAT(doc["decision"]["reason"].get<std::string>(), HasSubstr("duplicate key \"email\""));

  const json target = explain_json({rules, "POST", "/crm/v3/objects/contacts%zz", std::nullopt, {}, std::nullopt});
  EXPECT_EQ(target["canonical_path"], nullptr);
  EXPECT_EQ(target["decision"], json::parse(R"({"verdict":"reject","action":"answer",
      "reason":"invalid percent-encoding in the request path","answer":{"status":400}})"));
}

TEST(Explain, MatchesRulesWrittenInAnyYamlStyle) {
  // Quoted values, escapes, a backslashed regex, header and property predicates: each rule is
  // re-emitted alone to ask the engine whether it matches, so these must survive the round trip.
  const scratch_dir dir;
  const std::string rules = dir.write("rules.yaml", R"yaml(version: 1
mode: shadow
rules:
  - name: "quoted \"name\""
    match:
      header: { X-App: "sync: v2" }
      properties: { zip: '02134', note: { regex: "^a\\.b$" } }
    action: rewrite
    set: { "hs_lead_status": "NEW", count: '007' }
  - name: plus-addresses
    match: { email: { regex: '\+[^@]+@' }, kind: create }
    action: block
)yaml");
  const std::string body = dir.write("c.json", R"({"properties":{"email":"a+x@corp.io","zip":"02134","note":"a.b"}})");
  const json doc = explain_json({rules, "POST", "/crm/v3/objects/contacts", body, {{"X-App", "sync: v2"}}, std::nullopt});
  ASSERT_EQ(doc["decisions"].size(), 1U);
  const json& d = doc["decisions"][0];
  EXPECT_EQ(d["rules"], json::parse(R"([
      {"name":"quoted \"name\"","action":"rewrite","mode":"shadow","matched":true,"effect":"shadow only"},
      {"name":"plus-addresses","action":"block","mode":"shadow","matched":true,"effect":"shadow only"}])"));
  EXPECT_EQ(d["decision"], json::parse(R"({"verdict":"allow","rule":null})"));
  EXPECT_EQ(d["shadow"]["verdict"], "block");
  EXPECT_EQ(doc["decision"]["verdict"], "allow");
}

TEST(Explain, ProblemsWithTheFilesExitOne) {
  const scratch_dir dir;
  const run_result missing = explain({dir.path("none.yaml"), "GET", "/", std::nullopt, {}, std::nullopt});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, dir.path("none.yaml") + ": cannot read the rules file: No such file or directory\n");

  const std::string invalid = dir.write("bad.yaml", "version: 1\nrules: 3\n");
  const run_result bad = explain({invalid, "GET", "/", std::nullopt, {}, std::nullopt});
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err, invalid + ":2:8: 'rules' must be a list, got a string\n");

  const std::string rules = dir.write("rules.yaml", small_rules);
  const run_result no_body = explain({rules, "POST", "/crm/v3/objects/contacts", dir.path("none.json"), {}, std::nullopt});
  EXPECT_EQ(no_body.status, 1);
  EXPECT_EQ(no_body.err, dir.path("none.json") + ": cannot read the body file: No such file or directory\n");
}

// --- the pieces under the commands

TEST(RulesFile, CatalogNamesAndWholeFileErrors) {
  const config::catalog_operations operations;
  EXPECT_TRUE(operations.contains("contacts.batch_upsert"));
  EXPECT_FALSE(operations.contains("deals.create"));
  EXPECT_THAT(operations.names(), ::testing::Contains("forms.submit_v2"));

  const rules::load_result missing = config::load_rules_file("/nonexistent/rules.yaml");
  EXPECT_FALSE(missing);
  ASSERT_EQ(missing.errors.size(), 1U);
  EXPECT_EQ(missing.errors[0].line, 0U);
  EXPECT_EQ(config::format_error(missing.errors[0]),
            "/nonexistent/rules.yaml: cannot read the rules file: No such file or directory");
  EXPECT_EQ(config::format_error({"r.yaml", 3, 5, "bad"}), "r.yaml:3:5: bad");
}

TEST(RequestInspection, ReadsCatalogRequestsAndSkipsOthers) {
  const config::inspected_request create = config::inspect_request(
      {"POST", "/crm/v3/objects/0-1/?a=b", R"({"properties":{"email":"a@b.io"}})", "application/json", ""});
  ASSERT_TRUE(create.ok()) << create.error;
  ASSERT_NE(create.operation(), nullptr);
  const rules::request_facts facts = create.facts("POST", nullptr);
  EXPECT_EQ(facts.path, "/crm/v3/objects/0-1");
  EXPECT_EQ(facts.operation->name, "contacts.create");
  ASSERT_EQ(facts.records.size(), 1U);
  EXPECT_EQ(facts.records[0].email, std::optional<std::string>("a@b.io"));

  const config::inspected_request read = config::inspect_request({"GET", "/crm/v3/objects/%63ontacts/1", "", "", ""});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read.operation(), nullptr);
  EXPECT_EQ(read.facts("GET", nullptr).path, "/crm/v3/objects/contacts/1");
  EXPECT_FALSE(read.facts("GET", nullptr).operation);
  // When no rule can reach such a request, its path is not worked out.
  EXPECT_EQ(config::inspect_request({"GET", "/crm/v3/objects/contacts/1", "", "", ""}, false).path, "");

  EXPECT_EQ(config::inspect_request({"POST", "/crm/v3/objects/contacts", "{}", "application/json", "gzip"}).error,
            "Content-Encoding 'gzip' is not accepted on contacts.create: send the body uncompressed");
  EXPECT_EQ(config::inspect_request({"POST", "/crm/v3/objects/contacts", "{}", "", ""}).error, "missing Content-Type");
  EXPECT_FALSE(config::inspect_request({"GET", "/a%zz", "", "", ""}).ok());
}

} // namespace
} // namespace hubgate::cli
