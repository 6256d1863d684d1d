#include "integration/ops_support.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hubgate::test {

using json = nlohmann::json;

fake_response hubspot_like(const recorded_request& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (r.target.find("/batch/create") != std::string::npos && body.is_object()) {
    json results = json::array();
    int id = 100;
    for (const auto& input : body["inputs"]) {
      results.push_back({{"id", std::to_string(id++)}, {"properties", input["properties"]}});
    }
    return json_response(201, json{{"status", "COMPLETE"},
                                   {"results", results},
                                   {"startedAt", "2026-11-27T10:00:00Z"},
                                   {"completedAt", "2026-11-27T10:00:01Z"}}
                                  .dump());
  }
  if (r.method == "POST" && body.is_object() && body.contains("properties")) {
    return json_response(201, json{{"id", "51"}, {"properties", body["properties"]}}.dump());
  }
  return json_response(200, "{}");
}

std::optional<http_answer> admin_get(std::uint16_t admin_port, std::string_view path, std::string_view method) {
  const std::string request =
      std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n";
  return test::exchange(admin_port, request);
}

std::optional<double> metric_value(const std::string& page, std::string_view series) {
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

double scrape(std::uint16_t admin_port, std::string_view series) {
  const auto page = admin_get(admin_port, "/metrics");
  if (!page || page->status != 200) {
    return -1;
  }
  return metric_value(page->body, series).value_or(0);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // the polling interval, not a wait for an event
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(line);
  }
  return out;
}

load_generator::load_generator(std::uint16_t port, std::vector<std::string> requests, unsigned clients,
                               std::function<bool(const http_answer&)> acceptable)
    : requests_(std::move(requests)), acceptable_(std::move(acceptable)) {
  for (unsigned i = 0; i < clients; ++i) {
    threads_.emplace_back([this, port, i] { run(port, i); });
  }
}

load_generator::~load_generator() {
  stop();
}

void load_generator::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

std::vector<std::string> load_generator::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void load_generator::run(std::uint16_t port, unsigned client) {
  const auto fail = [this](std::string what) {
    std::lock_guard lock(mutex_);
    failures_.push_back(std::move(what));
  };
  try {
    auto connection = std::make_unique<proxy_connection>(port);
    ++connections_;
    for (std::size_t n = client; !stop_; ++n) {
      const std::string& request = requests_[n % requests_.size()];
      connection->send(request);
      auto answer = connection->read_answer();
      if (!answer) {
        fail("no answer (the connection was closed) to: " + request.substr(0, request.find('\r')));
        connection = std::make_unique<proxy_connection>(port);
        ++connections_;
        continue;
      }
      if (!acceptable_(*answer)) {
        fail("status " + std::to_string(answer->status) + " to " + request.substr(0, request.find('\r')) + ": " +
             answer->body);
      }
      ++answered_;
    }
  } catch (const std::exception& e) {
    fail(std::string("client error: ") + e.what());
  }
}

ops_fixture::ops_fixture() {
  char pattern[] = "/tmp/hubgate-ops-XXXXXX";
  dir = ::mkdtemp(pattern);
  rules_file = dir + "/rules.yaml";
  write_rules("version: 1\ndefault: allow\n");
  api.set_handler(hubspot_like);
  forms.set_handler(hubspot_like);
}

ops_fixture::~ops_fixture() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void ops_fixture::write_rules(std::string_view yaml) const {
  std::ofstream out(rules_file, std::ios::trunc);
  out << yaml;
}

void ops_fixture::replace_rules(std::string_view yaml) const {
  const std::string temporary = dir + "/.rules.yaml.swp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << yaml;
  }
  std::filesystem::rename(temporary, rules_file);
}

running_proxy ops_fixture::start(std::vector<std::string> extra, const env_list& env) {
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.end(), {"--rules", rules_file});
  flags.insert(flags.end(), extra.begin(), extra.end());
  return running_proxy(flags, env);
}

std::string ops_fixture::post(std::string_view target, std::string_view body,
                              std::vector<std::pair<std::string, std::string>> headers) {
  headers.insert(headers.begin(), {"Content-Type", "application/json"});
  return make_request("POST", target, headers, body);
}

} // namespace hubgate::test
