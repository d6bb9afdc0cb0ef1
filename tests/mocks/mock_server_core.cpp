#include "tests/mocks/mock_server_core.hpp"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <exception>
#include <limits>

namespace herald::test::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ssl_stream = asio::ssl::stream<tcp::socket>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "mock_push_server: unexpected exception: %s\n", ex.what());
  }
}

// What ALPN may select (set from the handler at start).
struct alpn_choice {
  bool h2 = true;
  bool http1 = false;
};

// ALPN: h2 preferred where the handler allows it; http/1.1 only where the handler allows it.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void* arg) {
  const auto& allowed = *static_cast<const alpn_choice*>(arg);
  auto find = [&](std::string_view wanted) {
    for (unsigned i = 0; i < inlen;) {
      unsigned len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == wanted) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return true;
      }
      i += 1 + len;
    }
    return false;
  };
  if ((allowed.h2 && find("h2")) || (allowed.http1 && find("http/1.1"))) return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// The subject's UID (like Apple's provider certificates), else its CN.
std::string certificate_id(X509* cert) {
  X509_NAME* name = cert ? X509_get_subject_name(cert) : nullptr;
  if (!name) return {};
  for (int nid : {NID_userId, NID_commonName}) {
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0) continue;
    unsigned char* text = nullptr;
    int len = ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (len < 0) continue;
    std::string id(reinterpret_cast<const char*>(text), static_cast<std::size_t>(len));
    OPENSSL_free(text);
    return id;
  }
  return {};
}

// Counts handshakes that end in a fatal alert from us (the SSL_CTX holds the
// counter). OpenSSL reports the alert before asio writes it to the socket, so
// the count is up before the client can see the failure.
int handshake_failures_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_tls_info(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_WRITE_ALERT) != SSL_CB_WRITE_ALERT || (ret >> 8) != SSL3_AL_FATAL) return;
  if (SSL_is_init_finished(ssl)) return;
  auto* failures = static_cast<std::atomic<std::size_t>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), handshake_failures_index()));
  if (failures) failures->fetch_add(1);
}

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::string* incoming_request::find(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string incoming_request::header(std::string_view name) const {
  const std::string* v = find(name);
  return v ? *v : std::string();
}

std::size_t incoming_request::header_count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; }));
}

struct server_core::impl {
  asio::io_context ioc{1};
  asio::ssl::context ssl{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::atomic<bool> finished{false};
  bool stopping = false;  // server thread only
  alpn_choice alpn;
  std::vector<std::weak_ptr<connection>> connections;  // server thread only

  template <class F>
  void for_each_connection(F f) {
    for (auto& w : connections) {
      if (auto c = w.lock()) f(*c);
    }
  }
};

// One accepted TCP connection: TLS, then HTTP/2 (or HTTP/1.1 for FCM).
// Lives on the server thread; kept alive by its coroutines.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(server_core& core, tcp::socket socket, std::uint64_t id)
      : core_(core), stream_(std::move(socket), core.impl_->ssl), wake_(stream_.get_executor()),
        h1_timer_(stream_.get_executor()) {
    state_.id = id;
    core_.connections_open.fetch_add(1);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    if (session_) nghttp2_session_del(session_);
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec || closed_) {
      close(false);
      co_return;
    }
    state_.client_certificate_id = certificate_id(SSL_get0_peer_certificate(stream_.native_handle()));
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &alpn, &alpn_len);
    std::string_view proto(reinterpret_cast<const char*>(alpn), alpn ? alpn_len : 0);
    if (proto == "h2" && core_.handler().allow_h2()) {
      co_await run_h2();
    } else if (core_.handler().allow_http1()) {
      co_await run_h1();
      close(false);
    } else {
      close(false);
    }
  }

  // reset: RST the TCP connection (SO_LINGER 0) instead of a FIN.
  void close(bool reset) {
    if (closed_) return;
    closed_ = true;
    core_.connections_open.fetch_sub(1);
    wake_.cancel();
    h1_timer_.cancel();
    for (auto& [id, s] : streams_) {
      if (s.timer) s.timer->cancel();
    }
    boost::system::error_code ec;
    auto& sock = stream_.next_layer();
    if (reset) sock.set_option(tcp::socket::linger(true, 0), ec);
    sock.close(ec);
  }

  void send_goaway(const std::string& reason, std::int32_t last_stream_id) {
    if (!session_ || closed_ || goaway_last_ >= 0) return;
    if (last_stream_id < 0) last_stream_id = nghttp2_session_get_last_proc_stream_id(session_);
    std::string debug = reason.empty() ? std::string() : "{\"reason\":\"" + reason + "\"}";
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream_id, NGHTTP2_NO_ERROR,
                          reinterpret_cast<const uint8_t*>(debug.data()), debug.size());
    goaway_last_ = last_stream_id;
    kick();
  }

  void apply_max_streams(std::uint32_t n) {
    if (!session_ || closed_) return;
    raised_ = true;
    if (n == current_max_streams_) return;
    current_max_streams_ = n;
    nghttp2_settings_entry iv{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, n};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, &iv, 1);
    kick();
  }

 private:
  struct stream_data {
    incoming_request request;
    bool ignored = false;  // arrived after our GOAWAY's last-stream-id
    bool dispatched = false;
    bool executed = false;  // its answer was carried out (or it closed first)
    decision answer;
    std::string response_body;
    std::size_t response_offset = 0;
    std::unique_ptr<asio::steady_timer> timer;
  };

  // ---------------------------------------------------------------- HTTP/2
  static nghttp2_session_callbacks* callbacks() {
    struct deleter {
      void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
    };
    static const std::unique_ptr<nghttp2_session_callbacks, deleter> cbs = [] {
      nghttp2_session_callbacks* c = nullptr;
      nghttp2_session_callbacks_new(&c);
      nghttp2_session_callbacks_set_on_begin_headers_callback(c, on_begin_headers);
      nghttp2_session_callbacks_set_on_header_callback(c, on_header);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, on_data_chunk);
      nghttp2_session_callbacks_set_on_frame_recv_callback(c, on_frame_recv);
      nghttp2_session_callbacks_set_on_stream_close_callback(c, on_stream_close);
      nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(c, on_invalid_frame);
      return std::unique_ptr<nghttp2_session_callbacks, deleter>(c);
    }();
    return cbs.get();
  }

  static connection& self(void* user_data) { return *static_cast<connection*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self(user_data).begin_stream(frame->hd.stream_id);
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    stream_data* s = self(user_data).find(frame->hd.stream_id);
    if (!s) return 0;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") s->request.method = v;
    if (n == ":path") s->request.path = v;
    s->request.headers.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                           void* user_data) {
    stream_data* s = self(user_data).find(stream_id);
    if (!s) return 0;
    auto& body = s->request.body;
    if (body.size() < incoming_request::body_cap) {
      body.append(reinterpret_cast<const char*>(data), std::min(len, incoming_request::body_cap - body.size()));
    }
    s->request.body_size += len;
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      self(user_data).dispatch(frame->hd.stream_id);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    self(user_data).end_stream(stream_id);
    return 0;
  }

  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int lib_error, void* user_data) {
    (lib_error == NGHTTP2_ERR_REFUSED_STREAM ? self(user_data).core_.refused_streams
                                             : self(user_data).core_.protocol_errors)
        .fetch_add(1);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* data_flags,
                           nghttp2_data_source*, void* user_data) {
    stream_data* s = self(user_data).find(stream_id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    std::size_t n = std::min(length, s->response_body.size() - s->response_offset);
    std::copy_n(s->response_body.data() + s->response_offset, n, buf);
    s->response_offset += n;
    if (s->response_offset == s->response_body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  stream_data* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : &it->second;
  }

  void begin_stream(std::int32_t id) {
    stream_data& s = streams_[id];
    s.request.connection_id = state_.id;
    s.request.stream_id = id;
    ++open_streams_;
    core_.note_concurrency(open_streams_);
    if (closed_ || (goaway_last_ >= 0 && id > goaway_last_)) {
      s.ignored = true;
      return;
    }
    ++live_streams_;
    if (auto reason = core_.goaway_trigger()) send_goaway(*reason, id);
  }

  void end_stream(std::int32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (!it->second.ignored) --live_streams_;
    --open_streams_;
    const bool awaited = it->second.dispatched && !it->second.executed;
    streams_.erase(it);
    if (awaited) answer_settled();  // the client gave up on a delayed answer
    kick();
  }

  // A reset_connection fault RSTs the connection only once every answer
  // decided before it (delayed ones included) went out: otherwise whether
  // another stream's answer, and the fault it consumed, survives would
  // depend on timing, and a test could not tell its faults apart.
  void answer_settled() {
    --unexecuted_;
    if (reset_requested_ && unexecuted_ == 0) {
      reset_pending_ = true;
      kick();
    }
  }

  void dispatch(std::int32_t id) {
    stream_data* s = find(id);
    // Nothing after a reset was decided is processed (nor recorded).
    if (!s || s->ignored || s->dispatched || closed_ || reset_decided_) return;
    s->dispatched = true;
    ++unexecuted_;
    s->request.received_at = std::chrono::system_clock::now();
    s->answer = core_.handler().handle(s->request, state_);
    if (s->answer.what == mock_fault::action::reset_connection) reset_decided_ = true;
    if (s->answer.record) {
      core_.record(std::move(*s->answer.record));
      s->answer.record.reset();
    }
    auto delay = s->answer.delay + std::chrono::milliseconds(core_.response_delay_ms.load());
    if (delay.count() > 0) {
      s->timer = std::make_unique<asio::steady_timer>(stream_.get_executor(), delay);
      s->timer->async_wait([self = shared_from_this(), id](boost::system::error_code ec) {
        if (!ec) self->execute(id);
      });
    } else {
      execute(id);
    }
  }

  void execute(std::int32_t id) {
    stream_data* s = find(id);
    if (!s || closed_ || s->executed) return;
    s->executed = true;
    switch (s->answer.what) {
      case mock_fault::action::reset_connection:
        reset_requested_ = true;
        answer_settled();
        return;
      case mock_fault::action::refuse_stream:
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        answer_settled();
        kick();
        return;
      case mock_fault::action::respond:
        break;
    }
    const std::string status = std::to_string(s->answer.status);
    static const std::string status_name = ":status";
    std::vector<nghttp2_nv> nva;
    nva.reserve(s->answer.headers.size() + 1);
    nva.push_back(make_nv(status_name, status));
    for (const auto& [k, v] : s->answer.headers) nva.push_back(make_nv(k, v));
    s->response_body = std::move(s->answer.body);
    nghttp2_data_provider provider{};
    provider.read_callback = read_body;
    nghttp2_submit_response(session_, id, nva.data(), nva.size(), s->response_body.empty() ? nullptr : &provider);
    if (s->answer.status == 200 && !raised_) apply_max_streams(core_.raised_max_concurrent_streams.load());
    answer_settled();
    kick();
  }

  void kick() { wake_.cancel(); }

  bool finished() const {
    if (fail_after_flush_) return true;
    if (goaway_last_ >= 0 && live_streams_ == 0) return true;
    return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
  }

  asio::awaitable<void> run_h2() {
    nghttp2_session_server_new(&session_, callbacks(), this);
    current_max_streams_ = core_.initial_max_concurrent_streams.load();
    // Like api.push.apple.com (docs/PROVIDERS.md).
    std::array<nghttp2_settings_entry, 5> iv{{{NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096},
                                              {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, current_max_streams_},
                                              {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65535},
                                              {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 16384},
                                              {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 8000}}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv.data(), iv.size());
    asio::co_spawn(stream_.get_executor(), write_loop(shared_from_this()), log_exception);
    co_await read_loop();
  }

  asio::awaitable<void> read_loop() {
    std::vector<uint8_t> buf(64 * 1024);
    while (!closed_) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
      if (ec || closed_) {
        close(false);
        co_return;
      }
      ssize_t rv = nghttp2_session_mem_recv(session_, buf.data(), n);
      if (closed_) co_return;
      if (rv < 0) {
        // nghttp2 queued a GOAWAY; the writer flushes it and closes.
        fail_after_flush_ = true;
        kick();
        co_return;
      }
      kick();
    }
  }

  asio::awaitable<void> write_loop(std::shared_ptr<connection> keep_alive) {
    std::string out;
    while (!closed_) {
      out.clear();
      while (out.size() < 64 * 1024) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          close(false);
          co_return;
        }
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (closed_) co_return;
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), use_tuple);
        if (ec) {
          close(false);
          co_return;
        }
        continue;
      }
      if (reset_pending_) {
        close(true);
        co_return;
      }
      if (finished()) {
        close(false);
        co_return;
      }
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(use_tuple);
    }
    (void)keep_alive;
  }

  // -------------------------------------------------------------- HTTP/1.1
  asio::awaitable<void> run_h1() {
    beast::flat_buffer buffer;
    while (!closed_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(incoming_request::body_cap);
      auto [ec, n] = co_await http::async_read(stream_, buffer, parser, use_tuple);
      if (ec || closed_) co_return;
      auto& msg = parser.get();
      incoming_request request;
      request.connection_id = state_.id;
      request.method = std::string(msg.method_string());
      request.path = std::string(msg.target());
      for (const auto& field : msg) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        request.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      request.body = std::move(msg.body());
      request.body_size = request.body.size();
      request.received_at = std::chrono::system_clock::now();
      decision d = core_.handler().handle(request, state_);
      if (d.record) core_.record(std::move(*d.record));
      auto delay = d.delay + std::chrono::milliseconds(core_.response_delay_ms.load());
      if (delay.count() > 0) {
        h1_timer_.expires_after(delay);
        co_await h1_timer_.async_wait(use_tuple);
        if (closed_) co_return;
      }
      if (d.what != mock_fault::action::respond) {
        close(true);
        co_return;
      }
      http::response<http::string_body> res{static_cast<http::status>(d.status), msg.version()};
      for (const auto& [k, v] : d.headers) res.set(k, v);
      res.body() = std::move(d.body);
      const bool keep = msg.keep_alive();
      res.keep_alive(keep);
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream_, res, use_tuple);
      if (wec || !keep) co_return;
    }
  }

  server_core& core_;
  ssl_stream stream_;
  asio::steady_timer wake_;      // the writer waits on it; kick() cancels it
  asio::steady_timer h1_timer_;  // HTTP/1.1 response delay
  connection_state state_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, stream_data> streams_;
  std::uint32_t open_streams_ = 0;
  std::uint32_t live_streams_ = 0;  // open and not ignored
  std::uint32_t current_max_streams_ = 0;
  std::int32_t goaway_last_ = -1;  // >= 0 once we submitted GOAWAY
  bool raised_ = false;
  bool closed_ = false;
  bool fail_after_flush_ = false;
  // A reset_connection fault: decided (no later stream is processed),
  // requested (its turn came), pending (every earlier answer given: the
  // writer flushes, then RSTs).
  bool reset_decided_ = false;
  bool reset_requested_ = false;
  bool reset_pending_ = false;
  std::size_t unexecuted_ = 0;  // streams dispatched whose answer is not carried out yet
};

// ------------------------------------------------------------------ core

server_core::server_core(core_settings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<impl>()) {
  raised_max_concurrent_streams = settings_.max_concurrent_streams;
  initial_max_concurrent_streams = settings_.initial_max_concurrent_streams;
}

server_core::~server_core() { stop(); }

namespace {
asio::awaitable<void> accept_loop(server_core& core, server_core::impl& im) {
  for (;;) {
    auto [ec, socket] = co_await im.acceptor.async_accept(use_tuple);
    if (ec) {
      if (im.stopping || !im.acceptor.is_open()) co_return;
      continue;
    }
    boost::system::error_code oec;
    socket.set_option(tcp::no_delay(true), oec);
    auto c = std::make_shared<connection>(core, std::move(socket), core.connections_accepted.fetch_add(1) + 1);
    std::erase_if(im.connections, [](const auto& w) { return w.expired(); });
    im.connections.push_back(c);
    asio::co_spawn(im.ioc, c->run(), log_exception);
  }
}
}  // namespace

void server_core::start() {
  auto& ssl = impl_->ssl;
  ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  ssl.use_certificate_chain_file(settings_.cert_file);
  ssl.use_private_key_file(settings_.key_file, asio::ssl::context::pem);
  if (!settings_.client_ca_file.empty()) {
    ssl.load_verify_file(settings_.client_ca_file);
    SSL_CTX_set_client_CA_list(ssl.native_handle(), SSL_load_client_CA_file(settings_.client_ca_file.c_str()));
    ssl.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  SSL_CTX_set_ex_data(ssl.native_handle(), handshake_failures_index(), &handshake_failures);
  SSL_CTX_set_info_callback(ssl.native_handle(), on_tls_info);
  impl_->alpn.h2 = handler_->allow_h2();
  impl_->alpn.http1 = handler_->allow_http1();
  SSL_CTX_set_alpn_select_cb(ssl.native_handle(), select_alpn, &impl_->alpn);

  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), settings_.port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  handler_->on_bound(port_);
  asio::co_spawn(impl_->ioc, accept_loop(*this, *impl_), log_exception);
  impl_->thread = std::thread([this] {
    impl_->ioc.run();
    impl_->finished = true;
  });
}

void server_core::stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->ioc, [this] {
    impl_->stopping = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->for_each_connection([](connection& c) { c.close(false); });
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!impl_->finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!impl_->finished) impl_->ioc.stop();
  impl_->thread.join();
}

std::optional<mock_fault> server_core::take_fault(const std::string& device_token) {
  auto take = [](std::deque<std::pair<mock_fault, std::size_t>>& q) {
    mock_fault f = q.front().first;
    auto& left = q.front().second;
    if (left != std::numeric_limits<std::size_t>::max() && --left == 0) q.pop_front();
    return f;
  };
  std::lock_guard lock(mu);
  if (!device_token.empty()) {
    auto it = token_faults_.find(device_token);
    if (it != token_faults_.end() && !it->second.empty()) {
      mock_fault f = take(it->second);
      if (it->second.empty()) token_faults_.erase(it);
      return f;
    }
  }
  if (!next_faults_.empty()) return take(next_faults_);
  return std::nullopt;
}

void server_core::fail_next(std::size_t n, const mock_fault& f) {
  if (n == 0) return;
  std::lock_guard lock(mu);
  next_faults_.emplace_back(f, n);
}

void server_core::fail_token(const std::string& token, const mock_fault& f, std::size_t times) {
  if (times == 0) return;
  std::lock_guard lock(mu);
  token_faults_[token].emplace_back(f, times);
}

void server_core::clear_faults() {
  std::lock_guard lock(mu);
  next_faults_.clear();
  token_faults_.clear();
  goaway_countdown_ = 0;
}

void server_core::record(recorded_request r) {
  std::lock_guard lock(mu);
  const bool ok = r.status == 200 || r.status == 201;  // 201: Web Push accepted
  if (!r.device_token.empty()) {
    ++by_token[r.device_token];
    if (ok) ++delivered_by_token[r.device_token];
  }
  if (!r.apns_id.empty()) {
    ++by_apns_id[r.apns_id];
    if (ok) ++delivered_by_apns_id[r.apns_id];
  }
  if (ok) ++delivered;
  ++total_requests;
  if (record_limit > 0 && records_.size() >= record_limit) {
    records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(records_.size() / 2 + 1));
  }
  records_.push_back(std::move(r));
  cv_.notify_all();
}

std::vector<recorded_request> server_core::requests() const {
  std::lock_guard lock(mu);
  return records_;
}

std::size_t server_core::request_count() const {
  std::lock_guard lock(mu);
  return total_requests;
}

std::size_t server_core::count(const std::unordered_map<std::string, std::size_t>& m, std::string_view key) const {
  std::lock_guard lock(mu);
  auto it = m.find(std::string(key));
  return it == m.end() ? 0 : it->second;
}

bool server_core::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu);
  return cv_.wait_for(lock, timeout, [&] { return total_requests >= n; });
}

void server_core::clear_requests() {
  std::lock_guard lock(mu);
  records_.clear();
  total_requests = 0;
  by_token.clear();
  delivered_by_token.clear();
  by_apns_id.clear();
  delivered_by_apns_id.clear();
  delivered = 0;
}

void server_core::arm_goaway(std::size_t n, std::string reason) {
  std::lock_guard lock(mu);
  goaway_countdown_ = n;
  goaway_reason_ = std::move(reason);
}

std::optional<std::string> server_core::goaway_trigger() {
  std::lock_guard lock(mu);
  if (goaway_countdown_ == 0) return std::nullopt;
  if (--goaway_countdown_ > 0) return std::nullopt;
  return goaway_reason_;
}

void server_core::goaway_now(std::string reason) {
  asio::post(impl_->ioc, [this, reason = std::move(reason)] {
    impl_->for_each_connection([&](connection& c) { c.send_goaway(reason, -1); });
  });
}

void server_core::set_max_concurrent_streams(std::uint32_t n) {
  raised_max_concurrent_streams = n;
  asio::post(impl_->ioc, [this, n] { impl_->for_each_connection([n](connection& c) { c.apply_max_streams(n); }); });
}

void server_core::note_concurrency(std::uint32_t open) {
  auto seen = max_concurrent_seen.load();
  while (open > seen && !max_concurrent_seen.compare_exchange_weak(seen, open)) {
  }
}

}  // namespace herald::test::detail
