#include "providers/detail/h1_pool.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <cctype>

#include "providers/alpn.hpp"
#include "runtime/log.hpp"

namespace herald::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct h1_pool::connection {
  connection(asio::any_io_executor ex, asio::ssl::context& ctx, std::uint64_t id) : stream(ex, ctx), id(id) {}
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::uint64_t id;
  std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
  bool connected = false;
};

namespace {
bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}
}  // namespace

h1_pool::h1_pool(asio::any_io_executor ex, https_url target, std::shared_ptr<asio::ssl::context> tls,
                 h1_pool_options options, h2_hooks hooks, logger* log)
    : ex_(ex),
      target_(std::move(target)),
      tls_(std::move(tls)),
      options_(options),
      hooks_(std::move(hooks)),
      log_(log),
      wake_(std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max())) {
  options_.connections = std::max(1, options_.connections);
}

h1_pool::~h1_pool() { shutdown(); }

void h1_pool::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& c : idle_) {
    error_code ec;
    beast::get_lowest_layer(c->stream).socket().close(ec);
    if (c->connected && hooks_.on_close) hooks_.on_close();
  }
  open_ -= std::min(open_, idle_.size());
  idle_.clear();
  static_cast<asio::steady_timer*>(wake_.get())->cancel();
}

void h1_pool::retire(std::uint64_t connection_id) {
  auto it = std::find_if(idle_.begin(), idle_.end(), [&](const auto& c) { return c->id == connection_id; });
  if (it == idle_.end()) return;
  close_open(**it);
  idle_.erase(it);
  if (busy_ < static_cast<std::size_t>(options_.connections)) pass_on();
}

void h1_pool::wake_one() { static_cast<asio::steady_timer*>(wake_.get())->cancel_one(); }

// Several releases may happen before the first woken waiter runs: whoever
// takes a connection wakes the next waiter while one is still free.
void h1_pool::pass_on() {
  if (waiting_ > 0 && (!idle_.empty() || busy_ < static_cast<std::size_t>(options_.connections))) wake_one();
}

asio::awaitable<std::unique_ptr<h1_pool::connection>> h1_pool::acquire(error_code& ec) {
  auto wake = wake_;  // outlives a pool destroyed while we wait
  // First come, first served: a newcomer queues behind the requests already
  // waiting (each release wakes the oldest waiter, which takes what was
  // released), so no request waits while later ones keep overtaking it.
  bool newcomer = true;
  for (;;) {
    if (shut_down_) {
      ec = provider_error::shut_down;
      co_return nullptr;
    }
    if (!newcomer || waiting_ == 0) {
      // Reuse the most recently used idle connection; close stale ones.
      while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        if (std::chrono::steady_clock::now() - c->last_used < options_.idle_close_after) {
          ++busy_;
          pass_on();
          co_return c;
        }
        error_code ignored;
        beast::get_lowest_layer(c->stream).socket().close(ignored);
        --open_;
        if (hooks_.on_close) hooks_.on_close();
      }
      if (busy_ < static_cast<std::size_t>(options_.connections)) {
        ++busy_;
        pass_on();
        co_return std::make_unique<connection>(ex_, *tls_, next_id_++);
      }
    }
    newcomer = false;
    if (waiting_ >= options_.queue_limit) {
      ec = provider_error::queue_full;
      co_return nullptr;
    }
    ++waiting_;
    co_await static_cast<asio::steady_timer*>(wake.get())->async_wait(use_tuple);
    --waiting_;
  }
}

void h1_pool::release(std::unique_ptr<connection> c) {
  --busy_;
  if (c && !shut_down_) {
    c->last_used = std::chrono::steady_clock::now();
    idle_.push_back(std::move(c));
  } else if (c && c->connected) {
    error_code ignored;
    beast::get_lowest_layer(c->stream).socket().close(ignored);
    --open_;
    if (hooks_.on_close) hooks_.on_close();
  }
  wake_one();
}

asio::awaitable<bool> h1_pool::connect(connection& c, std::string_view alpn, std::string& selected) {
  auto& tcp = beast::get_lowest_layer(c.stream);
  auto fail = [&] {
    error_code ignored;
    tcp.socket().close(ignored);
    return false;
  };
  tcp.expires_after(options_.connect_timeout);
  asio::ip::tcp::resolver resolver(ex_);
  auto [rec, endpoints] = co_await resolver.async_resolve(target_.host, std::to_string(target_.port), use_tuple);
  if (rec) co_return fail();
  auto [cec, ep] = co_await tcp.async_connect(endpoints, use_tuple);
  if (cec) {
    if (log_) log_->warning("h1_connect_failed").kv("host", target_.host).kv("port", target_.port).kv("error", cec.message());
    co_return fail();
  }
  SSL* ssl = c.stream.native_handle();
  bool ok = SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn.data()),
                                static_cast<unsigned>(alpn.size())) == 0;
  if (is_ip_literal(target_.host)) {
    ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str()) == 1;
  } else {
    ok = ok && SSL_set_tlsext_host_name(ssl, target_.host.c_str()) == 1 && SSL_set1_host(ssl, target_.host.c_str()) == 1;
  }
  if (!ok) co_return fail();
  auto [hec] = co_await c.stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) {
    if (log_) log_->warning("h1_tls_failed").kv("host", target_.host).kv("port", target_.port).kv("error", hec.message());
    co_return fail();
  }
  const unsigned char* proto = nullptr;
  unsigned proto_len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &proto_len);
  selected.assign(reinterpret_cast<const char*>(proto), proto ? proto_len : 0);
  tcp.expires_never();
  co_return true;
}

void h1_pool::mark_open(connection& c) {
  c.connected = true;
  ++open_;
  if (hooks_.on_open) hooks_.on_open();
  if (log_) log_->info("h1_connected").kv("host", target_.host).kv("port", target_.port).kv("connection", c.id);
}

void h1_pool::close_open(connection& c) {
  error_code ignored;
  beast::get_lowest_layer(c.stream).socket().close(ignored);
  if (!c.connected) return;
  c.connected = false;
  --open_;
  if (hooks_.on_close) hooks_.on_close();
}

asio::awaitable<boost::system::result<std::string>> h1_pool::async_negotiate() {
  error_code ec;
  auto c = co_await acquire(ec);
  if (!c) co_return ec;
  if (c->connected) {  // every connection of this pool speaks HTTP/1.1
    release(std::move(c));
    co_return std::string("http/1.1");
  }
  std::string selected;
  if (!co_await connect(*c, alpn_offer_h2_or_http11(), selected)) {
    release(nullptr);
    co_return provider_error::connect_failed;
  }
  if (http_version_for_alpn(selected) == http_version::http11) {
    mark_open(*c);
    release(std::move(c));
  } else {
    close_open(*c);
    release(nullptr);
  }
  co_return selected;
}

asio::awaitable<boost::system::result<http_response>> h1_pool::async_request(const http_request& request,
                                                                           std::chrono::milliseconds timeout) {
  error_code ec;
  auto c = co_await acquire(ec);
  if (!c) co_return ec;
  auto& tcp = beast::get_lowest_layer(c->stream);

  // A connection dies: count it closed and hand the slot back.
  auto drop = [&](provider_error e) -> boost::system::result<http_response> {
    error_code ignored;
    tcp.socket().close(ignored);
    if (c->connected) {
      --open_;
      if (hooks_.on_close) hooks_.on_close();
    }
    c.reset();
    release(nullptr);
    return e;
  };

  const bool reused = c->connected;
  if (!c->connected) {
    static constexpr char http11[] = "\x08http/1.1";
    std::string selected;
    if (!co_await connect(*c, std::string_view(http11, sizeof http11 - 1), selected))
      co_return drop(provider_error::connect_failed);
    mark_open(*c);
  }

  http::request<http::string_body> req;
  req.method(http::string_to_verb(request.method));
  req.target(request.path);
  req.version(11);
  req.set(http::field::host, target_.authority());
  req.set(http::field::user_agent, "herald");
  for (const auto& h : request.headers) req.set(h.name, h.value);
  req.keep_alive(true);
  req.body() = request.body;
  req.prepare_payload();

  if (hooks_.on_streams) hooks_.on_streams(1);
  struct stream_count {
    const h2_hooks& hooks;
    ~stream_count() {
      if (hooks.on_streams) hooks.on_streams(-1);
    }
  } counted{hooks_};

  tcp.expires_after(timeout);
  auto [wec, written] = co_await http::async_write(c->stream, req, use_tuple);
  (void)written;
  if (wec) co_return drop(wec == beast::error::timeout ? provider_error::response_timeout : provider_error::connection_lost);
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_body);
  auto [rec, read] = co_await http::async_read(c->stream, c->buffer, parser, use_tuple);
  (void)read;
  if (rec) {
    if (rec == http::error::body_limit) co_return drop(provider_error::response_too_large);
    if (rec == beast::error::timeout) co_return drop(provider_error::response_timeout);
    if (log_ && !reused) log_->notice("h1_read_failed").kv("host", target_.host).kv("error", rec.message());
    co_return drop(provider_error::connection_lost);
  }
  auto& res = parser.get();
  http_response out;
  out.status = static_cast<int>(res.result_int());
  out.connection_id = c->id;
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    out.headers.push_back({std::move(name), std::string(f.value()), false});
  }
  out.body = std::move(res.body());
  if (!res.keep_alive()) co_return [&]() -> boost::system::result<http_response> {
    drop(provider_error::connection_lost);
    return out;
  }();
  tcp.expires_never();
  release(std::move(c));
  co_return out;
}

}  // namespace herald::detail
