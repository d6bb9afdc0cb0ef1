#pragma once
// Internal: the client side of one HTTP/2 session (nghttp2) without I/O.
// It is fed the bytes read from the server (receive), hands out the bytes to
// write (pending_output) and reports what happened as events, in order:
// the server's SETTINGS, GOAWAY, PING acks, and for each request stream
// exactly one outcome (a response, a reset, or a body over the limit).
// Who reads and writes the bytes is the caller's business (h2_connection).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "providers/http_types.hpp"

struct nghttp2_session;

namespace herald::detail {

// HTTP/2 error codes (RFC 9113 section 7) the transport acts on.
namespace h2_error {
inline constexpr std::uint32_t no_error = 0x0;
inline constexpr std::uint32_t protocol_error = 0x1;
inline constexpr std::uint32_t internal_error = 0x2;
inline constexpr std::uint32_t refused_stream = 0x7;
inline constexpr std::uint32_t cancel = 0x8;
}  // namespace h2_error

struct h2_event {
  enum class kind {
    settings,            // the server's SETTINGS: max_concurrent_streams is its current limit
    goaway,              // last_stream_id, error_code, debug (bounded); streams above it follow as refused resets
    ping_ack,            // our PING was answered
    response,            // stream_id ended with a final answer: response
    stream_reset,        // stream_id ended without an answer: error_code (refused_stream: never processed)
    response_too_large,  // stream_id reset by us: the body went over the limit
    protocol_error,      // the bytes received broke the protocol (debug says how); the session is finished
  };
  kind type = kind::settings;
  std::int32_t stream_id = 0;
  std::uint32_t error_code = h2_error::no_error;
  std::int32_t last_stream_id = 0;
  std::uint32_t max_concurrent_streams = 0;
  bool headers_sent = false;  // stream outcomes: the request's HEADERS went out
  std::string debug;
  http_response response;
};

class h2_session {
 public:
  // Queues our SETTINGS (no push, 1 MiB stream window). Bodies above
  // `max_response_body` are cut by resetting the stream.
  explicit h2_session(std::size_t max_response_body);
  ~h2_session();
  h2_session(const h2_session&) = delete;
  h2_session& operator=(const h2_session&) = delete;

  // False when nghttp2 could not set up the session (out of memory).
  bool ok() const { return ok_; }

  // Feeds bytes read from the server; events are appended.
  void receive(std::span<const std::uint8_t> bytes);
  // The next bytes to write, valid until the next call (empty: nothing
  // pending); events may be appended (streams closed by what was sent).
  // False on a fatal session error.
  bool pending_output(std::span<const std::uint8_t>& chunk);
  // All the pending bytes at once.
  std::string take_output();

  // Starts a request stream (:scheme https); returns its id, or a negative
  // nghttp2 error (stream ids exhausted, session going away). `request` is
  // borrowed until the stream's outcome, or until rebind_request.
  std::int32_t submit_request(const http_request& request, std::string_view authority);
  // The stream's request body is now read from `request` (a copy).
  void rebind_request(std::int32_t stream_id, const http_request& request);
  void reset_stream(std::int32_t stream_id, std::uint32_t error_code);
  void ping();
  // Our GOAWAY; the session ends once it is written.
  void terminate(std::uint32_t error_code);

  // The events since the last call, moved into `out` (which is cleared first).
  void take_events(std::vector<h2_event>& out);

  bool want_read() const;
  bool want_write() const;
  // The server's SETTINGS_MAX_CONCURRENT_STREAMS (100 until its SETTINGS arrive).
  std::uint32_t remote_max_concurrent_streams() const;
  bool headers_sent(std::int32_t stream_id) const;
  std::size_t open_streams() const { return streams_.size(); }

  static const char* error_text(int nghttp2_error);

  // nghttp2 callbacks (the free functions in the .cpp forward here).
  struct stream;
  void on_frame_send(std::int32_t stream_id, std::uint8_t type);
  void on_frame_recv(const void* frame);
  int on_header(std::int32_t stream_id, std::uint8_t frame_type, std::string_view name, std::string_view value);
  void on_data(std::int32_t stream_id, std::string_view data);
  void on_stream_close(std::int32_t stream_id, std::uint32_t error_code);
  long read_body(std::int32_t stream_id, std::uint8_t* buf, std::size_t length, std::uint32_t* flags);

 private:
  stream* find(std::int32_t stream_id) const;

  nghttp2_session* session_ = nullptr;
  bool ok_ = false;
  std::size_t max_response_body_;
  std::unordered_map<std::int32_t, std::unique_ptr<stream>> streams_;
  std::vector<h2_event> events_;
};

}  // namespace herald::detail
