#pragma once
// The body of a request as the session holds it: a Beast Body (for the message type only; it has
// no reader or writer, the session reads and forward() writes the bytes itself) whose value is
// read as a std::string_view by everything after the session.
//
// Why not string_body: a body with a Content-Length is read straight from the socket into the
// message, and std::string can only grow by writing every new byte first (resize zero-fills, and
// C++20 has no resize_and_overwrite): a 41 KB batch was written twice, once with zeros. Here the
// storage is allocated uninitialised and the socket writes it once.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>

namespace hubgate::http {

class request_bytes {
 public:
  // Room kept in front of the bytes received for the head they go upstream with (with_head). A
  // head hubgate forwards is a few hundred bytes.
  static constexpr std::size_t head_room = 2048;

  // `size` bytes of uninitialised storage for the caller to fill; they are the body from now on.
  std::span<char> overwrite(std::size_t size) {
    storage_ = size != 0 ? std::make_unique_for_overwrite<char[]>(head_room + size) : nullptr;
    received_size_ = size;
    text_.reset();
    return {received(), size};
  }

  // `head` and the body as one run of bytes, `head` copied into the room in front of the bytes
  // received: the upstream write sends head and body as one buffer, rather than copying the
  // body's first 16 KB behind the head so that they share the first TLS record. Empty when the
  // body is not the bytes received (or is empty) or `head` is larger than the room.
  std::string_view with_head(std::string_view head) noexcept {
    if (text_ || spliced() || !storage_ || head.size() > head_room) {
      return {};
    }
    char* start = received() - head.size();
    std::memcpy(start, head.data(), head.size());
    return {start, head.size() + received_size_};
  }

  // A chunked body as Beast's parser read it, copied to where received bytes live: the gate's
  // records point into them, and are read after a rewrite replaced the body (a 207's blocked
  // items, the audit entry, a budget's count), so they must not be freed with a string the
  // rewrite replaces.
  void receive(std::string_view bytes) {
    const std::span<char> to = overwrite(bytes.size());
    if (!bytes.empty()) {
      std::memcpy(to.data(), bytes.data(), bytes.size());
    }
  }

  // The body is `text` from now on: the body as the gate rewrote it. The bytes received stay
  // where they are until the message goes (see receive).
  void assign(std::string text) {
    text_ = std::move(text);
    pieces_.clear();
  }

  // The body is `pieces` from now on, in order: views into the body as it was (a split batch's
  // kept items and the commas between them, hubspot::rebuild), sent upstream without a copy of
  // the whole living beside the original. What they point into is kept as it is.
  void splice(std::vector<std::string_view> pieces) {
    spliced_size_ = 0;
    for (const std::string_view piece : pieces) {
      spliced_size_ += piece.size();
    }
    pieces_ = std::move(pieces);
  }
  bool spliced() const noexcept { return !pieces_.empty(); }
  // A spliced body's pieces.
  std::span<const std::string_view> pieces() const noexcept { return pieces_; }

  // The body as one run of bytes: empty when it is spliced.
  std::string_view view() const noexcept {
    if (spliced()) {
      return {};
    }
    return text_ ? std::string_view(*text_) : std::string_view(received(), received_size_);
  }
  operator std::string_view() const noexcept { return view(); }
  std::size_t size() const noexcept { return spliced() ? spliced_size_ : view().size(); }
  bool empty() const noexcept { return size() == 0; }

 private:
  char* received() const noexcept { return storage_ ? storage_.get() + head_room : nullptr; }

  std::unique_ptr<char[]> storage_; // head_room bytes, then the bytes received
  std::size_t received_size_ = 0;
  std::optional<std::string> text_;
  std::vector<std::string_view> pieces_;
  std::size_t spliced_size_ = 0;
};

struct request_body {
  using value_type = request_bytes;
  // For prepare_payload: the Content-Length the body is sent with.
  static std::uint64_t size(const value_type& body) noexcept { return body.size(); }
};

using request_message = boost::beast::http::request<request_body>;

} // namespace hubgate::http
