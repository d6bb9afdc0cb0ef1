// Unit tests of the HTTP/2 client session without I/O: the bytes it writes
// go to a server-side nghttp2 session in memory, whose answers (SETTINGS,
// responses, RST_STREAM, GOAWAY) are fed back. No sockets, no timers.
#include "providers/detail/h2_session.hpp"

#include <nghttp2/nghttp2.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace herald::detail {
namespace {

using kind = h2_event::kind;

// The server side: records complete requests, answers what the test says.
class memory_server {
 public:
  struct request {
    std::map<std::string, std::string> headers;
    std::string body;
    bool complete = false;
  };

  memory_server() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
               const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
          static_cast<memory_server*>(user)->requests[frame->hd.stream_id].headers[std::string(
              reinterpret_cast<const char*>(name), namelen)] = std::string(reinterpret_cast<const char*>(value), valuelen);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data, std::size_t len,
               void* user) {
          static_cast<memory_server*>(user)->requests[stream_id].body.append(reinterpret_cast<const char*>(data), len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
      if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
          (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        static_cast<memory_server*>(user)->requests[frame->hd.stream_id].complete = true;
      return 0;
    });
    nghttp2_session_server_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
  }
  ~memory_server() { nghttp2_session_del(session_); }
  memory_server(const memory_server&) = delete;
  memory_server& operator=(const memory_server&) = delete;

  void settings(std::uint32_t max_concurrent_streams) {
    nghttp2_settings_entry entry{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams};
    ASSERT_EQ(nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, &entry, 1), 0);
  }
  // `status` is sent as given, valid or not.
  void respond(std::int32_t stream_id, std::string status, std::string body,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto& b = bodies_[stream_id];
    b = {std::move(body), 0};
    statuses_[stream_id] = std::move(status);
    std::vector<nghttp2_nv> nva;
    auto add = [&](const std::string& n, const std::string& v) {
      nva.push_back({const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(n.data())),
                     const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    };
    static const std::string status_name = ":status";
    add(status_name, statuses_[stream_id]);
    headers_[stream_id] = std::move(headers);
    for (const auto& [n, v] : headers_[stream_id]) add(n, v);
    nghttp2_data_provider provider{};
    provider.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                                std::uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
      auto* pending = static_cast<std::pair<std::string, std::size_t>*>(source->ptr);
      std::size_t n = std::min(length, pending->first.size() - pending->second);
      std::copy_n(pending->first.data() + pending->second, n, buf);
      pending->second += n;
      if (pending->second == pending->first.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    provider.source.ptr = &b;
    ASSERT_EQ(nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), &provider), 0);
  }
  void reset(std::int32_t stream_id, std::uint32_t error_code) {
    ASSERT_EQ(nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code), 0);
  }
  void goaway(std::int32_t last_stream_id, std::string debug) {
    ASSERT_EQ(nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream_id, NGHTTP2_NO_ERROR,
                                    reinterpret_cast<const std::uint8_t*>(debug.data()), debug.size()),
              0);
  }

  void receive(const std::string& bytes) {
    auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_EQ(rv, static_cast<ssize_t>(bytes.size())) << nghttp2_strerror(static_cast<int>(rv));
  }
  std::string output() {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      auto n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return out;
  }

  std::map<std::int32_t, request> requests;

 private:
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::pair<std::string, std::size_t>> bodies_;
  std::map<std::int32_t, std::string> statuses_;
  std::map<std::int32_t, std::vector<std::pair<std::string, std::string>>> headers_;
};

void feed(h2_session& client, const std::string& bytes) {
  client.receive(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// Moves bytes both ways until neither side has anything to write; returns
// the client's events.
std::vector<h2_event> exchange(h2_session& client, memory_server& server) {
  std::vector<h2_event> all;
  for (int round = 0; round < 20; ++round) {
    std::string up = client.take_output();
    if (!up.empty()) server.receive(up);
    std::string down = server.output();
    if (!down.empty()) feed(client, down);
    std::vector<h2_event> events;
    client.take_events(events);
    for (auto& e : events) all.push_back(std::move(e));
    if (up.empty() && down.empty()) break;
  }
  return all;
}

const h2_event* find_event(const std::vector<h2_event>& events, kind type, std::int32_t stream_id = 0) {
  for (const auto& e : events)
    if (e.type == type && e.stream_id == stream_id) return &e;
  return nullptr;
}

std::vector<const h2_event*> outcomes_of(const std::vector<h2_event>& events, std::int32_t stream_id) {
  std::vector<const h2_event*> out;
  for (const auto& e : events)
    if (e.stream_id == stream_id && (e.type == kind::response || e.type == kind::stream_reset ||
                                     e.type == kind::response_too_large))
      out.push_back(&e);
  return out;
}

// Both sides' SETTINGS exchanged: the server allows 100 streams at once.
void open_connection(h2_session& client, memory_server& server) {
  server.settings(100);
  exchange(client, server);
}

http_request post(std::string path, std::string body) {
  http_request r;
  r.path = std::move(path);
  r.headers.push_back({"content-type", "application/json", false});
  r.body = std::move(body);
  return r;
}

TEST(h2_session, server_settings_change_the_stream_limit) {
  h2_session client(64 << 10);
  ASSERT_TRUE(client.ok());
  memory_server server;
  server.settings(5);
  auto events = exchange(client, server);
  const auto* settings = find_event(events, kind::settings);
  ASSERT_NE(settings, nullptr);
  EXPECT_EQ(settings->max_concurrent_streams, 5u);
  EXPECT_EQ(client.remote_max_concurrent_streams(), 5u);

  server.settings(2);  // lowered later on the same connection
  events = exchange(client, server);
  settings = find_event(events, kind::settings);
  ASSERT_NE(settings, nullptr);
  EXPECT_EQ(settings->max_concurrent_streams, 2u);
  EXPECT_EQ(client.remote_max_concurrent_streams(), 2u);
  EXPECT_TRUE(client.want_read());
}

TEST(h2_session, request_goes_out_and_a_200_comes_back_with_headers_and_body) {
  h2_session client(64 << 10);
  memory_server server;
  open_connection(client, server);
  auto request = post("/3/device/abc", R"({"aps":{}})");
  request.headers.push_back({"authorization", "bearer secret", true});
  std::int32_t id = client.submit_request(request, "api.example.test:8443");
  ASSERT_GT(id, 0);
  exchange(client, server);
  ASSERT_TRUE(server.requests[id].complete);
  EXPECT_EQ(server.requests[id].headers[":method"], "POST");
  EXPECT_EQ(server.requests[id].headers[":path"], "/3/device/abc");
  EXPECT_EQ(server.requests[id].headers[":authority"], "api.example.test:8443");
  EXPECT_EQ(server.requests[id].headers["authorization"], "bearer secret");
  EXPECT_EQ(server.requests[id].headers["content-length"], "10");
  EXPECT_EQ(server.requests[id].body, R"({"aps":{}})");
  EXPECT_TRUE(client.headers_sent(id));

  server.respond(id, "200", "ok-body", {{"apns-id", "A-1"}});
  auto events = exchange(client, server);
  auto outcomes = outcomes_of(events, id);
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_EQ(outcomes[0]->type, kind::response);
  EXPECT_EQ(outcomes[0]->response.status, 200);
  EXPECT_EQ(outcomes[0]->response.body, "ok-body");
  EXPECT_EQ(outcomes[0]->response.header("apns-id").value_or(""), "A-1");
  EXPECT_TRUE(outcomes[0]->headers_sent);
  EXPECT_EQ(client.open_streams(), 0u);
}

TEST(h2_session, goaway_refuses_streams_above_the_last_id_and_lets_lower_ones_finish) {
  h2_session client(64 << 10);
  memory_server server;
  open_connection(client, server);
  auto request = post("/send", "x");
  std::int32_t a = client.submit_request(request, "h");
  std::int32_t b = client.submit_request(request, "h");
  std::int32_t c = client.submit_request(request, "h");
  ASSERT_TRUE(a > 0 && b > a && c > b);
  exchange(client, server);
  ASSERT_TRUE(server.requests[c].complete);

  server.respond(a, "200", "first");
  server.goaway(b, "maintenance");
  auto events = exchange(client, server);
  const auto* goaway = find_event(events, kind::goaway);
  ASSERT_NE(goaway, nullptr);
  EXPECT_EQ(goaway->last_stream_id, b);
  EXPECT_EQ(goaway->error_code, h2_error::no_error);
  EXPECT_EQ(goaway->debug, "maintenance");
  auto above = outcomes_of(events, c);
  ASSERT_EQ(above.size(), 1u);
  EXPECT_EQ(above[0]->type, kind::stream_reset);
  EXPECT_EQ(above[0]->error_code, h2_error::refused_stream);  // not processed: may go elsewhere
  ASSERT_EQ(outcomes_of(events, a).size(), 1u);
  EXPECT_EQ(outcomes_of(events, a)[0]->response.body, "first");
  EXPECT_TRUE(outcomes_of(events, b).empty());  // still open, still answerable

  server.respond(b, "200", "second");
  events = exchange(client, server);
  auto below = outcomes_of(events, b);
  ASSERT_EQ(below.size(), 1u);
  ASSERT_EQ(below[0]->type, kind::response);
  EXPECT_EQ(below[0]->response.body, "second");
  // A stream started after the GOAWAY never leaves: refused, headers not sent.
  std::int32_t late = client.submit_request(request, "h");
  events = exchange(client, server);
  if (late > 0) {
    auto refused = outcomes_of(events, late);
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0]->type, kind::stream_reset);
    EXPECT_FALSE(refused[0]->headers_sent);
    EXPECT_FALSE(server.requests.contains(late));
  }
}

TEST(h2_session, rst_stream_reports_its_error_code) {
  h2_session client(64 << 10);
  memory_server server;
  open_connection(client, server);
  auto request = post("/send", "x");
  std::int32_t refused = client.submit_request(request, "h");
  std::int32_t failed = client.submit_request(request, "h");
  exchange(client, server);
  server.reset(refused, NGHTTP2_REFUSED_STREAM);
  server.reset(failed, NGHTTP2_INTERNAL_ERROR);
  auto events = exchange(client, server);
  auto r = outcomes_of(events, refused);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]->type, kind::stream_reset);
  EXPECT_EQ(r[0]->error_code, h2_error::refused_stream);
  EXPECT_TRUE(r[0]->headers_sent);
  auto f = outcomes_of(events, failed);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]->type, kind::stream_reset);
  EXPECT_EQ(f[0]->error_code, h2_error::internal_error);
  EXPECT_EQ(find_event(events, kind::protocol_error), nullptr);
}

TEST(h2_session, a_status_that_is_not_three_digits_is_a_stream_error) {
  for (std::string bad : {"2x0", "", "1000", "20", "+20", " 200"}) {
    SCOPED_TRACE("status '" + bad + "'");
    h2_session client(64 << 10);
    memory_server server;
    open_connection(client, server);
    auto request = post("/send", "x");
    std::int32_t broken = client.submit_request(request, "h");
    std::int32_t fine = client.submit_request(request, "h");
    exchange(client, server);
    server.respond(broken, bad, "body");
    server.respond(fine, "410", "gone");
    auto events = exchange(client, server);
    auto b = outcomes_of(events, broken);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0]->type, kind::stream_reset);
    EXPECT_EQ(b[0]->error_code, h2_error::protocol_error);
    // Only that stream: the connection and the other stream carry on.
    EXPECT_EQ(find_event(events, kind::protocol_error), nullptr);
    auto f = outcomes_of(events, fine);
    ASSERT_EQ(f.size(), 1u);
    ASSERT_EQ(f[0]->type, kind::response);
    EXPECT_EQ(f[0]->response.status, 410);
    EXPECT_EQ(f[0]->response.body, "gone");
  }
}

// nghttp2 validates :status before the header callback; this calls the
// callback directly so that the session's own check is covered as well.
TEST(h2_session, its_own_status_check_resets_the_stream) {
  for (std::string bad : {"2x0", "", "1000"}) {
    SCOPED_TRACE("status '" + bad + "'");
    h2_session client(64 << 10);
    memory_server server;
    open_connection(client, server);
    auto request = post("/send", "x");
    std::int32_t id = client.submit_request(request, "h");
    exchange(client, server);
    EXPECT_EQ(client.on_header(id, NGHTTP2_HEADERS, ":status", bad), 0);
    EXPECT_EQ(client.on_header(id, NGHTTP2_HEADERS, "apns-id", "ignored"), 0);
    auto events = exchange(client, server);  // our RST_STREAM goes out, the stream closes
    auto o = outcomes_of(events, id);
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0]->type, kind::stream_reset);
    EXPECT_EQ(o[0]->error_code, h2_error::protocol_error);
  }
}

TEST(h2_session, a_body_over_the_limit_resets_the_stream) {
  h2_session client(16);
  memory_server server;
  open_connection(client, server);
  auto request = post("/send", "x");
  std::int32_t id = client.submit_request(request, "h");
  exchange(client, server);
  server.respond(id, "200", std::string(100, 'b'));
  auto events = exchange(client, server);
  auto o = outcomes_of(events, id);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0]->type, kind::response_too_large);
}

TEST(h2_session, the_rest_of_a_body_is_read_from_the_rebound_request) {
  h2_session client(64 << 10);
  memory_server server;
  open_connection(client, server);
  auto original = std::make_unique<http_request>(post("/send", std::string(200'000, 'p')));
  std::int32_t id = client.submit_request(*original, "h");
  // One flight only: the server's 64 KiB window stops the body part way.
  server.receive(client.take_output());
  std::size_t first = server.requests[id].body.size();
  ASSERT_GT(first, 0u);
  ASSERT_LT(first, 200'000u);
  EXPECT_FALSE(server.requests[id].complete);
  http_request copy = *original;
  std::fill(copy.body.begin(), copy.body.end(), 'q');  // tells the two apart
  client.rebind_request(id, copy);
  original.reset();
  exchange(client, server);  // WINDOW_UPDATEs let the rest out
  ASSERT_TRUE(server.requests[id].complete);
  EXPECT_EQ(server.requests[id].body, std::string(first, 'p') + std::string(200'000 - first, 'q'));
}

TEST(h2_session, garbage_from_the_server_ends_the_session_with_goaway) {
  h2_session client(64 << 10);
  client.take_output();
  feed(client, std::string("HTTP/1.1 400 Bad Request\r\n\r\n"));
  std::vector<h2_event> events;
  client.take_events(events);
  EXPECT_EQ(find_event(events, kind::settings), nullptr);
  std::string out = client.take_output();
  ASSERT_GE(out.size(), 9u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[3]), NGHTTP2_GOAWAY);
  // Done once our GOAWAY is out: the connection closes.
  EXPECT_FALSE(client.want_read());
  EXPECT_FALSE(client.want_write());
}

TEST(h2_session, ping_is_acknowledged) {
  h2_session client(64 << 10);
  memory_server server;
  open_connection(client, server);
  client.ping();
  auto events = exchange(client, server);
  EXPECT_NE(find_event(events, kind::ping_ack), nullptr);
}

}  // namespace
}  // namespace herald::detail
