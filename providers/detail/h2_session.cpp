#include "providers/detail/h2_session.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace herald::detail {

struct h2_session::stream {
  const http_request* request = nullptr;  // borrowed: the body is read from it
  std::size_t body_offset = 0;
  bool headers_sent = false;
  bool too_large = false;
  bool bad_status = false;  // reset by us: `:status` was not three digits
  http_response response;
};

namespace {

h2_session* self(void* user_data) { return static_cast<h2_session*>(user_data); }

int on_frame_send_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  self(user_data)->on_frame_send(frame->hd.stream_id, frame->hd.type);
  return 0;
}
int on_frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  self(user_data)->on_frame_recv(frame);
  return 0;
}
int on_header_cb(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                 const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user_data) {
  return self(user_data)->on_header(frame->hd.stream_id, frame->hd.type,
                                    std::string_view(reinterpret_cast<const char*>(name), namelen),
                                    std::string_view(reinterpret_cast<const char*>(value), valuelen));
}
int on_data_chunk_cb(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data, std::size_t len,
                     void* user_data) {
  self(user_data)->on_data(stream_id, std::string_view(reinterpret_cast<const char*>(data), len));
  return 0;
}
int on_stream_close_cb(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user_data) {
  self(user_data)->on_stream_close(stream_id, error_code);
  return 0;
}
ssize_t read_body_cb(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                     std::uint32_t* flags, nghttp2_data_source*, void* user_data) {
  return self(user_data)->read_body(stream_id, buf, length, flags);
}

struct callbacks_holder {
  nghttp2_session_callbacks* callbacks = nullptr;
  callbacks_holder() {
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv_cb);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close_cb);
  }
  ~callbacks_holder() { nghttp2_session_callbacks_del(callbacks); }
};

// A final or informational status: exactly three digits (RFC 9110 15).
bool three_digits(std::string_view value) {
  return value.size() == 3 && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

h2_session::h2_session(std::size_t max_response_body) : max_response_body_(max_response_body) {
  static const callbacks_holder holder;  // registered once, shared by every session (read-only)
  if (nghttp2_session_client_new(&session_, holder.callbacks, this) != 0) {
    session_ = nullptr;
    return;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},  // server-initiated streams: none expected
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
  };
  ok_ = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0;
}

h2_session::~h2_session() {
  if (session_) nghttp2_session_del(session_);
}

const char* h2_session::error_text(int nghttp2_error) { return nghttp2_strerror(nghttp2_error); }

void h2_session::receive(std::span<const std::uint8_t> bytes) {
  auto rv = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size());
  if (rv < 0) {
    h2_event e;
    e.type = h2_event::kind::protocol_error;
    e.debug = nghttp2_strerror(static_cast<int>(rv));
    events_.push_back(std::move(e));
  }
}

bool h2_session::pending_output(std::span<const std::uint8_t>& chunk) {
  const std::uint8_t* data = nullptr;
  auto n = nghttp2_session_mem_send(session_, &data);
  if (n < 0) {
    chunk = {};
    return false;
  }
  chunk = std::span<const std::uint8_t>(data, static_cast<std::size_t>(n));
  return true;
}

std::string h2_session::take_output() {
  std::string out;
  std::span<const std::uint8_t> chunk;
  while (pending_output(chunk) && !chunk.empty()) out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  return out;
}

std::int32_t h2_session::submit_request(const http_request& req, std::string_view authority) {
  constexpr std::size_t inline_headers = 24;
  std::array<nghttp2_nv, inline_headers> inline_nva;
  std::vector<nghttp2_nv> heap_nva;
  nghttp2_nv* nva = inline_nva.data();
  if (req.headers.size() + 5 > inline_headers) {
    heap_nva.resize(req.headers.size() + 5);
    nva = heap_nva.data();
  }
  std::size_t count = 0;
  auto add = [&](std::string_view n, std::string_view v, bool sensitive) {
    nva[count++] = {const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(n.data())),
                    const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(v.data())), n.size(), v.size(),
                    static_cast<std::uint8_t>(sensitive ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)};
  };
  char length[24];
  auto length_end = std::to_chars(length, length + sizeof length, req.body.size()).ptr;
  add(":method", req.method, false);
  add(":scheme", "https", false);
  add(":authority", authority, false);
  add(":path", req.path, req.path_sensitive);
  for (const auto& h : req.headers) add(h.name, h.value, h.sensitive);
  if (!req.body.empty()) add("content-length", std::string_view(length, length_end - length), false);
  auto s = std::make_unique<stream>();
  s->request = &req;
  nghttp2_data_provider provider{};
  provider.read_callback = &read_body_cb;
  std::int32_t id =
      nghttp2_submit_request(session_, nullptr, nva, count, req.body.empty() ? nullptr : &provider, s.get());
  if (id > 0) streams_.emplace(id, std::move(s));
  return id;
}

void h2_session::rebind_request(std::int32_t stream_id, const http_request& request) {
  if (auto* s = find(stream_id)) s->request = &request;
}

void h2_session::reset_stream(std::int32_t stream_id, std::uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void h2_session::ping() { nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr); }

void h2_session::terminate(std::uint32_t error_code) { nghttp2_session_terminate_session(session_, error_code); }

void h2_session::take_events(std::vector<h2_event>& out) {
  out.clear();
  out.swap(events_);
}

bool h2_session::want_read() const { return nghttp2_session_want_read(session_) != 0; }
bool h2_session::want_write() const { return nghttp2_session_want_write(session_) != 0; }

std::uint32_t h2_session::remote_max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool h2_session::headers_sent(std::int32_t stream_id) const {
  auto* s = find(stream_id);
  return s && s->headers_sent;
}

h2_session::stream* h2_session::find(std::int32_t stream_id) const {
  return static_cast<stream*>(nghttp2_session_get_stream_user_data(session_, stream_id));
}

void h2_session::on_frame_send(std::int32_t stream_id, std::uint8_t type) {
  if (type != NGHTTP2_HEADERS) return;
  if (auto* s = find(stream_id)) s->headers_sent = true;
}

void h2_session::on_frame_recv(const void* raw) {
  const auto* frame = static_cast<const nghttp2_frame*>(raw);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        h2_event e;
        e.type = h2_event::kind::settings;
        e.max_concurrent_streams = remote_max_concurrent_streams();
        events_.push_back(std::move(e));
      }
      break;
    case NGHTTP2_GOAWAY: {
      h2_event e;
      e.type = h2_event::kind::goaway;
      e.last_stream_id = frame->goaway.last_stream_id;
      e.error_code = frame->goaway.error_code;
      e.debug.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                     std::min<std::size_t>(frame->goaway.opaque_data_len, 200));
      events_.push_back(std::move(e));
      break;
    }
    case NGHTTP2_PING:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        h2_event e;
        e.type = h2_event::kind::ping_ack;
        events_.push_back(std::move(e));
      }
      break;
    default:
      break;
  }
}

int h2_session::on_header(std::int32_t stream_id, std::uint8_t frame_type, std::string_view name,
                          std::string_view value) {
  if (frame_type != NGHTTP2_HEADERS) return 0;
  auto* s = find(stream_id);
  if (!s || s->bad_status) return 0;
  auto& resp = s->response;
  if (name == ":status") {
    if (!three_digits(value)) {
      s->bad_status = true;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_PROTOCOL_ERROR);
      return 0;
    }
    int status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    if (status >= 100 && status < 200) return 0;  // informational; the final answer follows
    resp.status = status;
  } else if (resp.headers.size() < 64) {  // bounded: answers carry a handful of headers
    if (resp.headers.empty()) resp.headers.reserve(8);
    resp.headers.push_back({std::string(name), std::string(value), false});
  }
  return 0;
}

void h2_session::on_data(std::int32_t stream_id, std::string_view data) {
  auto* s = find(stream_id);
  if (!s || s->too_large || s->bad_status) return;
  if (s->response.body.size() + data.size() > max_response_body_) {
    s->too_large = true;
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    return;
  }
  s->response.body.append(data);
}

void h2_session::on_stream_close(std::int32_t stream_id, std::uint32_t error_code) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  std::unique_ptr<stream> s = std::move(it->second);
  streams_.erase(it);
  h2_event e;
  e.stream_id = stream_id;
  e.headers_sent = s->headers_sent;
  e.error_code = error_code;
  if (s->bad_status) {
    e.type = h2_event::kind::stream_reset;
    e.error_code = h2_error::protocol_error;
  } else if (s->too_large) {
    e.type = h2_event::kind::response_too_large;
  } else if (error_code == NGHTTP2_NO_ERROR && s->response.status != 0) {
    e.type = h2_event::kind::response;
    e.response = std::move(s->response);
  } else {
    e.type = h2_event::kind::stream_reset;
  }
  events_.push_back(std::move(e));
}

long h2_session::read_body(std::int32_t stream_id, std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
  auto* s = find(stream_id);
  if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const std::string& body = s->request->body;
  std::size_t n = std::min(length, body.size() - s->body_offset);
  std::copy_n(body.data() + s->body_offset, n, buf);
  s->body_offset += n;
  if (s->body_offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<long>(n);
}

}  // namespace herald::detail
