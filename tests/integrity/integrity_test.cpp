// The integrity suite: the real hubgate binary, over real sockets, in front of a HubSpot that is
// as lenient as any server could be (lenient_hubspot.hpp reads what reached it in every way such a
// server might). Each class of the issue ("gate integrity") is tried in several spellings; for
// each, the spelling with a blocked email must never create that email upstream, and the same
// spelling with an allowed email must either go through (hubgate normalises and inspects it) or
// be refused whole with HubSpot's error shape and reach nothing (hubgate rejects the spelling).

#include <gtest/gtest.h>

#include <zlib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "integration/proxy_client.hpp"
#include "integrity/lenient_hubspot.hpp"
#include "support/fake_hubspot.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {
namespace {

using json = nlohmann::json;
using headers = std::vector<std::pair<std::string, std::string>>;

// tests/data/integrity_rules.yaml blocks this domain (and its subdomains) and this address.
constexpr std::string_view blocked_email = "bad@blocked.test";
constexpr std::string_view allowed_email = "ok@corp.io";

enum class outcome {
  passes,       // normalised and inspected: the allowed spelling is forwarded and creates its contact
  refused,      // rejected: the allowed spelling too is answered 4xx in HubSpot's shape, nothing forwarded
  blocked_whole // a call hubgate cannot see into: refused by rule whatever the email
};

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The whole request for one email.
using request_for = std::function<std::string(std::string_view email)>;

// A raw request in which {EMAIL} stands for the email and {LEN} for the length of what follows
// the head once the email is in.
request_for raw(std::string text) {
  return [text = std::move(text)](std::string_view email) {
    std::string r = replace_all(text, "{EMAIL}", email);
    const std::size_t body = r.find("\r\n\r\n");
    const std::size_t length = body == std::string::npos ? 0 : r.size() - body - 4;
    return replace_all(std::move(r), "{LEN}", std::to_string(length));
  };
}

struct spelling {
  std::string name;
  request_for request;
  outcome expected = outcome::passes;
  unsigned refused_status = 400;
};

// Whether a lenient store would hold a contact the rules block: the domain or a subdomain of it
// (trailing dots ignored), the blocked address, or an SMTP token that creates contacts.
bool is_blocked(std::string email) {
  while (email.ends_with('.')) {
    email.pop_back();
  }
  const std::string domain = email.substr(email.rfind('@') + 1);
  // bücher.test, in its Unicode and its ASCII (IDNA) spelling.
  for (const std::string_view blocked : {"blocked.test", "b\u00fccher.test", "xn--bcher-kva.test"}) {
    if (domain == blocked || domain.ends_with("." + std::string(blocked))) {
      return true;
    }
  }
  return email == "vip@partner.test" || email == "<smtp-token-creates-contacts>" || email == "<customer>";
}

// Whether `address` (normalised) was created, a trailing dot on the domain aside.
bool created_address(const std::set<std::string>& created, std::string_view address) {
  return std::any_of(created.begin(), created.end(), [&](std::string e) {
    while (e.ends_with('.')) {
      e.pop_back();
    }
    return e == address;
  });
}

// One request on a fresh connection, its final answer (past any 100 Continue). A proxy that
// answers before the whole request is written (413 on Content-Length) may close while the client
// still writes; the answer is read all the same.
std::optional<http_answer> exchange_final(std::uint16_t port, std::string_view request) {
  proxy_connection c(port);
  try {
    c.send(request);
  } catch (const std::exception&) {
    // the proxy closed its side early; what it answered is still readable
  }
  auto answer = c.read_answer();
  if (answer && answer->status == 100) {
    answer = c.read_answer();
  }
  return answer;
}

// An answer that tells the caller its contact was not created: an error, or a batch answered 207
// with every item an error.
bool refused_or_blocked(const http_answer& a) {
  if (a.status >= 400) {
    return true;
  }
  const auto body = nlohmann::json::parse(a.body, nullptr, false);
  return a.status == 207 && body.is_object() && body.value("results", nlohmann::json::array()).empty() &&
         body.value("numErrors", 0) > 0;
}

std::string listed(const std::set<std::string>& emails) {
  std::string out;
  for (const std::string& e : emails) {
    out += " [" + e + "]";
  }
  return out;
}

std::string head(std::string_view method, std::string_view target, const headers& h) {
  std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: hubgate.test\r\n";
  for (const auto& [n, v] : h) {
    r += n + ": " + v + "\r\n";
  }
  return r;
}

request_for with_method(std::string_view method, std::string_view target, std::string_view body,
                        const headers& h = {{"Content-Type", "application/json"}}) {
  return raw(head(method, target, h) + "Content-Length: {LEN}\r\n\r\n" + std::string(body));
}

request_for post(std::string_view target, std::string_view body,
                 const headers& h = {{"Content-Type", "application/json"}}) {
  return with_method("POST", target, body, h);
}

std::string gzip(std::string_view text, int window_bits) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(text.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A chunked request in pieces of `piece` bytes; `extra` head lines; `trailer` lines after the last chunk.
request_for chunked(std::string_view target, std::string body, std::size_t piece, std::string extra = {},
                    std::string trailer = {}, std::string coding = "chunked") {
  const std::string start = head("POST", target, {{"Content-Type", "application/json"}, {"Transfer-Encoding", coding}});
  return [=](std::string_view email) {
    const std::string text = replace_all(body, "{EMAIL}", email);
    std::string r = start + extra + "\r\n";
    for (std::size_t i = 0; i < text.size(); i += piece) {
      const std::string_view part = std::string_view(text).substr(i, piece);
      char size[16];
      std::snprintf(size, sizeof size, "%zx", part.size());
      r += std::string(size) + "\r\n" + std::string(part) + "\r\n";
    }
    return r + "0\r\n" + trailer + "\r\n";
  };
}

constexpr std::string_view create_path = "/crm/v3/objects/contacts";
constexpr std::string_view create_body = R"({"properties":{"email":"{EMAIL}","firstname":"Jo"}})";

class integrity_test : public ::testing::Test {
 protected:
  struct world {
    const test_pki& pki = shared_test_pki();
    fake_hubspot api{pki.server};
    fake_hubspot forms{pki.server};
    std::unique_ptr<running_proxy> proxy;
  };

  static void SetUpTestSuite() {
    world_ = new world;
    world_->api.set_handler(lenient_answer);
    world_->forms.set_handler(lenient_answer);
    auto flags = proxy_flags(world_->api.url(), world_->forms.url(), world_->pki.ca_file);
    flags.insert(flags.end(), {"--rules", HUBGATE_TEST_DATA_DIR "/integrity_rules.yaml", "--max-body-size", "4MiB",
                               "--access-log", "off"});
    world_->proxy = std::make_unique<running_proxy>(flags);
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }

  static std::uint16_t port() { return world_->proxy->port(); }

  // Requests that reached either upstream so far.
  static std::vector<recorded_request> upstream() {
    auto seen = world_->api.requests();
    auto forms = world_->forms.requests();
    seen.insert(seen.end(), forms.begin(), forms.end());
    return seen;
  }

  // How many requests each upstream has seen.
  struct mark {
    std::size_t api = 0;
    std::size_t forms = 0;
    std::size_t size() const { return api + forms; }
  };
  static mark now() { return {world_->api.requests().size(), world_->forms.requests().size()}; }

  // What a lenient HubSpot created from the requests that arrived since `before`.
  static std::set<std::string> created_since(const mark& before) {
    const auto since = [](std::vector<recorded_request> seen, std::size_t n) {
      seen.erase(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(std::min(n, seen.size())));
      return seen;
    };
    auto created = lenient_creates(since(world_->api.requests(), before.api));
    created.merge(lenient_creates(since(world_->forms.requests(), before.forms)));
    return created;
  }

  // The request `make` builds for the stage `customer` is blocked (403, nothing forwarded), and
  // the one for `lead` creates its contact.
  static void expect_customer_blocked_and_lead_created(const std::function<request_for(std::string_view)>& make) {
    mark before = now();
    auto customer = exchange_final(port(), make("customer")(""));
    ASSERT_TRUE(customer);
    EXPECT_EQ(customer->status, 403u) << customer->body;
    EXPECT_EQ(upstream().size(), before.size());
    before = now();
    auto lead = exchange_final(port(), make("lead")(""));
    ASSERT_TRUE(lead);
    EXPECT_LT(lead->status, 300u) << lead->body;
    EXPECT_TRUE(created_address(created_since(before), allowed_email));
  }

  static void expect_hubspot_error(const http_answer& a) {
    const json body = json::parse(a.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << a.body;
    EXPECT_EQ(body.value("status", ""), "error") << a.body;
    const json id = body.value("correlationId", json());
    EXPECT_TRUE(id.is_string() && id.get<std::string>().size() == 36) << a.body;
    EXPECT_EQ(a.header("Content-Type").value_or(""), "application/json;charset=utf-8");
  }

  // The blocked spelling never creates a blocked contact; the allowed one behaves as `expected`.
  static void check(const spelling& s, std::string_view blocked = blocked_email,
                    std::string_view allowed = allowed_email) {
    SCOPED_TRACE(s.name);
    mark before = now();
    auto answer = exchange_final(port(), s.request(blocked));
    auto created = created_since(before);
    EXPECT_TRUE(std::none_of(created.begin(), created.end(), is_blocked)) << "created:" << listed(created);
    ASSERT_TRUE(answer) << "no answer to the blocked spelling";
    EXPECT_TRUE(refused_or_blocked(*answer)) << answer->status << " " << answer->body;

    before = now();
    answer = exchange_final(port(), s.request(allowed));
    ASSERT_TRUE(answer) << "no answer to the allowed spelling";
    created = created_since(before);
    if (s.expected == outcome::passes) {
      EXPECT_LT(answer->status, 300u) << answer->body;
      EXPECT_TRUE(created_address(created, allowed_email)) << "created:" << listed(created);
    } else {
      EXPECT_EQ(answer->status, s.expected == outcome::refused ? s.refused_status : 403u) << answer->body;
      expect_hubspot_error(*answer);
      EXPECT_EQ(upstream().size(), before.size()) << "a refused spelling reached HubSpot";
    }
  }

  static void check_all(const std::vector<spelling>& spellings) {
    for (const spelling& s : spellings) {
      check(s);
    }
  }

  static inline world* world_ = nullptr;
};

// --- path spellings

TEST_F(integrity_test, path_spellings_are_canonicalised_or_refused) {
  const auto at = [](std::string_view target, outcome o = outcome::passes) {
    return spelling{std::string(target), post(target, create_body), o};
  };
  check_all({
      at("/CRM/V3/Objects/CONTACTS"),
      at("/crm/v3/objects/%63ontacts"),
      at("/crm/v3/objects%2Fcontacts"),
      at("//crm//v3///objects/contacts/"),
      at("/crm/v3/./objects/companies/../contacts"),
      at("/crm/v3/objects/x/%2e%2E/contacts"),
      at("/crm/v3/objects/contacts;jsessionid=1"),
      at("/crm/v3/objects/contacts/?archived=false"),
      at("https://api.hubapi.com/crm/v3/objects/contacts"),
      at("http://elsewhere.example/crm/v3/objects/contacts?x=1"),
      at("/crm/v3/objects/contact"),
      at("/crm/v3/objects/0-1"),
      at("/crm/v3/objects/00-001"),
      at("/crm/objects/2026-03/contacts"),
      at("/crm/objects/2031-12-beta/contacts"),
      at("/crm/objects/2026-09-BETA/0-1"),
      at("/crm/v3/objects/contact%C5%BF"),                  // long s: Java's equalsIgnoreCase reads `contacts`
      at("/crm/v3/objects/%2563ontacts", outcome::refused), // double encoding
      at("/crm/v3/objects/contacts.json", outcome::refused),
      at("/crm/v3/objects/contacts%20", outcome::refused),
      // Unicode spaces, which Java's strip() trims, and a zero-width space or BOM.
      at("/crm/v3/objects/contacts%E3%80%80", outcome::refused),
      at("/crm/v3/objects/contacts%E2%80%83", outcome::refused),
      at("/crm/v3/objects/contacts%C2%A0", outcome::refused),
      at("/crm/v3/objects/%E2%80%8Bcontacts", outcome::refused),
      at("/crm/v3/objects/contacts%EF%BB%BF", outcome::refused),
      at("/crm/v3/objects/contacts+", outcome::refused),
      at("/crm/v3/objects/contacts.", outcome::refused),
      at("/crm/objects/2026-9/contacts", outcome::refused),
      at("/crm/objects/2026-09-beta-2/contacts", outcome::refused),
      at("/crm/v3/objects\\contacts", outcome::refused),
      at("/crm/v3/objects/contacts%00", outcome::refused),
      // `//name/rest`: a URL parser reading it against a base takes `name` for a host.
      at("//api.hubapi.com/crm/v3/objects/contacts", outcome::refused),
      at("//localhost/crm/v3/objects/contacts", outcome::refused),
      at("//x/crm/v3/objects/contacts/batch/create", outcome::refused),
      at("http://h//api.hubapi.com/crm/v3/objects/contacts", outcome::refused),
      at("//crm/v3/objects/contacts"), // an SDK's base URL ending in `/`
      at("///x/crm/v3/objects/contacts", outcome::refused),
      // An escaped `?` or `#` ends the path to a server that decodes before it splits.
      at("/crm/v3/objects/contacts%3Fx=1", outcome::refused),
      at("/crm/v3/objects/contacts%3f", outcome::refused),
      at("/crm/v3/objects/contacts%23x", outcome::refused),
      // ... or a path hubgate refuses sent as it is (a loose spelling of a create).
      at("/crm/v3/objects/contacts.%3Fx", outcome::refused),
      at("//x/crm/v3/objects/contacts.", outcome::refused),
  });
  check_all({
      {"lower-case method", with_method("post", create_path, create_body), outcome::refused},
      {"batch path in mixed case",
       post("/CRM/v3/objects/Contacts/Batch/CREATE", R"({"inputs":[{"properties":{"email":"{EMAIL}"}}]})")},
      {"batch path encoded and dotted",
       post("/crm/v3/objects/contacts/./batch%2Fupsert", R"({"inputs":[{"idProperty":"email","id":"{EMAIL}"}]})")},
      {"v1 path, email encoded", post("/contacts/v1/contact/createOrUpdate/email/{EMAIL}/", R"({"properties":[]})")},
  });
}

// --- body encodings

TEST_F(integrity_test, body_encodings_are_refused_unless_plain_utf8_json) {
  const std::string body = R"({"properties":{"email":"{EMAIL}"}})";
  const auto with = [&](std::string name, headers h, outcome o, std::string b = {}) {
    return spelling{std::move(name), post(create_path, b.empty() ? body : b, std::move(h)), o};
  };
  check_all({
      with("identity", {{"Content-Type", "application/json"}, {"Content-Encoding", "identity"}}, outcome::passes),
      with("BOM", {{"Content-Type", "application/json"}}, outcome::passes, "\xEF\xBB\xBF" + body),
      with("+json media type", {{"Content-Type", "application/vnd.hubspot+json; charset=UTF-8"}}, outcome::passes),
      with("upper-case media type", {{"Content-Type", "APPLICATION/JSON"}}, outcome::passes),
      with("br label", {{"Content-Type", "application/json"}, {"Content-Encoding", "br"}}, outcome::refused),
      with("unknown coding", {{"Content-Type", "application/json"}, {"Content-Encoding", "x-hubgate"}},
           outcome::refused),
      with("identity, gzip", {{"Content-Type", "application/json"}, {"Content-Encoding", "identity, gzip"}},
           outcome::refused),
      with("two Content-Encoding fields",
           {{"Content-Type", "application/json"}, {"Content-Encoding", "identity"}, {"Content-Encoding", "br"}},
           outcome::refused),
      with("Content_Encoding", {{"Content-Type", "application/json"}, {"Content_Encoding", "br"}}, outcome::refused),
      with("Latin-1 charset", {{"Content-Type", "application/json; charset=ISO-8859-1"}}, outcome::refused),
      with("UTF-16 charset", {{"Content-Type", "application/json;charset=\"utf-16\""}}, outcome::refused),
      with("no Content-Type", {}, outcome::refused),
      with("text/plain", {{"Content-Type", "text/plain"}}, outcome::refused),
      with("form media type", {{"Content-Type", "application/x-www-form-urlencoded"}}, outcome::refused),
      with("two Content-Type fields",
           {{"Content-Type", "application/json"}, {"Content-Type", "application/x-www-form-urlencoded"}},
           outcome::refused),
      with("Content_Type", {{"Content-Type", "application/json"}, {"Content_Type", "text/plain"}}, outcome::refused),
  });
  // Compressed bodies: the model inflates them, hubgate refuses them (it cannot read them).
  for (const auto& [coding, bits] : {std::pair{"gzip", 16 + MAX_WBITS}, std::pair{"deflate", MAX_WBITS},
                                     std::pair{"deflate", -MAX_WBITS}, std::pair{"GZIP", 16 + MAX_WBITS}}) {
    for (const std::string_view email : {blocked_email, allowed_email}) {
      SCOPED_TRACE(std::string(coding) + " " + std::string(email));
      const mark before = now();
      auto answer =
          exchange_final(port(), post(create_path, gzip(replace_all(body, "{EMAIL}", email), bits),
                                      {{"Content-Type", "application/json"}, {"Content-Encoding", coding}})(""));
      ASSERT_TRUE(answer);
      EXPECT_EQ(answer->status, 400u);
      expect_hubspot_error(*answer);
      EXPECT_EQ(upstream().size(), before.size());
    }
  }
  // UTF-16 without a charset, and a JSON document posted as a v2 form.
  const auto utf16 = [&](std::string_view email) {
    std::string text = "\xFF\xFE";
    for (const char c : replace_all(body, "{EMAIL}", email)) {
      text += std::string(1, c) + std::string(1, '\0');
    }
    return post(create_path, text)(email);
  };
  check({"UTF-16 body", utf16, outcome::refused});
  check({"JSON as a v2 form",
         post("/uploads/form/v2/123/guid", R"({"email":"{EMAIL}","x":"&email=ok@corp.io&"})",
              {{"Content-Type", "application/x-www-form-urlencoded"}}),
         outcome::refused});
}

// --- JSON ambiguity

TEST_F(integrity_test, ambiguous_json_is_refused_and_name_spellings_are_read) {
  const auto body = [](std::string b, outcome o = outcome::passes) { return spelling{b, post(create_path, b), o}; };
  check_all({
      body(R"({"properties":{"EMAIL":"{EMAIL}"}})"),
      body(R"({"properties":{" Email ":"{EMAIL}"}})"),
      body(R"({"properties":{"em\u0061il":"{EMAIL}"}})"),
      body(R"({"properties":{"email":"ok@corp.io","EMAIL":"{EMAIL}"}})"), // same value: one email
      body(R"({"properties":{"email":"{EMAIL}","email":"ok@corp.io"}})", outcome::refused),
      body(R"({"properties":{"firstname":"a"},"properties":{"email":"{EMAIL}"}})", outcome::refused),
      body(R"({"Properties":{"email":"{EMAIL}"}})", outcome::refused),
      // Padding a trimming server drops: control bytes, Unicode spaces, zero-width, a BOM.
      body(R"({"properties":{"email\u0000":"{EMAIL}"}})"),
      body(R"({"properties":{"\u001femail\r":"{EMAIL}"}})"),
      body(R"({"properties":{"\ufeffemail":"{EMAIL}"}})"),
      body("{\"properties\":{\"email\xC2\xA0\":\"{EMAIL}\"}}"),
      body(R"({"properties":{"\u3000Email\u200b":"{EMAIL}"}})"),
      body(R"({"properties ":{"email":"{EMAIL}"}})", outcome::refused),
      body(R"({"\u2028properties":{"email":"{EMAIL}"}})", outcome::refused),
      body(R"({"properties":{"email":["{EMAIL}"]}})", outcome::refused),
      body(R"({"properties":{"email":{"value":"{EMAIL}"}}})", outcome::refused),
      body(R"({"properties":[{"property":"email","value":"{EMAIL}"}]})", outcome::refused),
      body(R"({"properties":{/* c */"email":"{EMAIL}"}})", outcome::refused),
      body(R"({"properties":{"email":"ok@corp.io"}}{"properties":{"email":"{EMAIL}"}})", outcome::refused),
      body(R"({"properties":{"email":"{EMAIL}","x":"\ud800"}})", outcome::refused),
      body("{\"properties\":{\"email\":\"{EMAIL}\",\"x\":\"\xC3\"}}", outcome::refused),
  });
  // Very deep and very large documents: bounded, answered, never a crash.
  std::string deep =
      R"({"properties":{"email":"{EMAIL}"},"x":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  check({"5000 levels deep", post(create_path, deep), outcome::refused});
  std::string large = R"({"properties":{"email":"{EMAIL}","notes":")" + std::string(3 * 1024 * 1024, 'n') + "\"}}";
  check({"3 MiB document", post(create_path, large)});
  std::string too_large = R"({"properties":{"email":"{EMAIL}","notes":")" + std::string(5 * 1024 * 1024, 'n') + "\"}}";
  check({"5 MiB document over the limit", post(create_path, too_large), outcome::refused, 413});
}

// --- email spellings

TEST_F(integrity_test, email_spellings_compare_as_hubspot_stores_them_or_are_refused) {
  const spelling create{"v3 create", post(create_path, create_body)};
  const spelling batch{"v3 batch create", post("/crm/v3/objects/contacts/batch/create",
                                               R"({"inputs":[{"properties":{"email":"{EMAIL}"}}]})")};
  const std::pair<std::string_view, std::string_view> passing[] = {
      {"BAD@BLOCKED.TEST", "OK@CORP.IO"},
      {R"(  bad@blocked.test\t)", R"(  ok@corp.io\t)"},
      {R"(\u00a0bad@blocked.test\u3000)", R"(\u00a0ok@corp.io\u3000)"},
      {R"(bad@blo\u200bcked.te\u00adst)", R"(ok@co\u200brp.io)"},
      {R"(\uff42\uff41\uff44\uff20\uff42\uff4c\uff4f\uff43\uff4b\uff45\uff44\uff0e\uff54\uff45\uff53\uff54)",
       R"(\uff4f\uff4b\uff20\uff43\uff4f\uff52\uff50\uff0e\uff49\uff4f)"},
      {R"(bad@bloc\u212aed.te\u017ft)", R"(o\u212a@corp.io)"},
      {R"(bad@blocked\u3002test)", R"(ok@corp\u3002io)"},
      {"bad@blocked.test.", "ok@corp.io."},
      {"bad@mx.Blocked.Test", "ok@corp.io"},
      {"VIP@Partner.TEST", "Vip2@partner.test"},
      {R"(\u202evip@partner.test)", "ok@corp.io"},
      // Internationalised domains, as IDNA (UTS #46) maps them: compatibility letters, and the
      // Unicode and ASCII (punycode) spellings of a domain the rules list in Unicode.
      {R"(bad@\ud835\udc1blocked.test)", R"(ok@\ud835\udc1corp.io)"},
      {R"(bad@\u24d1locked.test)", R"(ok@\u24d2orp.io)"},
      {R"(bad@B\u00dcCHER.test)", "ok@corp.io"},
      {"bad@xn--bcher-kva.test", "ok@corp.io"},
      {"bad@mx.XN--BCHER-KVA.test", "ok@corp.io"},
  };
  for (const auto& [bad, ok] : passing) {
    for (const spelling* s : {&create, &batch}) {
      SCOPED_TRACE(bad);
      if (ok == "Vip2@partner.test") {
        // The allowed twin of the blocked address is another address at the same domain.
        const mark before = now();
        auto answer = exchange_final(port(), s->request(ok));
        ASSERT_TRUE(answer);
        EXPECT_LT(answer->status, 300u);
        EXPECT_TRUE(created_since(before).contains("vip2@partner.test"));
        check({s->name, s->request, outcome::passes}, bad, allowed_email);
      } else {
        check(*s, bad, ok);
      }
    }
  }
  const std::pair<std::string_view, std::string_view> refused[] = {
      {"Bad <bad@blocked.test>", "Ok <ok@corp.io>"},
      {"ok@corp.io, bad@blocked.test", "ok@corp.io, ok2@corp.io"},
      {"bad@blocked.test;ok@corp.io", "ok2@corp.io;ok@corp.io"},
      {"bad @blocked.test", "ok @corp.io"},
      {R"(bad@blocked.test\u0000.corp.io)", R"(ok@corp.io\u0000.corp.io)"},
      {R"(\"bad\"@blocked.test)", R"(\"ok\"@corp.io)"},
      {"bad@(x)blocked.test", "ok@(x)corp.io"},
      {"bad@[blocked.test]", "ok@[corp.io]"},
      {"mailto:bad@blocked.test", "mailto:ok@corp.io"},
      {R"(\"vip\"@partner.test)", R"(\"vip2\"@partner.test)"},
      // Two `@`s; domains IDNA refuses, which NFKC or a lax punycode decoder still read.
      {"bad@blocked.test@corp.io", "ok@corp.io@corp.io"},
      {R"(bad@blocked\u2024test)", R"(ok@corp\u2024io)"},
      {R"(bad@blocked\ufe52test)", R"(ok@corp\ufe52io)"},
      {"bad@xn--blocked-.test", "ok@xn--corp-.io"},
  };
  for (const auto& [bad, ok] : refused) {
    SCOPED_TRACE(bad);
    check({create.name, create.request, outcome::refused}, bad, ok);
  }
}

// --- property values a rule compares

// `lifecyclestage: customer` is blocked. A spelling a lenient store reads as `customer` (letter
// case, Java's folding aliases, padding) is refused, in every body shape; other stages pass.
TEST_F(integrity_test, a_value_a_rule_compares_is_read_exactly_or_refused) {
  const std::string_view customer_spellings[] = {"Customer", "CUSTOMER", " customer", "customer\\u00a0",
                                                 "\\ufeffcustomer", "customer\\u0000", "lead;customer", ";customer",
                                                 "cu\\u017ftomer", "CU\\u017fTOMER"};
  const auto v3 = [](std::string_view stage) {
    return post(create_path, R"({"properties":{"email":"ok@corp.io","lifecyclestage":")" + std::string(stage) + R"("}})");
  };
  const auto v1 = [](std::string_view stage) {
    return post("/contacts/v1/contact", R"({"properties":[{"property":"email","value":"ok@corp.io"},)"
                                        R"({"property":"lifecyclestage","value":")" + std::string(stage) + R"("}]})");
  };
  const auto form = [](std::string_view stage) {
    std::string value(stage);
    value = replace_all(value, "\\u017f", "%C5%BF");
    value = replace_all(replace_all(replace_all(replace_all(replace_all(value, "\\u00a0", "%C2%A0"), "\\ufeff", "%EF%BB%BF"),
                                                "\\u0000", "%00"),
                                    " ", "%20"),
                        ";", "%3B");
    return post("/uploads/form/v2/1/g", "email=ok%40corp.io&lifecyclestage=" + value,
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  };
  for (const auto& make : {std::function<request_for(std::string_view)>(v3), std::function<request_for(std::string_view)>(v1),
                           std::function<request_for(std::string_view)>(form)}) {
    for (const std::string_view stage : customer_spellings) {
      SCOPED_TRACE(stage);
      const mark before = now();
      auto answer = exchange_final(port(), make(stage)(""));
      ASSERT_TRUE(answer);
      const auto created = created_since(before);
      EXPECT_FALSE(created.contains("<customer>")) << answer->status << " " << answer->body;
      EXPECT_EQ(answer->status, 400u) << answer->body;
    }
    expect_customer_blocked_and_lead_created(make);
  }
}

// A property name spelled with a letter Java's equalsIgnoreCase reads as ASCII (`lıfecyclestage`,
// dotless i) is the property the rule names, in every body shape, alone or beside its plain
// spelling.
TEST_F(integrity_test, a_property_name_with_a_folding_alias_is_the_property_it_spells) {
  const std::string dotless = "l\u0131fecyclestage";
  const auto v3 = [&](std::string_view stage) {
    return post(create_path, R"({"properties":{"email":"ok@corp.io",")" + dotless + R"(":")" + std::string(stage) + R"("}})");
  };
  const auto v3_twice = [&](std::string_view stage) {
    return post(create_path, R"({"properties":{"email":"ok@corp.io","lifecyclestage":"lead",")" + dotless + R"(":")" +
                                 std::string(stage) + R"("}})");
  };
  const auto v1 = [&](std::string_view stage) {
    return post("/contacts/v1/contact", R"({"properties":[{"property":"email","value":"ok@corp.io"},)"
                                        R"({"property":")" + dotless + R"(","value":")" + std::string(stage) + R"("}]})");
  };
  const auto form = [](std::string_view stage) {
    return post("/uploads/form/v2/1/g", "email=ok%40corp.io&l%C4%B1fecyclestage=" + std::string(stage),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  };
  for (const auto& make : {std::function<request_for(std::string_view)>(v3), std::function<request_for(std::string_view)>(v1),
                           std::function<request_for(std::string_view)>(form)}) {
    expect_customer_blocked_and_lead_created(make);
  }
  const mark before = now();
  auto twice = exchange_final(port(), v3_twice("customer")(""));
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 400u) << twice->body;
  EXPECT_FALSE(created_since(before).contains("<customer>"));
}

// --- HTTP framing

TEST_F(integrity_test, framing_is_unambiguous_or_refused) {
  const std::string body = R"({"properties":{"email":"{EMAIL}"}})";
  check_all({
      {"chunked in 1-byte pieces", chunked(create_path, body, 1)},
      {"chunked in 7-byte pieces", chunked(create_path, body, 7)},
      {"HTTP/1.0 with Content-Length",
       raw("POST /crm/v3/objects/contacts HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {LEN}\r\n\r\n" +
           body)},
      {"Expect: 100-continue",
       post(create_path, body, {{"Content-Type", "application/json"}, {"Expect", "100-continue"}})},
      {"obs-folded Content-Type", raw("POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: h\r\nContent-Type:\r\n "
                                      "application/json\r\nContent-Length: {LEN}\r\n\r\n" +
                                      body)},
      {"HTTP/1.0 without Content-Length",
       raw("POST /crm/v3/objects/contacts HTTP/1.0\r\nContent-Type: application/json\r\n\r\n" + body),
       outcome::refused},
      {"Content-Length with chunked", chunked(create_path, body, 8, "Content-Length: 4\r\n"), outcome::refused},
      {"identity, chunked", chunked(create_path, body, 8, {}, {}, "identity, chunked"), outcome::refused, 501},
      {"two Content-Length values",
       raw("POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: h\r\nContent-Type: "
           "application/json\r\nContent-Length: 5\r\nContent-Length: 500\r\n\r\n" +
           body),
       outcome::refused},
      {"space before the colon",
       raw("POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: h\r\nContent-Encoding : br\r\n"
           "Content-Type: application/json\r\nContent-Length: {LEN}\r\n\r\n" +
           body),
       outcome::refused},
      {"control byte in Content-Type", post(create_path, body, {{"Content-Type", "application/json\x0b"}}),
       outcome::refused},
      {"obs-text in Content-Type", post(create_path, body, {{"Content-Type", "application/json\xff"}}),
       outcome::refused},
      {"trailer field", chunked(create_path, body, 8, {}, "Content-Encoding: gzip\r\n"), outcome::refused},
      {"override in a trailer",
       chunked("/crm/v3/objects/contacts/batch/read", body, 8, {}, "X-HTTP-Method-Override: POST\r\n"),
       outcome::refused},
      {"X-HTTP-Method-Override",
       with_method("PUT", create_path, body,
                   {{"Content-Type", "application/json"}, {"X-HTTP-Method-Override", "POST"}}),
       outcome::refused},
      {"X-HTTP-Method on GET",
       with_method("GET", create_path, body, {{"Content-Type", "application/json"}, {"X-HTTP-Method", "POST"}}),
       outcome::refused},
      {"X-Method-Override",
       with_method("PATCH", create_path, body, {{"Content-Type", "application/json"}, {"X-Method-Override", "post"}}),
       outcome::refused},
      {"x_http_method_override",
       with_method("PUT", create_path, body,
                   {{"Content-Type", "application/json"}, {"x_http_method_override", "POST"}}),
       outcome::refused},
      {"_method query", with_method("PUT", "/crm/v3/objects/contacts?_method=POST", body), outcome::refused},
      {"%5Fmethod query", with_method("GET", "/crm/v3/objects/contacts?a=1&%5FMETHOD=POST", body), outcome::refused},
      {"_method query with padding", with_method("PUT", "/crm/v3/objects/contacts?_method%00=POST", body),
       outcome::refused},
      {"_method query after ';'", with_method("GET", "/crm/v3/objects/contacts?x=1;_method=POST", body),
       outcome::refused},
      {"_method query with long padding",
       with_method("GET", "/crm/v3/objects/contacts?_method" + replace_all(std::string(40, '.'), ".", "%20") + "=POST",
                   body),
       outcome::refused},
      {"_method query with raw padding", with_method("GET", "/crm/v3/objects/contacts?_method++=POST", body),
       outcome::refused},
  });
}

TEST_F(integrity_test, pipelined_requests_are_each_decided) {
  const std::string ok = post(create_path, create_body)(allowed_email);
  const std::string bad = post(create_path, create_body)(blocked_email);
  const mark before = now();
  proxy_connection c(port());
  c.send(ok + bad + make_request("GET", "/crm/v3/objects/contacts/1") + bad + ok);
  for (const unsigned status : {201u, 403u, 200u, 403u, 201u}) {
    auto answer = c.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, status) << answer->body;
  }
  const auto created = created_since(before);
  EXPECT_TRUE(std::none_of(created.begin(), created.end(), is_blocked)) << listed(created);
  EXPECT_TRUE(created.contains(std::string(allowed_email)));
  EXPECT_EQ(upstream().size(), before.size() + 3);

  // A smuggling attempt ends the connection: the request hidden in its body is never read.
  const std::size_t again = upstream().size();
  proxy_connection s(port());
  s.send(
      "POST /crm/v3/objects/companies HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n" +
      bad);
  auto answer = s.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400u);
  EXPECT_FALSE(s.read_answer());
  EXPECT_EQ(upstream().size(), again);
}

// An upsert's id is an email when no idProperty says otherwise, written with any at-sign a
// normalising store reads as one.
TEST_F(integrity_test, upsert_ids_with_other_at_signs_are_emails) {
  const spelling upsert{"contacts.batch_upsert without idProperty",
                        post("/crm/v3/objects/contacts/batch/upsert", R"({"inputs":[{"id":"{EMAIL}","properties":{}}]})")};
  check(upsert, R"(bad\uff20blocked.test)", R"(ok\uff20corp.io)");
  check(upsert, R"(bad\ufe6bblocked.test)", R"(ok\ufe6bcorp.io)");
}

// --- side doors: every catalog operation

TEST_F(integrity_test, every_catalog_operation_is_gated) {
  const std::string form_guid = "/11111111-2222-3333-4444-555555555555";
  const std::string event = R"({"eventTemplateId":"1","email":"{EMAIL}","tokens":{}})";
  const std::string multipart_type = "multipart/form-data; boundary=XyZ";
  const std::string import_body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"importRequest\"\r\n\r\n"
      R"({"name":"i","files":[{"fileName":"c.csv"}]})"
      "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"c.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\nEmail,First Name\r\n{EMAIL},Jo\r\n--XyZ--\r\n";
  check_all({
      {"contacts.create", post(create_path, create_body)},
      {"contacts.create 0-1 dated", post("/crm/objects/2026-03/0-1", create_body)},
      {"contacts.batch_create",
       post("/crm/v3/objects/contacts/batch/create", R"({"inputs":[{"properties":{"email":"{EMAIL}"}}]})")},
      {"contacts.batch_upsert by id", post("/crm/v3/objects/contacts/batch/upsert",
                                           R"({"inputs":[{"idProperty":"email","id":"{EMAIL}","properties":{}}]})")},
      {"contacts.batch_upsert by query",
       post("/crm/v3/objects/contacts/batch/upsert?idProperty=email", R"({"inputs":[{"id":"{EMAIL}"}]})")},
      {"contacts.batch_upsert by an id property named with its object type",
       post("/crm/v3/objects/contacts/batch/upsert",
            R"({"inputs":[{"idProperty":"0-1/email","id":"{EMAIL}","properties":{}}]})"),
       outcome::refused},
      {"contacts.batch_upsert by an id property named with a loose object type",
       post("/crm/v3/objects/contacts/batch/upsert?idProperty=%2B0-1/email", R"({"inputs":[{"id":"{EMAIL}"}]})"),
       outcome::refused},
      {"contacts.create property +email", post(create_path, R"({"properties":{"+email":"{EMAIL}"}})")},
      {"contacts.create property +0-1/email", post(create_path, R"({"properties":{"+0-1/email":"{EMAIL}"}})"),
       outcome::refused},
      {"forms.submit field typed loosely",
       post("/submissions/v3/integration/submit/123" + form_guid,
            R"({"fields":[{"objectTypeId":" 0-1","name":"0-2/email","value":"{EMAIL}"}]})"),
       outcome::refused},
      {"contacts.batch_upsert, query and item disagree",
       post("/crm/v3/objects/contacts/batch/upsert?idProperty=email",
            R"({"inputs":[{"idProperty":"hs_object_id","id":"{EMAIL}"}]})"),
       outcome::refused},
      {"contacts.batch_upsert without idProperty",
       post("/crm/v3/objects/contacts/batch/upsert", R"({"inputs":[{"id":"{EMAIL}","properties":{}}]})")},
      {"contacts.batch_upsert with an empty idProperty",
       post("/crm/v3/objects/contacts/batch/upsert", R"({"inputs":[{"idProperty":" ","id":"{EMAIL}","properties":{}}]})")},
      {"contacts.batch_upsert with an idProperty query only a lenient server reads",
       post("/crm/v3/objects/contacts/batch/upsert?IDPROPERTY=hs_object_id", R"({"inputs":[{"id":"{EMAIL}","properties":{}}]})")},
      {"contacts.batch_upsert with an empty idProperty query",
       post("/crm/v3/objects/contacts/batch/upsert?idProperty=", R"({"inputs":[{"id":"{EMAIL}","properties":{}}]})")},
      {"contacts.v1_create",
       post("/contacts/v1/contact", R"({"properties":[{"property":"email","value":"{EMAIL}"}]})")},
      {"contacts.v1_create repeated entries",
       post("/contacts/v1/contact", R"({"properties":[{"property":"email","value":"ok@corp.io"},)"
                                    R"({"property":"EMAIL","value":"{EMAIL}"}]})")},
      {"contacts.v1_create entry named twice",
       post("/contacts/v1/contact", R"({"properties":[{"property":"firstname","name":"email","value":"{EMAIL}"}]})"),
       outcome::refused},
      {"contacts.v1_create_or_update", post("/contacts/v1/contact/createOrUpdate/email/{EMAIL}",
                                            R"({"properties":[{"property":"firstname","value":"Jo"}]})")},
      {"contacts.v1_batch", post("/contacts/v1/contact/batch", R"([{"email":"ok@corp.io","properties":[]},)"
                                                               R"({"email":"{EMAIL}","properties":[]}])")},
      {"contacts.v1_batch email in properties",
       post("/contacts/v1/contact/batch", R"([{"vid":5,"properties":[{"property":"email","value":"{EMAIL}"}]}])")},
      {"forms.submit", post("/submissions/v3/integration/submit/123" + form_guid,
                            R"({"fields":[{"objectTypeId":"0-1","name":"email","value":"{EMAIL}"}]})")},
      {"forms.submit with a segment after its guid",
       post("/submissions/v3/integration/submit/123" + form_guid + "/extra",
            R"({"fields":[{"objectTypeId":"0-1","name":"email","value":"{EMAIL}"}]})")},
      {"forms.submit repeated fields",
       post("/submissions/v3/integration/submit/123" + form_guid, R"({"fields":[{"name":"email","value":"ok@corp.io"},)"
                                                                  R"({"name":"Email","value":"{EMAIL}"}]})")},
      {"forms.submit field named twice",
       post("/submissions/v3/integration/submit/123" + form_guid,
            R"({"fields":[{"name":"firstname","property":"email","value":"{EMAIL}"}]})"),
       outcome::refused},
      {"forms.submit_secure", post("/submissions/v3/integration/secure/submit/123" + form_guid,
                                   R"({"fields":[{"name":"EMAIL","value":"{EMAIL}"}]})")},
      // HubSpot's newer forms name a field by its object type too.
      {"forms.submit field named with its object type",
       post("/submissions/v3/integration/submit/123" + form_guid, R"({"fields":[{"name":"0-1/email","value":"{EMAIL}"}]})")},
      {"forms.submit field named with its object type beside a plain one",
       post("/submissions/v3/integration/submit/123" + form_guid,
            R"({"fields":[{"name":"email","value":"ok@corp.io"},{"name":"00-01/Email","value":"{EMAIL}"}]})")},
      {"forms.submit field typed twice alike",
       post("/submissions/v3/integration/submit/123" + form_guid,
            R"({"fields":[{"objectTypeId":"0-1","name":"0-1/email","value":"{EMAIL}"}]})")},
      {"forms.submit field typed twice apart",
       post("/submissions/v3/integration/submit/123" + form_guid,
            R"({"fields":[{"objectTypeId":"0-1","name":"0-2/email","value":"{EMAIL}"}]})"),
       outcome::refused},
      {"contacts.create property named with its object type",
       post(create_path, R"({"properties":{"0-1/email":"{EMAIL}"}})"), outcome::refused},
      {"emails.transactional_send property named with its object type",
       post("/marketing/v3/transactional/single-email/send",
            R"({"emailId":1,"message":{"to":"ok@corp.io"},"contactProperties":{"0-1/email":"{EMAIL}"}})"),
       outcome::refused},
      {"forms.submit_v2 field named with its object type",
       post("/uploads/form/v2/123" + form_guid, "firstname=Jo&0-1%2Femail={EMAIL}",
            {{"Content-Type", "application/x-www-form-urlencoded"}})},
      {"forms.submit_v2", post("/uploads/form/v2/123" + form_guid, "firstname=Jo&email={EMAIL}",
                               {{"Content-Type", "application/x-www-form-urlencoded"}})},
      {"forms.submit_v2 field in the query", post("/uploads/form/v2/123" + form_guid + "?email={EMAIL}",
                                                  "firstname=Jo", {{"Content-Type", "application/x-www-form-urlencoded"}}),
       outcome::refused},
      {"forms.submit_v2 repeated", post("/uploads/form/v2/123" + form_guid, "email=ok%40corp.io&e%6Dail={EMAIL}",
                                        {{"Content-Type", "application/x-www-form-urlencoded"}})},
      {"forms.submit_v2 fields split at ';'", post("/uploads/form/v2/123" + form_guid, "firstname=Jo;email={EMAIL}",
                                                   {{"Content-Type", "application/x-www-form-urlencoded"}}),
       outcome::refused},
      {"forms.submit_v2 field after ';'", post("/uploads/form/v2/123" + form_guid, "email=ok%40corp.io&x=1;email={EMAIL}",
                                               {{"Content-Type", "application/x-www-form-urlencoded"}}),
       outcome::refused},
      {"forms.submit_v2_secure", post("/submissions/v2/post/upload/secure/123" + form_guid, "email={EMAIL}",
                                      {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}})},
      {"imports.create", post("/crm/v3/imports", import_body, {{"Content-Type", multipart_type}}),
       outcome::blocked_whole},
      {"imports.create dated", post("/crm/imports/2026-03", import_body, {{"Content-Type", multipart_type}}),
       outcome::blocked_whole},
      {"emails.transactional_send", post("/marketing/v3/transactional/single-email/send",
                                         R"({"emailId":1,"message":{"to":"{EMAIL}"},"contactProperties":{}})")},
      {"emails.transactional_send cc", post("/marketing/v3/transactional/single-email/send",
                                            R"({"emailId":1,"message":{"to":"ok@corp.io","cc":["{EMAIL}"]}})")},
      {"emails.transactional_send bcc", post("/marketing/transactional/2026-03/single-email/send",
                                             R"({"emailId":1,"message":{"to":"ok@corp.io","bcc":"{EMAIL}"}})")},
      {"emails.transactional_send_v1",
       post("/email/public/v1/singleEmail/send", R"({"emailId":1,"message":{"to":"ok@corp.io"},)"
                                                 R"("contactProperties":[{"name":"email","value":"{EMAIL}"}]})")},
      {"emails.marketing_send", post("/marketing/v4/email/single-send", R"({"emailId":1,"message":{"to":"{EMAIL}"}})")},
      {"marketing_events.email_create", post("/marketing/v3/marketing-events/attendance/ev1/attend/email-create",
                                             R"({"inputs":[{"email":"{EMAIL}","contactProperties":{}}]})")},
      {"marketing_events.email_create by object",
       post("/marketing/v3/marketing-events/9/attendance/register/email-create",
            R"({"inputs":[{"contactProperties":{"email":"{EMAIL}"}}]})")},
      {"marketing_events.email_upsert",
       post("/marketing/v3/marketing-events/events/ev1/register/email-upsert?externalAccountId=1",
            R"({"inputs":[{"email":"{EMAIL}","interactionDateTime":1700000000000,"contactProperties":{}}]})")},
      {"marketing_events.email_upsert dated",
       post("/marketing/marketing-events/2026-03/events/ev1/attend/email-upsert",
            R"({"inputs":[{"contactProperties":{"email":"{EMAIL}"}}]})")},
      {"conversations.channel_message sender", post("/conversations/v3/custom-channels/c1/messages",
                                                    R"({"text":"hi","messageDirection":"INCOMING","senders":[{"name":"Jo",)"
                                                    R"("deliveryIdentifier":{"type":"HS_EMAIL_ADDRESS","value":"{EMAIL}"}}]})")},
      {"conversations.channel_message recipient, dated, untyped",
       post("/conversations/custom-channels/2026-03/c1/messages",
            R"({"text":"hi","recipients":[{"deliveryIdentifier":{"value":"{EMAIL}"}}]})")},
      {"conversations.thread_message", post("/conversations/v3/conversations/threads/77/messages",
                                            R"({"type":"MESSAGE","text":"hi","recipients":[{"recipientField":"TO",)"
                                            R"("deliveryIdentifiers":[{"type":"HS_EMAIL_ADDRESS","value":"{EMAIL}"}]}]})")},
      {"conversations.thread_message dated", post("/conversations/conversations/2026-09-beta/threads/77/messages",
                                                  R"({"type":"MESSAGE","text":"hi","recipients":[{"recipientField":"TO",)"
                                                  R"("deliveryIdentifiers":[{"type":"HS_EMAIL_ADDRESS","value":"{EMAIL}"}]}]})")},
      {"conversations.thread_message dated as the guides spell it",
       post("/conversations/2026-03/conversations/threads/77/messages",
            R"({"type":"MESSAGE","text":"hi","recipients":[{"recipientField":"TO",)"
            R"("deliveryIdentifiers":[{"type":"HS_EMAIL_ADDRESS","value":"{EMAIL}"}]}]})")},
      {"conversations.channel_message dated as the guides spell it",
       post("/conversations/2026-03/custom-channels/c1/messages",
            R"({"text":"hi","recipients":[{"deliveryIdentifier":{"value":"{EMAIL}"}}]})")},
      {"timeline.event_create", post("/integrators/timeline/v3/events", event)},
      {"timeline.event_batch_create",
       post("/integrators/timeline/v3/events/batch/create", R"({"inputs":[)" + event + "]}")},
      {"timeline.event_create as the SDKs spell it", post("/crm/v3/timeline/events", event)},
      {"timeline.event_batch_create as the SDKs spell it",
       post("/crm/v3/timeline/events/batch/create", R"({"inputs":[)" + event + "]}")},
      {"timeline.app_event_create", post("/integrators/timeline/v4/events", event)},
      {"timeline.app_event_batch_create", post("/integrators/timeline/v4/events/batch", R"({"inputs":[)" + event + "]}")},
      {"timeline.app_event_other", post("/integrators/timeline/v4/events/occurrences", event), outcome::blocked_whole},
      {"timeline.legacy_event_create", with_method("PUT", "/integrations/v1/77/timeline/event", event)},
      {"timeline.legacy_event_create with POST", post("/integrations/v1/77/timeline/event", event)},
      {"timeline.legacy_event_batch",
       with_method("PUT", "/integrations/v1/77/timeline/event/batch", R"({"eventWrappers":[)" + event + "]}")},
      {"timeline.legacy_event_batch with POST",
       post("/integrations/v1/77/timeline/event/batch", R"({"eventWrappers":[)" + event + "]}")},
      {"events.send", post("/events/v3/send", R"({"eventName":"pe1_x","email":"{EMAIL}"})")},
      {"events.send_batch",
       post("/events/custom/2026-03/send/batch", R"({"inputs":[{"eventName":"e","email":"{EMAIL}"}]})")},
      {"visitor_identification.token_create",
       post("/visitor-identification/v3/tokens/create", R"({"email":"{EMAIL}","firstName":"Jo"})")},
      {"visitor_identification.token_create as the SDK spells it",
       post("/conversations/v3/visitor-identification/tokens/create", R"({"email":"{EMAIL}","firstName":"Jo"})")},
      {"meetings.book", post("/scheduler/v3/meetings/meeting-links/book", R"({"slug":"s","email":"{EMAIL}"})")},
      {"meetings.book guest", post("/scheduler/v3/meetings/meeting-links/book",
                                   R"({"slug":"s","email":"ok@corp.io","guestEmails":["{EMAIL}"]})")},
      {"meetings.book form field", post("/scheduler/2026-03/meetings/meeting-links/book",
                                        R"({"slug":"s","formFields":[{"name":"email","value":"{EMAIL}"}]})")},
      {"automation.webhook_trigger", post("/automation/v4/webhook-triggers/1/2", R"({"email":"{EMAIL}"})"),
       outcome::blocked_whole},
      {"forms.submit async", post("/submissions/v3/integration/async/submit/123" + form_guid,
                                  R"({"fields":[{"name":"email","value":"{EMAIL}"}]})")},
      {"forms.submit_embedded",
       post("/submissions/v3/public/submit/formsnext/multipart/123" + form_guid,
            "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n{EMAIL}\r\n--XyZ--\r\n",
            {{"Content-Type", multipart_type}}),
       outcome::blocked_whole},
      {"accounting.contact_sync",
       post("/crm/v3/extensions/accounting/sync/7/contacts",
            R"({"accountId":"a","contacts":[{"externalId":"1","emailAddress":"{EMAIL}","customerType":"CONTACT"}],)"
            R"("syncAction":"CREATE"})"),
       outcome::blocked_whole},
  });
}

TEST_F(integrity_test, smtp_tokens_that_create_contacts_are_refused_in_every_spelling) {
  for (const std::string_view value : {"true", R"("true")", R"("TRUE")", "1", "2.5"}) {
    SCOPED_TRACE(value);
    const mark before = now();
    auto answer =
        exchange_final(port(), post("/marketing/v3/transactional/smtp-tokens",
                                    R"({"createContact":)" + std::string(value) + R"(,"campaignName":"c"})")(""));
    ASSERT_TRUE(answer);
    EXPECT_GE(answer->status, 400u);
    EXPECT_EQ(upstream().size(), before.size());
  }
  const mark before = now();
  auto answer = exchange_final(
      port(), post("/marketing/v3/transactional/smtp-tokens", R"({"createContact":false,"campaignName":"c"})")(""));
  ASSERT_TRUE(answer);
  EXPECT_LT(answer->status, 300u);
  EXPECT_EQ(upstream().size(), before.size() + 1);
  EXPECT_TRUE(created_since(before).empty()) << listed(created_since(before));
}

} // namespace
} // namespace hubgate::test
