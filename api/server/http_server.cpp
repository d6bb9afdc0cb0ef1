#include "api/server/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <list>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace herald {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

api_response plain_error(http::status status, unsigned version, std::string_view message) {
  api_response res{status, version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::server, "herald");
  res.body() = std::string(R"({"Error":true,"ErrorType":")") + std::string(http::obsolete_reason(status)) +
               R"(","ErrorMessage":")" + std::string(message) + R"(","ErrorSource":"Herald"})";
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

}  // namespace

struct connection_state {
  connection_state(tcp::socket sock, std::string client) : stream(std::move(sock)), client(std::move(client)) {}
  beast::tcp_stream stream;
  std::string client;  // remote address, for server.max_connections_per_client
  bool busy = false;  // a request is being handled (touched on the connection's strand only)
};

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, server_settings s, request_handler h, logger& l, metrics_registry& m)
      : executor(ex),
        settings(std::move(s)),
        handler(std::move(h)),
        log(l),
        acceptor(asio::make_strand(ex)),
        connections_gauge(m.get_gauge("herald_http_connections", "Open HTTP connections")),
        connections_limit(m.get_gauge("herald_http_connections_limit", "Configured server.max_connections")),
        rejected(m.get_counter("herald_http_connections_rejected_total", "Connections closed at once because server.max_connections was reached")),
        rejected_per_client(m.get_counter("herald_http_connections_rejected_per_client_total",
                                          "Connections closed at once because server.max_connections_per_client was reached")),
        timeouts(m.get_counter("herald_http_timeouts_total", "Connections closed by a head, read or idle timeout")) {
    connections_limit.set(static_cast<double>(settings.max_connections));
  }

  asio::any_io_executor executor;
  server_settings settings;
  request_handler handler;
  logger& log;
  tcp::acceptor acceptor;
  gauge& connections_gauge;
  gauge& connections_limit;
  counter& rejected;
  counter& rejected_per_client;
  counter& timeouts;

  std::atomic<bool> draining{false};
  mutable std::mutex conn_mutex;
  std::list<std::weak_ptr<connection_state>> conns;  // guarded by conn_mutex
  std::unordered_map<std::string, std::size_t> per_client;  // open connections by remote address; guarded by conn_mutex
  std::atomic<std::size_t> open{0};
  std::function<void(bool)> drain_done;  // guarded by conn_mutex
  std::shared_ptr<asio::steady_timer> drain_timer;  // guarded by conn_mutex

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(executor), tuple_awaitable);
      if (ec == asio::error::operation_aborted || draining) co_return;
      if (ec) {
        log.warning("http.accept_failed").kv("error", ec.message());
        // e.g. EMFILE: back off briefly instead of spinning.
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(tuple_awaitable);
        continue;
      }
      if (open.load() >= settings.max_connections) {
        rejected.inc();
        beast::error_code ignored;
        sock.close(ignored);
        continue;
      }
      beast::error_code rec;
      auto remote = sock.remote_endpoint(rec);
      auto conn = std::make_shared<connection_state>(std::move(sock), rec ? std::string() : remote.address().to_string());
      {
        std::lock_guard lock(conn_mutex);
        if (settings.max_connections_per_client > 0 && per_client[conn->client] >= settings.max_connections_per_client) {
          if (per_client[conn->client] == 0) per_client.erase(conn->client);
          rejected_per_client.inc();
          beast::error_code ignored;
          conn->stream.socket().close(ignored);
          continue;
        }
        ++per_client[conn->client];
        conns.push_back(conn);
      }
      open.fetch_add(1);
      connections_gauge.add(1);
      auto self = shared_from_this();
      auto ex = conn->stream.get_executor();
      asio::co_spawn(ex, serve(conn), [self, conn](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            self->log.err("http.connection_failed").kv("error", ex.what());
          }
        }
        self->connection_closed(conn);
      });
    }
  }

  void connection_closed(const std::shared_ptr<connection_state>& conn) {
    std::function<void(bool)> done;
    {
      std::lock_guard lock(conn_mutex);
      conns.remove_if([&](const auto& w) {
        auto p = w.lock();
        return !p || p == conn;
      });
      if (auto it = per_client.find(conn->client); it != per_client.end() && --it->second == 0) per_client.erase(it);
      open.fetch_sub(1);
      connections_gauge.add(-1);
      if (draining && open.load() == 0 && drain_done) {
        done = std::exchange(drain_done, nullptr);
        if (drain_timer) drain_timer->cancel();
      }
    }
    if (done) done(true);
  }

  asio::awaitable<void> serve(std::shared_ptr<connection_state> conn) {
    auto& stream = conn->stream;
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      if (draining) break;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(settings.header_limit));
      parser.body_limit(settings.body_limit);
      // Idle keep-alive connections wait idle_timeout for the first byte of
      // the next request; from there the head must arrive within
      // header_timeout, on every request of the connection.
      if (!first && buffer.size() == 0) {
        stream.expires_after(settings.idle_timeout);
        auto [iec, in] = co_await stream.async_read_some(buffer.prepare(4096), tuple_awaitable);
        if (iec) {
          if (iec == beast::error::timeout) timeouts.inc();
          break;
        }
        buffer.commit(in);
      }
      stream.expires_after(settings.header_timeout);
      first = false;
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
      (void)n;
      if (ec) {
        if (ec == beast::error::timeout) timeouts.inc();
        if (ec == http::error::body_limit)  // Content-Length over the limit, seen in the head
          co_await write_error(stream, http::status::payload_too_large, 11,
                               "request body exceeds " + std::to_string(settings.body_limit) + " bytes");
        else if (ec == http::error::header_limit) co_await write_error(stream, http::status::request_header_fields_too_large, 11, "request head too large");
        else if (ec != http::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
                 ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
          co_await write_error(stream, http::status::bad_request, 11, "malformed request: " + ec.message());
        break;
      }
      conn->busy = true;
      auto& head = parser.get();
      if (log.enabled(log_level::debug))
        log.debug("http.request").kv("method", std::string_view(head.method_string())).kv("target", std::string_view(head.target()).substr(0, head.target().find('?')));
      unsigned version = head.version();
      if (auto len = parser.content_length(); len && *len > settings.body_limit) {
        co_await write_error(stream, http::status::payload_too_large, version,
                             "request body exceeds " + std::to_string(settings.body_limit) + " bytes");
        break;
      }
      if (auto expect = head[http::field::expect]; !expect.empty()) {
        if (beast::iequals(expect, "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, version};
          stream.expires_after(settings.read_timeout);
          auto [wec, wn] = co_await http::async_write(stream, cont, tuple_awaitable);
          (void)wn;
          if (wec) break;
        } else {
          co_await write_error(stream, http::status::expectation_failed, version, "unsupported Expect");
          break;
        }
      }
      if (!parser.is_done()) {
        stream.expires_after(settings.read_timeout);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
        (void)rn;
        if (rec == http::error::body_limit) {
          co_await write_error(stream, http::status::payload_too_large, version,
                               "request body exceeds " + std::to_string(settings.body_limit) + " bytes");
          break;
        }
        if (rec) {
          if (rec == beast::error::timeout) timeouts.inc();
          break;
        }
      }
      api_request req = parser.release();
      bool keep_alive = req.keep_alive();
      stream.expires_never();  // the handler bounds its own work (Redis command timeout)
      api_response res = co_await handler(req);
      res.version(version);
      res.set(http::field::server, "herald");
      if (draining || !keep_alive) res.keep_alive(false);
      else res.keep_alive(true);
      res.prepare_payload();
      stream.expires_after(settings.read_timeout);
      beast::error_code wec;
      if (req.method() == http::verb::head) {
        // The headers of the GET answer (Content-Length included), no body.
        http::response_serializer<http::string_body> head_only{res};
        std::tie(wec, std::ignore) = co_await http::async_write_header(stream, head_only, tuple_awaitable);
      } else {
        std::tie(wec, std::ignore) = co_await http::async_write(stream, res, tuple_awaitable);
      }
      conn->busy = false;
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }

  asio::awaitable<void> write_error(beast::tcp_stream& stream, http::status status, unsigned version, std::string message) {
    auto res = plain_error(status, version, message);
    stream.expires_after(settings.read_timeout);
    co_await http::async_write(stream, res, tuple_awaitable);
  }
};

http_server::http_server(asio::any_io_executor ex, server_settings settings, request_handler handler, logger& log,
                         metrics_registry& metrics)
    : impl_(std::make_shared<impl>(ex, std::move(settings), std::move(handler), log, metrics)) {}

http_server::~http_server() {
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

void http_server::start() {
  auto& s = impl_->settings;
  tcp::endpoint ep(asio::ip::make_address(s.listen_host), s.listen_port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->log.notice("http.listening").kv("address", s.listen_host).kv("port", static_cast<unsigned>(local_port()));
  auto self = impl_;
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->log.err("http.accept_loop_failed").kv("error", ex.what());
      }
    }
  });
}

void http_server::async_drain(std::chrono::milliseconds grace, std::function<void(bool)> done) {
  auto self = impl_;
  self->draining = true;
  asio::post(self->acceptor.get_executor(), [self] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<connection_state>> live;
  {
    std::lock_guard lock(self->conn_mutex);
    for (auto& w : self->conns)
      if (auto p = w.lock()) live.push_back(p);
    if (self->open.load() == 0) {
      done(true);
      return;
    }
    self->drain_done = std::move(done);
    // The grace timer is set and cancelled (by the connection that ends
    // last, on its own thread) only under the lock, like drain_done.
    self->drain_timer = std::make_shared<asio::steady_timer>(self->executor, grace);
    self->drain_timer->async_wait([self](beast::error_code ec) {
      if (ec) return;
      std::function<void(bool)> d;
      {
        std::lock_guard lock(self->conn_mutex);
        d = std::exchange(self->drain_done, nullptr);
      }
      if (d) {
        self->log.warning("http.drain_timeout").kv("open_connections", static_cast<unsigned long long>(self->open.load()));
        d(false);
      }
    });
  }
  // Close connections that wait for a next request; busy ones finish theirs.
  for (auto& c : live) {
    asio::post(c->stream.get_executor(), [c] {
      // The connection may have ended (and closed its socket) since the post.
      beast::error_code ignored;
      if (!c->busy) c->stream.socket().cancel(ignored);
    });
  }
}

unsigned short http_server::local_port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t http_server::open_connections() const { return impl_->open.load(); }

}  // namespace herald
