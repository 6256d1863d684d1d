// The audit trail of the real binary: one JSON line per contact-creating request, with what the
// gate did to each record and the ids HubSpot gave the ones it created; emails redacted unless the
// rules say `audit: {pii: full}`; tokens never written; a failing disk counted, not fatal.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <sstream>
#include <thread>

#include "hubgate/audit/redact.hpp"
#include "integration/ops_support.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* token = "pat-na1-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr const char* audit_key = "audit-test-key";

class audit_test : public ops_fixture {
 protected:
  audit_test() { write_rules(example_rules); }

  running_proxy start_audited() { return start({"--audit", audit_file}, {{"HUBGATE_AUDIT_KEY", audit_key}}); }

  std::optional<http_answer> send(const std::string& target, const std::string& body) {
    return test::exchange(proxy_port, post(target, body,
                                           {{"Authorization", std::string("Bearer ") + token},
                                            {"User-Agent", "hubspot-api-client-nodejs; 14.0.0"}}));
  }

  // The audit lines once there are `n` of them.
  std::vector<json> entries(std::size_t n) {
    EXPECT_TRUE(eventually([&] { return read_lines(audit_file).size() >= n; })) << read_lines(audit_file).size();
    std::vector<json> out;
    for (const auto& line : read_lines(audit_file)) {
      out.push_back(json::parse(line));
    }
    return out;
  }

  std::string audit_file = dir + "/audit.jsonl";
  std::uint16_t proxy_port = 0;
};

// hubgate with its stdout on a FIFO that this test reads, or stops reading, as Docker's log
// driver in blocking mode does behind a log store that stopped. The pipe holds 4 KiB, so that an
// audit entry or a batch of log lines is written in more than one piece.
class stdout_on_fifo {
 public:
  explicit stdout_on_fifo(const std::string& path) : path_(path) {
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    read_end_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    // Held so that a read finds the pipe empty (EAGAIN), never at its end, whoever writes.
    keep_open_ = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GT(::fcntl(read_end_, F_SETPIPE_SZ, 4096), 0);
  }
  ~stdout_on_fifo() {
    ::close(read_end_);
    ::close(keep_open_);
  }
  stdout_on_fifo(const stdout_on_fifo&) = delete;
  stdout_on_fifo& operator=(const stdout_on_fifo&) = delete;

  // `flags` (hubgate's, after `serve`) run with stdout on the FIFO; stderr is captured as usual.
  std::unique_ptr<child_process> start(std::vector<std::string> flags, const env_list& env) const {
    flags.insert(flags.begin(), {"/bin/sh", "-c", R"(exec "$0" "$@" >")" + path_ + "\"", hubgate_binary(), "serve"});
    return std::make_unique<child_process>(flags, env);
  }
  // Reads what is in the pipe now, waiting up to `wait` for the first bytes.
  std::string read_some(std::chrono::milliseconds wait) const {
    pollfd readable{read_end_, POLLIN, 0};
    std::string out;
    if (::poll(&readable, 1, static_cast<int>(wait.count())) <= 0) {
      return out;
    }
    char buffer[65536];
    ssize_t n = 0;
    while ((n = ::read(read_end_, buffer, sizeof buffer)) > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  std::string path_;
  int read_end_ = -1;
  int keep_open_ = -1;
};

// The flags of a hubgate on `port` with its audit trail on stdout, beside its log.
std::vector<std::string> audit_on_stdout_flags(const std::vector<std::string>& usual, std::uint16_t port,
                                               const std::string& rules) {
  auto flags = usual;
  flags.insert(flags.end(), {"--listen", "127.0.0.1:" + std::to_string(port), "--rules", rules, "--admin-listen",
                             "off", "--audit", "stdout", "--log-format", "json"});
  return flags;
}

TEST_F(audit_test, blocked_rewritten_and_created_records_each_get_their_line) {
  auto proxy = start_audited();
  proxy_port = proxy.port();
  const audit::email_redactor redactor(audit_key);

  auto blocked = send("/crm/v3/objects/contacts", R"({"properties":{"email":"Jo@Test.com"}})");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, 403u);
  auto created = send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201u);
  EXPECT_EQ(json::parse(created->body)["id"], "51") << "the answer reaches the client unchanged";
  auto batch = send("/crm/v3/objects/contacts/batch/create",
                    R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@example.com"}},)"
                    R"({"properties":{"email":"c@corp.io"}}]})");
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 207u);
  // Not a contact-creating call: no line.
  ASSERT_TRUE(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1")));
  auto last = send("/crm/v3/objects/contacts", R"({"properties":{"email":"last@corp.io"}})");
  ASSERT_TRUE(last);

  const auto lines = entries(4);
  ASSERT_EQ(lines.size(), 4u);
  const std::string print = audit::sha256_hex(token).substr(0, 8);
  for (const auto& line : lines) {
    EXPECT_EQ(line["client"]["address"], "127.0.0.1");
    EXPECT_EQ(line["client"]["user_agent"], "hubspot-api-client-nodejs; 14.0.0");
    EXPECT_EQ(line["client"]["token"], print);
    EXPECT_EQ(line["correlation_id"].get<std::string>().size(), 36u);
    EXPECT_EQ(line["time"].get<std::string>().size(), 24u);
  }

  // Lines are written as answers end; find each by what it is about.
  const auto line_about = [&](std::string_view email) {
    for (const auto& line : lines) {
      if (line["records"][0]["email"] == redactor.redact(email)) {
        return line;
      }
    }
    ADD_FAILURE() << "no line about " << email;
    return json::object();
  };
  const json blocked_line = line_about("jo@test.com");
  EXPECT_EQ(blocked_line["operation"], "contacts.create");
  EXPECT_EQ(blocked_line["decision"], "block");
  EXPECT_EQ(blocked_line["status"], 403);
  EXPECT_EQ(blocked_line["correlation_id"], json::parse(blocked->body)["correlationId"]);
  EXPECT_EQ(blocked_line["records"], json::array({{{"index", 0},
                                                   {"email", redactor.redact("jo@test.com")},
                                                   {"decision", "block"},
                                                   {"rule", "no-test-domains"}}}));

  const json created_line = line_about("ann@corp.io");
  EXPECT_EQ(created_line["decision"], "rewrite");
  EXPECT_EQ(created_line["upstream_status"], 201);
  EXPECT_EQ(created_line["records"], json::array({{{"index", 0},
                                                   {"email", redactor.redact("ann@corp.io")},
                                                   {"decision", "rewrite"},
                                                   {"rule", "default"},
                                                   {"edited_by", {"tag-api-contacts"}},
                                                   {"id", "51"},
                                                   {"created", true}}}));

  const json batch_line = line_about("a@corp.io");
  EXPECT_EQ(batch_line["operation"], "contacts.batch_create");
  EXPECT_EQ(batch_line["decision"], "partial");
  EXPECT_EQ(batch_line["status"], 207);
  const auto& records = batch_line["records"];
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["id"], "100");
  EXPECT_EQ(records[1]["decision"], "block");
  EXPECT_EQ(records[1]["email"], redactor.redact("b@example.com"));
  EXPECT_FALSE(records[1].contains("id"));
  EXPECT_EQ(records[2]["id"], "101");
  EXPECT_EQ(records[2]["index"], 2);

  // Neither the token nor an address's local part is written anywhere.
  std::string whole;
  for (const auto& line : read_lines(audit_file)) {
    whole += line;
  }
  for (const std::string& secret : {std::string(token), std::string("ann@"), std::string("Jo@"), std::string("jo@")}) {
    EXPECT_EQ(whole.find(secret), std::string::npos) << secret;
    EXPECT_EQ(proxy.log().find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(proxy.log().find("audit trail on"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return scrape(proxy.admin_port(), "hubgate_audit_records_total") == 4; }));
}

TEST_F(audit_test, pii_full_keeps_the_addresses) {
  write_rules(std::string(example_rules) + "audit: { pii: full }\n");
  auto proxy = start_audited();
  proxy_port = proxy.port();
  ASSERT_TRUE(send("/crm/v3/objects/contacts", R"({"properties":{"email":" Ann@Corp.io"}})"));
  const auto lines = entries(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["records"][0]["email"], " Ann@Corp.io");
}

// The ids the trail names are read from the answer: one nested too deep to read (100,000 arrays)
// leaves the entry without them, and the proxy up (its DOM's copies recursed through the stack).
TEST_F(audit_test, an_answer_nested_too_deep_to_read_leaves_the_entry_without_ids) {
  const std::string deep = R"({"id":"501","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  api.set_handler([&](const recorded_request&) { return json_response(201, deep); });
  auto proxy = start_audited();
  proxy_port = proxy.port();
  auto created = send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201u);
  const auto lines = entries(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0]["records"][0].contains("id")) << lines[0];
  auto again = send("/crm/v3/objects/contacts", R"({"properties":{"email":"bo@corp.io"}})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201u);
  EXPECT_TRUE(proxy.process().running());
}

// A create HubSpot has not answered when the drain times out is cut, not dropped with the
// process: its client gets a 502 saying so, and the access log and the trail have its line.
TEST_F(audit_test, a_create_the_drain_timeout_cuts_is_answered_logged_and_audited) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(201, R"({"id":"7"})");
    r.delay = 60s; // past the drain's timeout, and the test's
    return r;
  });
  auto proxy = start({"--audit", audit_file, "--drain-timeout", "300ms"}, {{"HUBGATE_AUDIT_KEY", audit_key}});
  proxy_connection c(proxy.port());
  c.send(post("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})",
              {{"Authorization", std::string("Bearer ") + token}}));
  ASSERT_TRUE(api.wait_for_requests(1, 10s));
  proxy.process().send_signal(SIGTERM);
  const auto answer = c.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u);
  EXPECT_NE(answer->body.find("drain timed out before HubSpot answered (the call may have been made"),
            std::string::npos)
      << answer->body;
  EXPECT_EQ(answer->header("x-should-retry").value_or(""), "false");
  EXPECT_FALSE(answer->keep_alive);
  EXPECT_EQ(proxy.process().wait_exit(15s), std::optional<int>(0));

  const auto lines = entries(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["operation"], "contacts.create");
  EXPECT_EQ(lines[0]["status"], 502);
  EXPECT_EQ(lines[0]["correlation_id"], json::parse(answer->body)["correlationId"]);
  EXPECT_NE(proxy.log().find("drain timeout: cutting the requests still in flight"), std::string::npos)
      << proxy.log();
  EXPECT_NE(proxy.log().find("status=502"), std::string::npos) << proxy.log();
  EXPECT_EQ(proxy.log().find("stopping now"), std::string::npos) << proxy.log();
}

TEST_F(audit_test, a_write_that_fails_is_counted_and_proxying_goes_on) {
  // /dev/full: every write fails with ENOSPC, as on a full disk.
  auto proxy = start({"--audit", "/dev/full"});
  proxy_port = proxy.port();
  for (int i = 0; i < 3; ++i) {
    auto answer = send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 201u);
  }
  const auto admin = proxy.admin_port();
  EXPECT_TRUE(eventually([&] { return scrape(admin, R"(hubgate_audit_dropped_total{reason="write_error"})") == 3; }));
  EXPECT_GE(scrape(admin, "hubgate_audit_write_errors_total"), 1);
  EXPECT_EQ(scrape(admin, "hubgate_audit_records_total"), 0);
  EXPECT_TRUE(proxy.process().wait_for_output("audit write failed", 10s)) << proxy.log();
  EXPECT_NE(proxy.log().find("No space left on device"), std::string::npos) << proxy.log();
  EXPECT_TRUE(proxy.process().running());
}

// With the audit on, HubSpot's answer is read whole; one that breaks off after HubSpot answered
// 201 still means HubSpot got the edited create: its edit is counted, as on the relayed path.
TEST_F(audit_test, an_answer_that_breaks_off_after_its_head_still_counts_the_edit_hubspot_got) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(201, R"({"id":"51","properties":{"email":"ann@corp.io"}})");
    r.chunked = true;
    r.break_off = true;
    return r;
  });
  auto proxy = start_audited();
  proxy_port = proxy.port();
  auto answer = send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u);
  EXPECT_NE(answer->body.find("HubSpot answered 201"), std::string::npos) << answer->body;
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_NE(api.requests()[0].body.find("lifecyclestage"), std::string::npos) << "HubSpot got the edit";
  const auto admin = proxy.admin_port();
  EXPECT_TRUE(eventually([&] { return scrape(admin, R"(hubgate_rewritten_records_total{rule="tag-api-contacts"})") == 1; }));
  EXPECT_TRUE(proxy.process().wait_for_output("upstream_status=201", 10s)) << proxy.log();
}

TEST_F(audit_test, the_trail_can_go_to_stdout) {
  auto proxy = start({"--audit", "stdout"});
  proxy_port = proxy.port();
  ASSERT_TRUE(send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})"));
  EXPECT_TRUE(proxy.process().wait_for_output(R"("operation":"contacts.create","decision":"rewrite")", 10s))
      << proxy.log();
}

// Started with stdout closed (`>&-`), the audit file must not take its place: the log's lines
// would go into the trail.
TEST_F(audit_test, with_stdout_closed_the_log_does_not_go_into_the_audit_file) {
  proxy_port = free_port();
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.end(), {"--listen", "127.0.0.1:" + std::to_string(proxy_port), "--rules", rules_file,
                             "--admin-listen", "off", "--audit", audit_file});
  flags.insert(flags.begin(), {"/bin/sh", "-c", R"(exec "$0" "$@" >&-)", hubgate_binary(), "serve"});
  child_process hubgate(flags, {{"HUBGATE_AUDIT_KEY", audit_key}});
  // Nothing to read its readiness from: it listens once a read gets an answer (a GET: not audited).
  ASSERT_TRUE(eventually([&] {
    try {
      return test::exchange(proxy_port, make_request("GET", "/crm/v3/objects/contacts/1")).has_value();
    } catch (const std::exception&) {
      return false; // not listening yet
    }
  })) << hubgate.output();
  auto created = send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201u);
  hubgate.send_signal(SIGTERM);
  EXPECT_EQ(hubgate.wait_exit(15s), std::optional<int>(0)) << hubgate.output();
  const auto lines = read_lines(audit_file);
  ASSERT_EQ(lines.size(), 1u) << testing::PrintToString(lines);
  EXPECT_TRUE(json::accept(lines[0])) << lines[0];
}

// The log and the audit trail share stdout: each line arrives whole, never cut by the other
// writer's (a pipe takes a write in one piece only up to 4 KiB, and a batch's entry is larger).
TEST_F(audit_test, on_stdout_audit_entries_and_log_lines_never_cut_into_each_other) {
  proxy_port = free_port();
  stdout_on_fifo out(dir + "/stdout.fifo");
  auto hubgate = out.start(audit_on_stdout_flags(proxy_flags(api.url(), forms.url(), pki.ca_file), proxy_port, rules_file),
                           {{"HUBGATE_AUDIT_KEY", audit_key}});
  std::string text;
  std::mutex text_mutex;
  std::atomic<bool> reading{true};
  std::thread reader([&] {
    while (reading.load()) {
      const auto got = out.read_some(std::chrono::milliseconds(50));
      std::lock_guard lock(text_mutex);
      text += got;
    }
  });
  const auto seen = [&](std::string_view needle) {
    std::lock_guard lock(text_mutex);
    return text.find(needle) != std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return seen("\"listening\""); })) << hubgate->output();

  std::string batch = R"({"inputs":[)";
  for (int i = 0; i < 100; ++i) {
    batch += std::string(i == 0 ? "" : ",") + R"({"properties":{"email":"person)" + std::to_string(i) +
             (i % 3 == 0 ? "@test.com" : "@corp.io") + R"(","firstname":"A name long enough to matter"}})";
  }
  batch += "]}";
  constexpr int batches = 12;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < batches / 2; ++i) {
        auto answer = test::exchange(proxy_port, post("/crm/v3/objects/contacts/batch/create", batch));
        EXPECT_TRUE(answer && answer->status == 207u);
        for (int g = 0; g < 10; ++g) {
          EXPECT_TRUE(test::exchange(proxy_port, make_request("GET", "/crm/v3/objects/contacts/" +
                                                                          std::to_string(c) + std::string(300, 'a'))));
        }
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  hubgate->send_signal(SIGTERM);
  EXPECT_EQ(hubgate->wait_exit(30s), std::optional<int>(0)) << hubgate->output();
  ASSERT_TRUE(eventually([&] { return seen("\"stopped\""); }));
  reading.store(false);
  reader.join();

  int audit_entries = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    ASSERT_TRUE(json::accept(line)) << line.substr(0, 300);
    audit_entries += json::parse(line).contains("records") ? 1 : 0;
  }
  EXPECT_EQ(audit_entries, batches);
}

// SIGTERM while stdout's reader has stopped reading: hubgate still exits, 0, with the lines it
// could not write lost, rather than waiting on the reader until it is killed.
TEST_F(audit_test, sigterm_exits_while_stdout_is_not_read) {
  proxy_port = free_port();
  stdout_on_fifo out(dir + "/stdout.fifo");
  auto hubgate = out.start(audit_on_stdout_flags(proxy_flags(api.url(), forms.url(), pki.ca_file), proxy_port, rules_file),
                           {{"HUBGATE_AUDIT_KEY", audit_key}});
  std::string text;
  ASSERT_TRUE(eventually([&] {
    text += out.read_some(std::chrono::milliseconds(50));
    return text.find("\"listening\"") != std::string::npos;
  })) << hubgate->output();
  // The reader stops here. Far more than the pipe holds is logged and audited; every request is
  // answered all the same.
  for (int i = 0; i < 20; ++i) {
    auto read = test::exchange(proxy_port, make_request("GET", "/crm/v3/objects/contacts/" + std::string(3000, 'a')));
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, 200u);
    auto created = send("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})");
    ASSERT_TRUE(created);
    EXPECT_EQ(created->status, 201u);
  }
  hubgate->send_signal(SIGTERM);
  EXPECT_EQ(hubgate->wait_exit(30s), std::optional<int>(0)) << hubgate->output();
}

TEST_F(audit_test, an_audit_file_that_cannot_be_opened_stops_the_start) {
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.begin(), {hubgate_binary(), "serve"});
  flags.insert(flags.end(), {"--admin-listen", "off", "--audit", dir + "/no/such/dir/audit.jsonl"});
  child_process p(flags);
  EXPECT_EQ(p.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(p.output().find("cannot open the audit file"), std::string::npos) << p.output();
}

TEST_F(audit_test, an_address_in_the_user_agent_is_not_written) {
  auto proxy = start_audited();
  ASSERT_TRUE(test::exchange(proxy.port(), post("/crm/v3/objects/contacts", R"({"properties":{"email":"ann@corp.io"}})",
                                                {{"Authorization", std::string("Bearer ") + token},
                                                 {"User-Agent", "acme-sync/2.1 (+mailto:ops.owner@corp.io)"}})));
  const auto lines = entries(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["client"]["user_agent"], "acme-sync/2.1 (+mailto:***@corp.io)");
}

} // namespace
} // namespace hubgate::test
