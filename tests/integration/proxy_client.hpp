#pragma once
// What the tests use to talk to a running hubgate: a plain-HTTP connection that sends bytes as
// given (so tests can send malformed, pipelined or smuggling requests) and parses answers with
// Beast. Every read is bounded by a socket timeout, so a broken proxy fails a test, never hangs it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {

struct http_answer {
  unsigned status = 0;
  unsigned version = 11;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;
  bool chunked = false;

  std::optional<std::string> header(std::string_view name) const;
};

class proxy_connection {
 public:
  explicit proxy_connection(std::uint16_t port, std::chrono::milliseconds read_timeout = std::chrono::seconds(10));
  ~proxy_connection();
  proxy_connection(const proxy_connection&) = delete;
  proxy_connection& operator=(const proxy_connection&) = delete;

  void send(std::string_view bytes);
  // Reads one answer; nullopt when the connection closed (or timed out) first.
  std::optional<http_answer> read_answer(bool head_request = false);
  // Everything the proxy sends until it closes the connection (or the read timeout passes).
  std::string read_until_close();
  // True when the proxy has closed the connection (a read returns end of file).
  bool closed_by_peer();
  // True when the proxy has sent something not read yet, looked at without waiting.
  bool has_unread_bytes();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One request on a fresh connection.
std::optional<http_answer> exchange(std::uint16_t port, std::string_view raw_request);

// Builds a request with Content-Length for `body` (if not empty or when the method is not GET).
std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::string_view body = {});

// A hubgate process started with the given flags, listening on a port of its own choosing. Its
// admin listener is put on a port of its own choosing too, unless the flags or the environment
// name one (tests never share a fixed port).
class running_proxy {
 public:
  running_proxy(std::vector<std::string> flags, const env_list& env = {});
  std::uint16_t port() const { return port_; }
  // The admin listener's port, from its "admin listening address=IP:PORT" line (waited for).
  std::uint16_t admin_port();
  child_process& process() { return *process_; }
  std::string log() const { return process_->output(); }

 private:
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
};

// The usual flags: both upstreams, the test CA, two threads, listening on port 0.
std::vector<std::string> proxy_flags(const std::string& api_url, const std::string& forms_url,
                                     const std::string& ca_file);

} // namespace hubgate::test
