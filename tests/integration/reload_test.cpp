// Hot reload in the real binary: the rules file replaced (rename), swapped the way Kubernetes
// updates a ConfigMap volume, or reloaded by SIGHUP, while clients keep sending requests; none of
// them fails and no connection is dropped. A file that does not load is refused with its
// file:line:column errors and the rules in force stay.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "hubgate/audit/redact.hpp"
#include "integration/ops_support.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* rules_a = R"(version: 1
default: allow
rules:
  - name: no-test-domains
    match: { email_domain: [test.com] }
    action: block
)";

const std::string rules_b = std::string(rules_a) + R"(  - name: no-example-org
    match: { email_domain: [example.org] }
    action: block
    status: 422
)";

class reload_test : public ops_fixture {
 protected:
  reload_test() { write_rules(rules_a); }

  // The verdict on a create for `email` under the rules in force: its status.
  unsigned create_status(std::uint16_t port, std::string_view email) {
    auto answer = test::exchange(
        port, post("/crm/v3/objects/contacts", R"({"properties":{"email":")" + std::string(email) + R"("}})"));
    return answer ? answer->status : 0;
  }

  // Clients sending every kind of request the rules tell apart, continuously.
  static std::unique_ptr<load_generator> load(std::uint16_t port) {
    std::vector<std::string> requests{
        make_request("GET", "/crm/v3/objects/contacts/1"),
        post("/crm/v3/objects/contacts", R"({"properties":{"email":"ok@corp.io"}})"),
        post("/crm/v3/objects/contacts", R"({"properties":{"email":"x@example.org"}})"),
        post("/crm/v3/objects/contacts", R"({"properties":{"email":"t@test.com"}})"),
        post("/crm/v3/objects/contacts/batch/create",
             R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@example.org"}}]})"),
    };
    // Before the reload x@example.org passes (201) and the batch is created whole (201); after it,
    // 422 and 207. Anything else is a failure.
    return std::make_unique<load_generator>(port, requests, 3, [](const http_answer& a) {
      return a.status == 200 || a.status == 201 || a.status == 207 || a.status == 403 || a.status == 422;
    });
  }

  // The rules (rules_a) in a directory of their own, `conf`, and a proxy started on them.
  running_proxy start_in_conf() {
    fs::create_directory(dir + "/conf");
    rules_file = dir + "/conf/rules.yaml";
    write_rules(rules_a);
    return start();
  }

  // Runs `reload` while the load generator keeps going on both sides of it.
  void under_load(running_proxy& proxy, const std::function<void()>& reload) {
    auto clients = load(proxy.port());
    ASSERT_TRUE(eventually([&] { return clients->answered() >= 50; })) << clients->failures().size();
    reload();
    ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
    const auto at_reload = clients->answered();
    ASSERT_TRUE(eventually([&] { return clients->answered() >= at_reload + 50; }));
    clients->stop();
    std::string failures;
    for (const auto& f : clients->failures()) {
      failures += f + "\n";
    }
    EXPECT_TRUE(failures.empty()) << failures;
    EXPECT_EQ(clients->connections(), 3u) << "a connection was dropped";
  }
};

TEST_F(reload_test, a_rules_file_replaced_by_rename_is_put_in_force_under_load) {
  auto proxy = start();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 201u);
  under_load(proxy, [&] { replace_rules(rules_b); });
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  EXPECT_EQ(create_status(proxy.port(), "t@test.com"), 403u);
  EXPECT_TRUE(proxy.process().wait_for_output("trigger=\"file change\"", 10s)) << proxy.log();

  const auto admin = proxy.admin_port();
  const auto described = json::parse(admin_get(admin, "/rules").value_or(http_answer{}).body);
  EXPECT_EQ(described["generation"], 2);
  EXPECT_EQ(described["sha256"], audit::sha256_hex(rules_b));
  EXPECT_EQ(described["rules"].size(), 2u);
  EXPECT_EQ(scrape(admin, "hubgate_rules_generation"), 2);
  EXPECT_EQ(scrape(admin, R"(hubgate_rules_reloads_total{result="ok"})"), 1);
  // A request is counted after its answer has gone out, so the count may trail the answer.
  EXPECT_TRUE(eventually([&] { return scrape(admin, R"(hubgate_blocked_records_total{rule="no-example-org"})") >= 1; }));
}

TEST_F(reload_test, sighup_reloads_under_load_and_the_watch_can_be_off) {
  auto proxy = start({"--watch-rules", "off"});
  write_rules(rules_b);
  // Nobody is watching: the file changed, the rules in force did not.
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 201u);
  under_load(proxy, [&] { proxy.process().send_signal(SIGHUP); });
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  EXPECT_NE(proxy.log().find("trigger=SIGHUP"), std::string::npos) << proxy.log();
  EXPECT_TRUE(proxy.process().running());
}

// A large rules file takes a while to load (seconds at a few MB); the admin endpoints answer
// meanwhile, so that a liveness or readiness probe does not fail over a reload.
TEST_F(reload_test, the_health_endpoints_answer_while_a_large_file_reloads) {
  auto proxy = start({"--watch-rules", "off"});
  const auto admin = proxy.admin_port();
  std::string large = rules_b;
  for (int i = 0; i < 8000; ++i) {
    const std::string n = std::to_string(i);
    large += "  - name: rule-" + n + "\n    match: { email_domain: [d" + n + ".example.com, e" + n +
             ".example.org] }\n    action: block\n    message: blocked domain " + n + "\n";
  }
  write_rules(large);
  proxy.process().send_signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_output("signal received: reloading the rules", 10s)) << proxy.log();
  EXPECT_EQ(admin_get(admin, "/healthz").value_or(http_answer{}).status, 200u);
  EXPECT_EQ(admin_get(admin, "/readyz").value_or(http_answer{}).status, 200u);
  EXPECT_EQ(proxy.log().find("generation=2"), std::string::npos) << "the probes waited for the reload";
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 120s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@d7999.example.com"), 403u);
}

TEST_F(reload_test, an_invalid_file_is_refused_with_its_errors_and_the_old_rules_stay) {
  auto proxy = start();
  const auto admin = proxy.admin_port();
  write_rules("version: 1\nrules:\n  - name: x\n    match: { emial_domain: [a.com] }\n    action: block\n");
  ASSERT_TRUE(proxy.process().wait_for_output("rules reload failed", 15s)) << proxy.log();
  EXPECT_TRUE(proxy.process().wait_for_output(rules_file + ":4:14: unknown key 'emial_domain'", 10s)) << proxy.log();
  EXPECT_TRUE(eventually([&] { return scrape(admin, R"(hubgate_rules_reloads_total{result="failed"})") == 1; }));
  EXPECT_EQ(scrape(admin, "hubgate_rules_generation"), 1);
  EXPECT_EQ(create_status(proxy.port(), "t@test.com"), 403u) << "the old rules are in force";
  EXPECT_EQ(admin_get(admin, "/readyz").value_or(http_answer{}).status, 200u);

  // An error quoting an address from the file is logged with the address's local part redacted.
  write_rules("version: 1\nrules:\n  - name: x\n    match: { email_domain: [jo.private@corp.io] }\n    action: block\n");
  ASSERT_TRUE(proxy.process().wait_for_output("got ***@corp.io", 15s)) << proxy.log();
  EXPECT_EQ(proxy.log().find("jo.private"), std::string::npos) << proxy.log();

  // Once the file is mended it loads.
  replace_rules(rules_b);
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  EXPECT_EQ(scrape(admin, R"(hubgate_rules_reloads_total{result="ok"})"), 1);
}

TEST_F(reload_test, a_kubernetes_configmap_update_swaps_the_data_symlink) {
  // The layout kubelet's atomic writer makes: rules.yaml -> ..data/rules.yaml, ..data -> ..<stamp>.
  fs::remove(rules_file);
  fs::create_directory(dir + "/..2026_01_01");
  std::ofstream(dir + "/..2026_01_01/rules.yaml") << rules_a;
  fs::create_directory_symlink("..2026_01_01", dir + "/..data");
  fs::create_symlink("..data/rules.yaml", rules_file);
  auto proxy = start();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 201u);

  // An update: a new stamped directory, a new ..data link renamed over the old one, the old
  // directory removed.
  fs::create_directory(dir + "/..2026_01_02");
  std::ofstream(dir + "/..2026_01_02/rules.yaml") << rules_b;
  fs::create_directory_symlink("..2026_01_02", dir + "/..data_tmp");
  fs::rename(dir + "/..data_tmp", dir + "/..data");
  fs::remove_all(dir + "/..2026_01_01");

  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  EXPECT_EQ(json::parse(admin_get(proxy.admin_port(), "/rules").value_or(http_answer{}).body)["sha256"],
            audit::sha256_hex(rules_b));
}

TEST_F(reload_test, a_directory_replaced_by_rename_is_watched_in_its_place) {
  // `mv conf conf.old; mv conf.new conf`: the watch would follow the old directory.
  auto proxy = start_in_conf();
  fs::create_directory(dir + "/conf.new");
  std::ofstream(dir + "/conf.new/rules.yaml") << rules_a;
  fs::rename(dir + "/conf", dir + "/conf.old");
  fs::rename(dir + "/conf.new", dir + "/conf");
  ASSERT_TRUE(proxy.process().wait_for_output("watching the new one", 15s)) << proxy.log();
  // An edit in the new directory is seen.
  replace_rules(rules_b);
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  EXPECT_EQ(proxy.log().find("directory is gone"), std::string::npos) << proxy.log();
}

// `rm -rf conf && cp -r new conf`, a clone into place: the old directory's watch ends with it, and
// the path is watched again once a directory is there.
TEST_F(reload_test, a_directory_deleted_and_made_again_is_watched_in_its_place) {
  auto proxy = start_in_conf();
  fs::remove_all(dir + "/conf");
  fs::create_directory(dir + "/conf");
  write_rules(rules_b);
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  // And edits in it are seen.
  replace_rules(rules_a);
  ASSERT_TRUE(proxy.process().wait_for_output("generation=3", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 201u);
}

// A ConfigMap mounted with a nested path (`items: [{key: rules.yaml, path: sub/rules.yaml}]`):
// `sub` is a symlink through `..data`, and the directory watched behind it is deleted when an
// update swaps `..data`.
TEST_F(reload_test, a_configmap_with_a_nested_path_is_followed_through_its_updates) {
  fs::create_directories(dir + "/..2026_01_01/sub");
  std::ofstream(dir + "/..2026_01_01/sub/rules.yaml") << rules_a;
  fs::create_directory_symlink("..2026_01_01", dir + "/..data");
  fs::create_directory_symlink("..data/sub", dir + "/sub");
  rules_file = dir + "/sub/rules.yaml";
  auto proxy = start();
  const std::vector<std::string> versions{rules_b, rules_a, rules_b};
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const std::string stamp = "..2026_01_0" + std::to_string(i + 2);
    const std::string before = "..2026_01_0" + std::to_string(i + 1);
    fs::create_directories(dir + "/" + stamp + "/sub");
    std::ofstream(dir + "/" + stamp + "/sub/rules.yaml") << versions[i];
    fs::create_directory_symlink(stamp, dir + "/..data_tmp");
    fs::rename(dir + "/..data_tmp", dir + "/..data");
    fs::remove_all(dir + "/" + before);
    ASSERT_TRUE(proxy.process().wait_for_output("generation=" + std::to_string(i + 2), 15s)) << proxy.log();
    EXPECT_EQ(create_status(proxy.port(), "x@example.org"), versions[i] == rules_b ? 422u : 201u);
  }
}

// `rules.yaml -> v1.yaml` in one directory: an edit of the file the link names is an edit of the
// rules, and so is its mode changed (a file made readable: looked at, here found unchanged).
TEST_F(reload_test, an_edit_of_a_symlinked_file_in_the_same_directory_is_seen) {
  fs::remove(rules_file);
  std::ofstream(dir + "/v1.yaml") << rules_a;
  fs::create_symlink("v1.yaml", rules_file);
  auto proxy = start({"--log-level", "debug"});
  fs::permissions(dir + "/v1.yaml", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(proxy.process().wait_for_output("rules file unchanged", 15s)) << proxy.log();
  std::ofstream(dir + "/v1.yaml") << rules_b; // in place
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
}

// Moved away, edited there, moved back as it was (the same inode): the rules on disk are read
// once the path holds it again, not only on the next event.
TEST_F(reload_test, a_directory_moved_away_edited_and_moved_back_is_read_again) {
  auto proxy = start_in_conf();
  fs::rename(dir + "/conf", dir + "/conf.away");
  ASSERT_TRUE(proxy.process().wait_for_output("the rules file's directory is gone", 15s)) << proxy.log();
  std::ofstream(dir + "/conf.away/rules.yaml") << rules_b;
  // The watch follows the directory: the edit is seen, but the rules' path holds no file now.
  ASSERT_TRUE(proxy.process().wait_for_output("rules reload failed", 15s)) << proxy.log();
  fs::rename(dir + "/conf.away", dir + "/conf");
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
}

// The link re-pointed by `rm` then `ln -s` (a creation, not a rename), and a link written
// `./v2.yaml`: both name files of this directory.
TEST_F(reload_test, a_symlink_made_again_is_seen_and_its_target_watched) {
  fs::remove(rules_file);
  std::ofstream(dir + "/v1.yaml") << rules_a;
  std::ofstream(dir + "/v2.yaml") << rules_a;
  fs::create_symlink("v1.yaml", rules_file);
  auto proxy = start();
  fs::remove(rules_file);
  std::ofstream(dir + "/v2.yaml") << rules_b;
  fs::create_symlink("./v2.yaml", rules_file);
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 422u);
  std::ofstream(dir + "/v2.yaml") << rules_a; // in place, through './'
  ASSERT_TRUE(proxy.process().wait_for_output("generation=3", 15s)) << proxy.log();
  EXPECT_EQ(create_status(proxy.port(), "x@example.org"), 201u);
}

TEST_F(reload_test, a_change_elsewhere_in_the_directory_or_the_same_bytes_reload_nothing) {
  auto proxy = start({"--log-level", "debug"});
  const auto admin = proxy.admin_port();
  std::ofstream(dir + "/notes.txt") << "not the rules";
  write_rules(rules_a); // the same bytes again: looked at, found unchanged
  ASSERT_TRUE(proxy.process().wait_for_output("rules file unchanged", 15s)) << proxy.log();
  EXPECT_EQ(scrape(admin, "hubgate_rules_generation"), 1);
  replace_rules(rules_b);
  ASSERT_TRUE(proxy.process().wait_for_output("generation=2", 15s)) << proxy.log();
  EXPECT_EQ(proxy.log().find("generation=3"), std::string::npos) << proxy.log();
  EXPECT_EQ(proxy.log().find("notes.txt"), std::string::npos) << proxy.log();
  EXPECT_EQ(scrape(admin, R"(hubgate_rules_reloads_total{result="ok"})"), 1);
  EXPECT_EQ(scrape(admin, R"(hubgate_rules_reloads_total{result="failed"})"), 0);
}

} // namespace
} // namespace hubgate::test
