#pragma once
// A Beast Body that reads a body whole into a std::string, like string_body, but writes each byte
// once: string_body's reader resizes the string for each piece it is given, which zero-fills the
// new bytes, and then copies the piece over the zeros. This reader appends the piece. For parsers
// only (it has no writer); the value is a std::string, so a message read with it moves into a
// string_body message at no cost.

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace hubgate::http {

struct appending_string_body {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) noexcept { return body.size(); }

  class reader {
   public:
    template <bool IsRequest, class Fields>
    reader(boost::beast::http::header<IsRequest, Fields>&, value_type& body) : body_(body) {}

    // A known length is reserved at once (the parser has checked it against its body limit).
    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      ec = {};
      if (length) {
        if (*length > body_.max_size()) {
          ec = boost::beast::http::error::buffer_overflow;
          return;
        }
        body_.reserve(static_cast<std::size_t>(*length));
      }
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t taken = 0;
      for (const auto piece : boost::beast::buffers_range_ref(buffers)) {
        if (piece.size() > body_.max_size() - body_.size()) {
          ec = boost::beast::http::error::buffer_overflow;
          return taken;
        }
        body_.append(static_cast<const char*>(piece.data()), piece.size());
        taken += piece.size();
      }
      return taken;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

// A parser's chunk-header callback (`parser.on_chunk_header(reserve)`, which keeps a reference:
// it must outlive the parse) that makes room in the body for each chunk once its size line is read,
// and `room` bytes beyond it for the caller's edits. Appended piece by piece, a string grows by
// copying what it holds: HubSpot's 27 KB answer to a batch, one chunk read as two TLS records, was
// copied 1.7 times over instead of once. The parser has checked the size against its body limit
// before it calls this, as init() relies on for a Content-Length; reserve() grows the capacity at
// least twofold, so many small chunks cost no more than appending.
struct reserve_each_chunk {
  std::string& body;
  std::size_t room = 0;

  void operator()(std::uint64_t size, boost::beast::string_view /*extensions*/, boost::beast::error_code& ec) const {
    ec = {};
    if (size > body.max_size() - body.size() - room) {
      ec = boost::beast::http::error::buffer_overflow;
      return;
    }
    body.reserve(body.size() + static_cast<std::size_t>(size) + room);
  }
};

} // namespace hubgate::http
