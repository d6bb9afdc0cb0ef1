#include "providers/detail/h2_connection.hpp"

#include <nghttp2/nghttp2.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <sys/socket.h>

#include "runtime/log.hpp"

namespace herald::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  ok = static_cast<bool>(in) && !in.bad();
  return text.str();
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool use_pkcs12(SSL_CTX* ctx, const std::string& path, const std::string& password, std::string& error) {
  bool ok = false;
  std::string der = read_file(path, ok);
  if (!ok) {
    error = path + ": cannot read";
    return false;
  }
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(der.size()));
  if (!p12) {
    error = path + ": not a PKCS#12 file";
    return false;
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  ERR_clear_error();
  bool parsed = PKCS12_parse(p12, password.c_str(), &key, &cert, &chain) == 1;
  // OpenSSL's own reason: "mac verify failure" (wrong password), or
  // "unsupported" for a file encrypted with RC2-40 (old Keychain and
  // OpenSSL 1.x exports), which OpenSSL 3 reads only with its legacy module.
  std::string reason;
  if (unsigned long e = ERR_peek_last_error(); !parsed && e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  PKCS12_free(p12);
  bool used = parsed && cert && key && SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  if (used && chain) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* extra = sk_X509_value(chain, i);
      X509_up_ref(extra);
      if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) X509_free(extra);
    }
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  if (!used) {
    error = path + ": wrong password or no certificate/key inside";
    if (!reason.empty()) error += " (openssl: " + reason + ")";
    if (reason.find("unsupported") != std::string::npos)
      error += "; a .p12 encrypted with RC2-40 needs re-exporting with AES (openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC)";
  }
  return used;
}
}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const tls_settings& settings, std::string& error) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  error_code ec;
  ctx->set_default_verify_paths(ec);
  if (!settings.ca_file.empty()) {
    ctx->load_verify_file(settings.ca_file, ec);
    if (ec) {
      error = "ca_file " + settings.ca_file + ": " + ec.message();
      return nullptr;
    }
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  static constexpr unsigned char alpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(native, alpn, sizeof alpn);
  if (!settings.certificate_file.empty()) {
    const auto& f = settings.certificate_file;
    bool p12 = f.ends_with(".p12") || f.ends_with(".pfx");
    if (p12) {
      if (!use_pkcs12(native, f, settings.certificate_password, error)) {
        error = "certificate_file " + error;
        return nullptr;
      }
    } else {
      // An encrypted key is opened with the password (OpenSSL's default would prompt on the terminal).
      ctx->set_password_callback(
          [password = settings.certificate_password](std::size_t, asio::ssl::context::password_purpose) {
            return password;
          });
      ctx->use_certificate_chain_file(f, ec);
      if (!ec) ctx->use_private_key_file(f, asio::ssl::context::pem, ec);
      if (ec) {
        error = "certificate_file " + f + ": " + ec.message();
        return nullptr;
      }
    }
  }
  return ctx;
}

namespace {

using steady_clock = std::chrono::steady_clock;
using request_result = boost::system::result<http_response>;
// The completion handler of `co_await async_initiate<use_awaitable_t<>, void()>`:
// invoking it resumes the suspended coroutine.
using waiter_type = asio::async_result<asio::use_awaitable_t<>, void()>::handler_type;

struct request_op {
  explicit request_op(const http_request& r) : request(&r) {}
  const http_request* request;         // borrowed from the waiting caller, or `owned`
  std::optional<http_request> owned;   // a copy once the caller no longer waits (timed out in flight)
  steady_clock::time_point deadline;  // response timeout (queue time included)
  request_op* earlier = nullptr;      // links in the connection's deadline list
  request_op* later = nullptr;
  bool listed = false;
  std::optional<waiter_type> waiter;  // the suspended async_request, once it waits
  std::optional<request_result> result;
  std::int32_t stream_id = -1;
  bool headers_sent = false;
  bool abandoned = false;  // timed out: the stream is being reset, nobody waits
  bool too_large = false;
  int refused = 0;
  std::size_t body_offset = 0;
  http_response response;

  void reset_stream_state() {
    stream_id = -1;
    headers_sent = false;
    too_large = false;
    body_offset = 0;
    response = {};
  }
};
using op_ptr = std::shared_ptr<request_op>;

// Why a TLS operation failed: certificate verification, the OpenSSL error
// queue of this thread, or the socket error.
std::string tls_error_text(SSL* ssl, int ssl_error) {
  if (ssl) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) return std::string("certificate: ") + X509_verify_cert_error_string(verify);
  }
  if (unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    return text;
  }
  if (ssl_error == SSL_ERROR_SYSCALL && errno != 0) return std::strerror(errno);
  return ssl_error == SSL_ERROR_SYSCALL ? "unexpected eof" : "tls error " + std::to_string(ssl_error);
}

// A BIO on a non-blocking socket descriptor that never raises SIGPIPE
// (OpenSSL's socket BIO writes with write(2); a peer that closed would kill
// the process unless SIGPIPE is ignored, which a library cannot require).
int socket_bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }
int socket_bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(socket_bio_fd(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
  return -1;
}
int socket_bio_read(BIO* b, char* buf, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(socket_bio_fd(b), buf, static_cast<std::size_t>(len), 0);
  if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(b);
  return -1;
}
long socket_bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
int socket_bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}
BIO* new_socket_bio(int fd) {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "herald socket");
    if (m) {
      BIO_meth_set_write(m, socket_bio_write);
      BIO_meth_set_read(m, socket_bio_read);
      BIO_meth_set_ctrl(m, socket_bio_ctrl);
      BIO_meth_set_create(m, socket_bio_create);
    }
    return m;
  }();
  BIO* b = method ? BIO_new(method) : nullptr;
  if (b) BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  return b;
}

// Transport: a TCP socket with OpenSSL on its descriptor (non-blocking), the
// socket's readiness awaited through Asio. Writes and reads go straight to the
// kernel, record after record, without a detour through the scheduler between
// TLS records; nghttp2 runs in memory on top (mem_recv / mem_send).
class connection_impl final : public h2_connection, public std::enable_shared_from_this<connection_impl> {
 public:
  connection_impl(asio::any_io_executor ex, https_url target, std::shared_ptr<asio::ssl::context> tls,
                  h2_options options, std::uint64_t id, h2_hooks hooks, close_handler on_close, logger* log)
      : ex_(ex),
        target_(std::move(target)),
        authority_(target_.authority()),
        tls_(std::move(tls)),
        socket_(ex),
        options_(options),
        id_(id),
        hooks_(std::move(hooks)),
        on_close_(std::move(on_close)),
        log_(log),
        timer_(ex),
        write_signal_(ex),
        idle_timer_(ex),
        deadline_timer_(ex) {}

  ~connection_impl() override {
    if (session_) nghttp2_session_del(session_);
    if (ssl_) SSL_free(ssl_);
  }

  void start(std::chrono::milliseconds delay) override {
    asio::co_spawn(ex_, deadline_loop(), asio::detached);
    asio::co_spawn(ex_, run(delay), [self = shared_from_this()](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          if (self->log_) self->log_->err("h2_unexpected").kv("host", self->target_.host).kv("error", ex.what());
        }
        self->close_with(provider_error::connection_lost, "unexpected exception");
      }
    });
  }

  asio::awaitable<request_result> async_request(const http_request& request,
                                                std::chrono::milliseconds timeout) override {
    auto self = shared_from_this();
    if (state_ == state::closed || state_ == state::draining) co_return provider_error::not_sent;
    if (queue_.size() >= options_.queue_limit) co_return provider_error::queue_full;
    auto op = std::make_shared<request_op>(request);
    op->deadline = steady_clock::now() + timeout;
    track_deadline(*op);
    queue_.push_back(op);
    pump();
    if (!op->result)
      co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
          [&op](waiter_type handler) { op->waiter.emplace(std::move(handler)); }, asio::use_awaitable);
    co_return std::move(*op->result);
  }

  void retire() override {
    if (state_ == state::closed || state_ == state::draining) return;
    state_ = state::draining;
    fail_queue(provider_error::not_sent);
    maybe_finish_draining();
  }

  void close() override { close_with(provider_error::connection_lost, "closed"); }

  state current_state() const override { return state_; }
  bool accepting() const override {
    return (state_ == state::connecting || state_ == state::open) && queue_.size() < options_.queue_limit;
  }
  std::size_t load() const override { return streams_.size() + queue_.size(); }
  std::uint64_t id() const override { return id_; }
  std::uint32_t max_concurrent_streams() const override {
    return session_ ? nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) : 0;
  }

  // nghttp2 callbacks (free functions below forward here).
  void on_frame_send(const nghttp2_frame* frame) {
    if (frame->hd.type != NGHTTP2_HEADERS) return;
    if (auto* op = stream_op(frame->hd.stream_id)) op->headers_sent = true;
  }
  void on_frame_recv(const nghttp2_frame* frame) {
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
          settings_received_ = true;
          need_pump_ = true;
        }
        break;
      case NGHTTP2_GOAWAY: {
        goaway_ = true;
        std::string reason(reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len);
        if (reason.size() > 200) reason.resize(200);
        if (log_)
          log_->notice("h2_goaway")
              .kv("host", target_.host)
              .kv("connection", id_)
              .kv("last_stream_id", frame->goaway.last_stream_id)
              .kv("error_code", frame->goaway.error_code)
              .kv("debug", reason);
        if (state_ == state::open || state_ == state::connecting) state_ = state::draining;
        fail_queue(provider_error::not_sent);
        break;
      }
      case NGHTTP2_PING:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK) ping_outstanding_ = false;
        break;
      default:
        break;
    }
  }
  int on_header(const nghttp2_frame* frame, std::string_view name, std::string_view value) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* op = stream_op(frame->hd.stream_id);
    if (!op) return 0;
    auto& resp = op->response;
    if (name == ":status") {
      int status = 0;
      for (char c : value) status = status * 10 + (c - '0');
      if (status >= 100 && status < 200) return 0;  // informational; the final answer follows
      resp.status = status;
    } else if (resp.headers.size() < 64) {  // bounded: answers carry a handful of headers
      if (resp.headers.empty()) resp.headers.reserve(8);
      resp.headers.push_back({std::string(name), std::string(value), false});
    }
    return 0;
  }
  void on_data(std::int32_t stream_id, std::string_view data) {
    auto* op = stream_op(stream_id);
    if (!op || op->too_large) return;
    if (op->response.body.size() + data.size() > options_.max_response_body) {
      op->too_large = true;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
      return;
    }
    op->response.body.append(data);
  }
  void on_stream_close(std::int32_t stream_id, std::uint32_t error) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    op_ptr op = std::move(it->second);
    streams_.erase(it);
    if (hooks_.on_streams) hooks_.on_streams(-1);
    need_pump_ = true;
    if (op->abandoned || op->result) return;
    if (op->too_large) {
      finish_later(std::move(op), provider_error::response_too_large);
    } else if (error == NGHTTP2_NO_ERROR && op->response.status != 0) {
      op->response.connection_id = id_;
      auto response = std::move(op->response);
      finish_later(std::move(op), std::move(response));
    } else if (error == NGHTTP2_REFUSED_STREAM) {
      // Never processed by the server: resubmit here, or elsewhere after a GOAWAY.
      if (!goaway_ && state_ == state::open && ++op->refused <= options_.max_refused_resubmits) {
        op->reset_stream_state();
        queue_.push_front(std::move(op));
      } else {
        finish_later(std::move(op), provider_error::not_sent);
      }
    } else {
      auto e = op->headers_sent ? provider_error::stream_reset : provider_error::not_sent;
      finish_later(std::move(op), e);
    }
  }
  ssize_t read_body(std::int32_t stream_id, std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
    auto* op = stream_op(stream_id);
    if (!op) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::string& body = op->request->body;
    std::size_t n = std::min(length, body.size() - op->body_offset);
    std::copy_n(body.data() + op->body_offset, n, buf);
    op->body_offset += n;
    if (op->body_offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

 private:
  request_op* stream_op(std::int32_t stream_id) {
    return static_cast<request_op*>(nghttp2_session_get_stream_user_data(session_, stream_id));
  }

  asio::awaitable<void> run(std::chrono::milliseconds delay) {
    auto self = shared_from_this();
    if (delay.count() > 0) {
      timer_.expires_after(delay);
      co_await timer_.async_wait(use_tuple);
      if (state_ == state::closed) co_return;
    }
    // Connect, TLS and ALPN under one deadline; the timer closes the socket.
    timer_.expires_after(options_.connect_timeout);
    timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto s = weak.lock(); s && s->state_ == state::connecting) {
        s->timed_out_ = true;
        error_code ignored;
        s->socket_.close(ignored);
      }
    });
    tcp::resolver resolver(ex_);
    auto [rec, endpoints] = co_await resolver.async_resolve(target_.host, std::to_string(target_.port), use_tuple);
    if (rec || state_ != state::connecting) co_return connect_failed("resolve", rec.message());
    auto [cec, ep] = co_await asio::async_connect(socket_, endpoints, use_tuple);
    if (cec || state_ != state::connecting) co_return connect_failed("connect", cec.message());
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    socket_.non_blocking(true, ignored);
    if (std::string error; !init_tls(error)) co_return connect_failed("tls", error);
    for (;;) {
      ERR_clear_error();
      int rv = SSL_do_handshake(ssl_);
      if (rv == 1) break;
      int err = SSL_get_error(ssl_, rv);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        co_return connect_failed("tls", tls_error_text(ssl_, err));
      auto [wec] = co_await socket_.async_wait(
          err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write, use_tuple);
      if (wec || state_ != state::connecting) co_return connect_failed("tls", wec.message());
    }
    const unsigned char* proto = nullptr;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(ssl_, &proto, &proto_len);
    if (std::string_view(reinterpret_cast<const char*>(proto), proto_len) != "h2")
      co_return connect_failed("alpn", "server did not select h2");
    timer_.cancel();
    if (!init_session()) co_return connect_failed("nghttp2", "");
    state_ = state::open;
    was_open_ = true;
    last_recv_ = steady_clock::now();
    if (hooks_.on_open) hooks_.on_open();
    if (log_) log_->info("h2_connected").kv("host", target_.host).kv("port", target_.port).kv("connection", id_);
    asio::co_spawn(ex_, write_loop(), asio::detached);
    asio::co_spawn(ex_, idle_loop(), asio::detached);
    co_await read_loop();
  }

  // The peer is verified against the context's trust store and must match
  // the host name (or IP literal) of the endpoint.
  bool init_tls(std::string& error) {
    ssl_ = SSL_new(tls_->native_handle());
    if (!ssl_) {
      error = tls_error_text(nullptr, SSL_ERROR_SSL);
      return false;
    }
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_read_ahead(ssl_, 1);
    BIO* bio = new_socket_bio(socket_.native_handle());
    bool ok = bio != nullptr;
    if (ok) SSL_set_bio(ssl_, bio, bio);  // the SSL owns it
    if (is_ip_literal(target_.host)) {
      ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), target_.host.c_str()) == 1;
    } else {
      ok = ok && SSL_set_tlsext_host_name(ssl_, target_.host.c_str()) == 1 && SSL_set1_host(ssl_, target_.host.c_str()) == 1;
    }
    if (!ok) {
      error = tls_error_text(nullptr, SSL_ERROR_SSL);
      return false;
    }
    SSL_set_connect_state(ssl_);
    return true;
  }

  void connect_failed(std::string_view step, std::string error) {
    if (state_ == state::closed) return;
    if (log_)
      log_->warning("h2_connect_failed")
          .kv("host", target_.host)
          .kv("port", target_.port)
          .kv("step", timed_out_ ? std::string_view("timeout") : step)
          .kv("error", error);
    close_with(provider_error::connect_failed, "connect failed");
  }

  bool init_session();

  // Reads what TLS has now, record after record (at most one buffer), and
  // feeds it to nghttp2. Returns the SSL error that stopped the reading
  // (SSL_ERROR_NONE: the buffer is full, more may be there); closes the
  // connection itself only on a protocol error.
  int receive_available() {
    std::size_t got = 0;
    int err = SSL_ERROR_NONE;
    while (got < read_capacity) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_read(ssl_, read_buf_.get() + got, static_cast<int>(read_capacity - got));
      if (n > 0) {
        got += static_cast<std::size_t>(n);
        continue;
      }
      err = SSL_get_error(ssl_, n);
      break;
    }
    if (got > 0) {
      last_recv_ = steady_clock::now();
      auto rv = nghttp2_session_mem_recv(session_, read_buf_.get(), got);
      if (rv < 0) {
        if (log_)
          log_->warning("h2_protocol_error").kv("host", target_.host).kv("error", nghttp2_strerror(static_cast<int>(rv)));
        close_with(provider_error::connection_lost, "protocol");
        return err;
      }
      after_session_activity();
    }
    return err;
  }

  asio::awaitable<void> read_loop() {
    read_buf_ = std::make_unique<std::uint8_t[]>(read_capacity);
    while (state_ != state::closed) {
      int err = receive_available();
      if (state_ == state::closed) co_return;
      if (err == SSL_ERROR_NONE) continue;  // buffer full: feed more
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        std::string failure = err == SSL_ERROR_ZERO_RETURN ? std::string() : tls_error_text(nullptr, err);
        bool quiet = failure.empty() || failure.find("unexpected eof") != std::string::npos;
        if (log_ && !quiet)
          log_->notice("h2_read_failed").kv("host", target_.host).kv("connection", id_).kv("error", failure);
        co_return close_with(provider_error::connection_lost, "read");
      }
      auto [ec] = co_await socket_.async_wait(
          err == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read, use_tuple);
      if (state_ == state::closed) co_return;
      if (ec) {
        if (log_) log_->notice("h2_read_failed").kv("host", target_.host).kv("connection", id_).kv("error", ec.message());
        co_return close_with(provider_error::connection_lost, "read");
      }
    }
  }

  // Writes `data` through TLS; false when the connection is gone.
  asio::awaitable<bool> write_all(const std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_write(ssl_, data + done, static_cast<int>(std::min<std::size_t>(size - done, INT_MAX)));
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      int err = SSL_get_error(ssl_, n);
      if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) co_return false;  // closed by the peer, mostly
      auto [ec] = co_await socket_.async_wait(
          err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write, use_tuple);
      if (ec || state_ == state::closed) co_return false;
    }
    co_return true;
  }

  // Pulls frames from nghttp2 and writes them as soon as a full TLS record
  // (16 KiB) is ready, so the server starts on the first requests while the
  // next ones are being serialized; what is left once nghttp2 has nothing
  // more goes out at once.
  asio::awaitable<void> write_loop() {
    auto self = shared_from_this();
    constexpr std::size_t record = 16 << 10;  // TLS maximum plaintext per record
    std::vector<std::uint8_t> out;           // below 2 records + one frame
    out.reserve(2 * record + (16 << 10));
    while (state_ != state::closed) {
      bool drained = false;
      while (out.size() < record) {
        const std::uint8_t* data = nullptr;
        auto n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          co_return close_with(provider_error::connection_lost, "mem_send");
        }
        if (n == 0) {
          drained = true;
          break;
        }
        out.insert(out.end(), data, data + n);
      }
      wake_finished();  // streams reset while sending
      if (out.empty() && need_pump_) {  // a stream closed inside mem_send: refill from the queue
        pump();
        if (!queue_.empty() || nghttp2_session_want_write(session_)) continue;
      }
      if (!out.empty()) {
        std::size_t len = drained ? out.size() : out.size() / record * record;
        bool ok = co_await write_all(out.data(), len);
        if (state_ == state::closed) co_return;
        if (!ok) {
          // A peer that answered and closed makes writes fail before the read
          // loop has seen its last answers: take those first, so that only
          // the streams really left unanswered count as lost.
          if (read_buf_) receive_available();
          co_return close_with(provider_error::connection_lost, "write");
        }
        out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len));
        after_session_activity();
        continue;
      }
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))
        co_return close_with(provider_error::connection_lost, "session done");
      write_signal_.expires_at(asio::steady_timer::time_point::max());
      co_await write_signal_.async_wait(use_tuple);
    }
  }

  asio::awaitable<void> idle_loop() {
    auto self = shared_from_this();
    while (state_ != state::closed) {
      idle_timer_.expires_after(ping_outstanding_ ? options_.ping_timeout : options_.idle_ping_after);
      co_await idle_timer_.async_wait(use_tuple);
      if (state_ == state::closed) co_return;
      auto now = steady_clock::now();
      if (ping_outstanding_) {
        if (now - ping_sent_ >= options_.ping_timeout) {
          if (log_) log_->notice("h2_ping_timeout").kv("host", target_.host).kv("connection", id_);
          co_return close_with(provider_error::connection_lost, "ping timeout");
        }
      } else if (now - last_recv_ >= options_.idle_ping_after) {
        nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
        ping_outstanding_ = true;
        ping_sent_ = now;
        signal_write();
      }
    }
  }

  // Response timeouts: one timer per connection armed for the earliest
  // deadline of the requests queued or in flight (kept in deadline order).
  asio::awaitable<void> deadline_loop() {
    auto self = shared_from_this();
    while (state_ != state::closed) {
      armed_for_ = first_deadline_ ? first_deadline_->deadline : steady_clock::time_point::max();
      deadline_timer_.expires_at(armed_for_);
      co_await deadline_timer_.async_wait(use_tuple);
      if (state_ == state::closed) co_return;
      expire_due(steady_clock::now());
    }
  }

  void track_deadline(request_op& op) {
    // Usually the latest deadline (one timeout per provider): O(1) from the back.
    request_op* before = last_deadline_;
    while (before && before->deadline > op.deadline) before = before->earlier;
    op.earlier = before;
    op.later = before ? before->later : first_deadline_;
    (op.later ? op.later->earlier : last_deadline_) = &op;
    (before ? before->later : first_deadline_) = &op;
    op.listed = true;
    if (op.deadline < armed_for_) {
      armed_for_ = op.deadline;
      deadline_timer_.expires_at(op.deadline);  // wakes deadline_loop to re-arm
    }
  }

  void untrack_deadline(request_op& op) {
    if (!op.listed) return;
    (op.earlier ? op.earlier->later : first_deadline_) = op.later;
    (op.later ? op.later->earlier : last_deadline_) = op.earlier;
    op.earlier = op.later = nullptr;
    op.listed = false;
  }

  void expire_due(steady_clock::time_point now) {
    bool reset_any = false;
    while (first_deadline_ && first_deadline_->deadline <= now) {
      request_op& op = *first_deadline_;
      if (op.stream_id > 0) {
        // In flight: reset the stream; the op stays in streams_ until it closes
        // and keeps its own copy of the request (the caller stops waiting).
        op.abandoned = true;
        op.owned.emplace(*op.request);
        op.request = &*op.owned;
        if (session_ && state_ != state::closed) {
          nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, op.stream_id, NGHTTP2_CANCEL);
          reset_any = true;
        }
        complete(op, provider_error::response_timeout);
      } else {
        op_ptr keep;
        auto it = std::find_if(queue_.begin(), queue_.end(), [&](const op_ptr& q) { return q.get() == &op; });
        if (it != queue_.end()) {
          keep = std::move(*it);
          queue_.erase(it);
        }
        complete(op, provider_error::response_timeout);
      }
    }
    if (reset_any) signal_write();
  }

  // Sets the result and resumes the waiter (through the executor, never inline).
  void complete(request_op& op, request_result r) {
    if (op.result) return;
    op.result = std::move(r);
    untrack_deadline(op);
    resume(op);
  }
  void resume(request_op& op) {
    if (!op.waiter) return;
    asio::post(ex_, std::move(*op.waiter));
    op.waiter.reset();
  }

  // Results are stored at once but their waiters are resumed only after the
  // next requests were submitted and the write loop was signalled, so the
  // server already works on those while the waiters run.
  void finish_later(op_ptr op, request_result r) {
    op->result = std::move(r);
    untrack_deadline(*op);
    finished_.push_back(std::move(op));
  }
  void wake_finished() {
    for (auto& op : finished_) resume(*op);
    finished_.clear();
  }

  void signal_write() { write_signal_.cancel(); }

  // Submits queued requests while the server's stream limit allows.
  void pump() {
    need_pump_ = false;
    if (state_ != state::open || goaway_ || !settings_received_) return;
    bool submitted = false;
    auto limit = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    while (!queue_.empty() && streams_.size() < limit) {
      op_ptr op = std::move(queue_.front());
      queue_.pop_front();
      if (!submit(op)) break;
      submitted = true;
    }
    if (submitted) signal_write();
  }

  bool submit(op_ptr& op) {
    const auto& req = *op->request;
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
    add(":authority", authority_, false);
    add(":path", req.path, req.path_sensitive);
    for (const auto& h : req.headers) add(h.name, h.value, h.sensitive);
    if (!req.body.empty()) add("content-length", std::string_view(length, length_end - length), false);
    nghttp2_data_provider provider{};
    provider.source.ptr = op.get();
    provider.read_callback = &read_body_cb;
    std::int32_t id = nghttp2_submit_request(session_, nullptr, nva, count, req.body.empty() ? nullptr : &provider,
                                             op.get());
    if (id < 0) {
      // Stream ids exhausted (or the session is going away): resend elsewhere.
      queue_.push_front(std::move(op));
      if (log_) log_->info("h2_submit_failed").kv("host", target_.host).kv("error", nghttp2_strerror(id));
      retire();
      return false;
    }
    op->stream_id = id;
    streams_.emplace(id, std::move(op));
    if (hooks_.on_streams) hooks_.on_streams(+1);
    return true;
  }

  void after_session_activity() {
    if (need_pump_) pump();
    if (nghttp2_session_want_write(session_)) signal_write();
    wake_finished();
    maybe_finish_draining();
    if (state_ != state::closed && !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))
      close_with(provider_error::connection_lost, "session done");
  }

  void maybe_finish_draining() {
    if (state_ != state::draining || !streams_.empty()) return;
    if (!session_) return close_with(provider_error::not_sent, "retired");
    if (!terminated_) {
      terminated_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);  // our GOAWAY; closes after it is written
      signal_write();
    }
  }

  void fail_queue(provider_error e) {
    auto queued = std::move(queue_);
    queue_.clear();
    for (auto& op : queued) complete(*op, e);
  }

  void close_with(provider_error queued_error, std::string_view why) {
    if (state_ == state::closed) return;
    bool was_connected = was_open_;
    state_ = state::closed;
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [id, op] : streams) {
      if (hooks_.on_streams) hooks_.on_streams(-1);
      complete(*op, op->headers_sent ? provider_error::connection_lost : provider_error::not_sent);
    }
    fail_queue(queued_error == provider_error::connect_failed ? provider_error::connect_failed : provider_error::not_sent);
    wake_finished();
    timer_.cancel();
    idle_timer_.cancel();
    write_signal_.cancel();
    deadline_timer_.cancel();
    error_code ignored;
    socket_.close(ignored);
    if (log_ && was_connected)
      log_->info("h2_closed").kv("host", target_.host).kv("connection", id_).kv("reason", why).kv("in_flight", streams.size());
    if (was_connected && hooks_.on_close) hooks_.on_close();
    if (on_close_) {
      auto handler = std::move(on_close_);
      on_close_ = nullptr;
      handler(id_, was_connected);
    }
  }

  static ssize_t read_body_cb(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source*, void* user_data) {
    return static_cast<connection_impl*>(user_data)->read_body(stream_id, buf, length, flags);
  }

  asio::any_io_executor ex_;
  https_url target_;
  std::string authority_;  // :authority of every request
  std::shared_ptr<asio::ssl::context> tls_;
  tcp::socket socket_;
  SSL* ssl_ = nullptr;  // on socket_'s descriptor; freed with the connection
  h2_options options_;
  std::uint64_t id_;
  h2_hooks hooks_;
  close_handler on_close_;
  logger* log_;
  asio::steady_timer timer_;         // reconnect delay, then connect deadline
  asio::steady_timer write_signal_;  // cancelled to wake the write loop
  asio::steady_timer idle_timer_;
  asio::steady_timer deadline_timer_;  // earliest response deadline
  static constexpr std::size_t read_capacity = 64 << 10;  // bound on one nghttp2 feed
  std::unique_ptr<std::uint8_t[]> read_buf_;               // from the handshake on
  steady_clock::time_point armed_for_ = steady_clock::time_point::max();
  request_op* first_deadline_ = nullptr;  // requests not yet answered, by deadline
  request_op* last_deadline_ = nullptr;
  nghttp2_session* session_ = nullptr;
  state state_ = state::connecting;
  bool was_open_ = false;
  bool timed_out_ = false;
  bool settings_received_ = false;
  bool goaway_ = false;
  bool terminated_ = false;
  bool need_pump_ = false;
  bool ping_outstanding_ = false;
  steady_clock::time_point last_recv_{};
  steady_clock::time_point ping_sent_{};
  std::deque<op_ptr> queue_;  // bounded by options_.queue_limit (checked on entry)
  std::unordered_map<std::int32_t, op_ptr> streams_;  // owns the requests in flight
  std::vector<op_ptr> finished_;  // answered, waiters not yet resumed (at most the streams in flight)
};
// Free-function callbacks: user_data is the connection.
int on_frame_send_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  static_cast<connection_impl*>(user_data)->on_frame_send(frame);
  return 0;
}
int on_frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  static_cast<connection_impl*>(user_data)->on_frame_recv(frame);
  return 0;
}
int on_header_cb(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                 const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user_data) {
  return static_cast<connection_impl*>(user_data)->on_header(
      frame, std::string_view(reinterpret_cast<const char*>(name), namelen),
      std::string_view(reinterpret_cast<const char*>(value), valuelen));
}
int on_data_chunk_cb(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data, std::size_t len,
                     void* user_data) {
  static_cast<connection_impl*>(user_data)->on_data(stream_id,
                                                    std::string_view(reinterpret_cast<const char*>(data), len));
  return 0;
}
int on_stream_close_cb(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user_data) {
  static_cast<connection_impl*>(user_data)->on_stream_close(stream_id, error_code);
  return 0;
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

bool connection_impl::init_session() {
  static const callbacks_holder holder;  // registered once, shared by every session (read-only)
  if (nghttp2_session_client_new(&session_, holder.callbacks, this) != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},  // server-initiated streams: none expected
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
  };
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0;
}

}  // namespace

std::shared_ptr<h2_connection> h2_connection::create(asio::any_io_executor ex, https_url target,
                                                     std::shared_ptr<asio::ssl::context> tls, h2_options options,
                                                     std::uint64_t id, h2_hooks hooks, close_handler on_close,
                                                     logger* log) {
  return std::make_shared<connection_impl>(ex, std::move(target), std::move(tls), options, id, std::move(hooks),
                                           std::move(on_close), log);
}

// ---- pool ----

h2_pool::h2_pool(asio::any_io_executor ex, https_url target, std::shared_ptr<asio::ssl::context> tls,
                 h2_pool_options options, h2_hooks hooks, random_source random, logger* log)
    : ex_(ex),
      target_(std::move(target)),
      tls_(std::move(tls)),
      options_(options),
      hooks_(std::move(hooks)),
      random_(random ? std::move(random) : make_random_source()),
      log_(log),
      slots_(std::make_shared<std::vector<slot>>(static_cast<std::size_t>(std::max(1, options.connections)))) {}

h2_pool::~h2_pool() { shutdown(); }

std::shared_ptr<h2_connection> h2_pool::choose() {
  if (shut_down_) return nullptr;
  auto& slots = *slots_;
  // Open every slot on demand so load spreads over the configured connections.
  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto& s = slots[i];
    if (s.conn && s.conn->current_state() != h2_connection::state::closed &&
        s.conn->current_state() != h2_connection::state::draining)
      continue;
    std::chrono::milliseconds delay{0};
    if (s.failures > 0) delay = options_.reconnect_backoff.delay(s.failures - 1, random_);
    std::weak_ptr<std::vector<slot>> weak_slots = slots_;
    std::uint64_t id = next_id_++;
    s.conn = h2_connection::create(ex_, target_, tls_, options_.connection, id, hooks_,
                                   [weak_slots, i](std::uint64_t closed_id, bool was_open) {
                                     auto slots = weak_slots.lock();
                                     if (!slots || i >= slots->size()) return;
                                     auto& sl = (*slots)[i];
                                     if (!sl.conn || sl.conn->id() != closed_id) return;
                                     sl.failures = was_open ? 0 : sl.failures + 1;
                                   },
                                   log_);
    s.conn->start(delay);
  }
  // Least loaded open connection; a connecting one (maybe in reconnect
  // backoff) only when none is open.
  std::shared_ptr<h2_connection> best;
  auto score = [](const h2_connection& c) {
    bool open = c.current_state() == h2_connection::state::open;
    return std::pair<int, std::size_t>(open ? 0 : 1, c.load());
  };
  for (std::size_t k = 0; k < slots.size(); ++k) {
    auto& c = slots[(rr_ + k) % slots.size()].conn;
    if (!c || !c->accepting()) continue;
    if (!best || score(*c) < score(*best)) best = c;
  }
  rr_ = (rr_ + 1) % slots.size();
  return best;
}

asio::awaitable<boost::system::result<http_response>> h2_pool::async_request(const http_request& request,
                                                                            std::chrono::milliseconds timeout) {
  auto conn = choose();
  if (!conn) co_return shut_down_ ? provider_error::shut_down : provider_error::queue_full;
  co_return co_await conn->async_request(request, timeout);
}

void h2_pool::retire(std::uint64_t connection_id) {
  for (auto& s : *slots_)
    if (s.conn && s.conn->id() == connection_id) s.conn->retire();
}

void h2_pool::shutdown() {
  shut_down_ = true;
  for (auto& s : *slots_)
    if (s.conn) s.conn->close();
}

std::size_t h2_pool::open_connections() const {
  std::size_t n = 0;
  for (const auto& s : *slots_)
    if (s.conn && s.conn->current_state() == h2_connection::state::open) ++n;
  return n;
}

}  // namespace herald::detail
