#include "providers/detail/h2_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <unordered_map>

#include "providers/detail/h2_session.hpp"
#include "providers/detail/tls_socket.hpp"
#include "runtime/log.hpp"

namespace herald::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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
  bool abandoned = false;  // timed out: the stream is being reset, nobody waits
  int refused = 0;
};
using op_ptr = std::shared_ptr<request_op>;

// The I/O of one connection: a tls_socket carries the bytes of an h2_session
// (nghttp2 in memory); this class connects, reads, writes, and turns the
// session's events into request results.
class connection_impl final : public h2_connection, public std::enable_shared_from_this<connection_impl> {
 public:
  connection_impl(asio::any_io_executor ex, https_url target, std::shared_ptr<asio::ssl::context> tls,
                  h2_options options, std::uint64_t id, h2_hooks hooks, close_handler on_close, logger* log)
      : ex_(ex),
        target_(std::move(target)),
        authority_(target_.authority()),
        socket_(ex, std::move(tls)),
        options_(options),
        id_(id),
        hooks_(std::move(hooks)),
        on_close_(std::move(on_close)),
        log_(log),
        timer_(ex),
        write_signal_(ex),
        idle_timer_(ex),
        deadline_timer_(ex) {}

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
    return session_ ? session_->remote_max_concurrent_streams() : 0;
  }

  // What the session reported since the last call, in order.
  void handle_events() {
    session_->take_events(events_);
    for (auto& e : events_) {
      if (state_ == state::closed) break;
      switch (e.type) {
        case h2_event::kind::settings:
          settings_received_ = true;
          need_pump_ = true;
          break;
        case h2_event::kind::goaway:
          goaway_ = true;
          if (log_)
            log_->notice("h2_goaway")
                .kv("host", target_.host)
                .kv("connection", id_)
                .kv("last_stream_id", e.last_stream_id)
                .kv("error_code", e.error_code)
                .kv("debug", e.debug);
          if (state_ == state::open || state_ == state::connecting) state_ = state::draining;
          fail_queue(provider_error::not_sent);
          break;
        case h2_event::kind::ping_ack:
          ping_outstanding_ = false;
          break;
        case h2_event::kind::protocol_error:
          if (log_) log_->warning("h2_protocol_error").kv("host", target_.host).kv("error", e.debug);
          close_with(provider_error::connection_lost, "protocol");
          break;
        case h2_event::kind::response:
        case h2_event::kind::stream_reset:
        case h2_event::kind::response_too_large:
          on_stream_outcome(e);
          break;
      }
    }
    events_.clear();
  }

  void on_stream_outcome(h2_event& e) {
    auto it = streams_.find(e.stream_id);
    if (it == streams_.end()) return;
    op_ptr op = std::move(it->second);
    streams_.erase(it);
    if (hooks_.on_streams) hooks_.on_streams(-1);
    need_pump_ = true;
    if (op->abandoned || op->result) return;
    if (e.type == h2_event::kind::response_too_large) {
      finish_later(std::move(op), provider_error::response_too_large);
    } else if (e.type == h2_event::kind::response) {
      e.response.connection_id = id_;
      finish_later(std::move(op), std::move(e.response));
    } else if (e.error_code == h2_error::refused_stream) {
      // Never processed by the server: resubmit here, or elsewhere after a GOAWAY.
      if (!goaway_ && state_ == state::open && ++op->refused <= options_.max_refused_resubmits) {
        op->stream_id = -1;
        queue_.push_front(std::move(op));
      } else {
        finish_later(std::move(op), provider_error::not_sent);
      }
    } else {
      auto error = e.headers_sent ? provider_error::stream_reset : provider_error::not_sent;
      finish_later(std::move(op), error);
    }
  }

 private:
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
        s->socket_.close();
      }
    });
    tcp::resolver resolver(ex_);
    auto [rec, endpoints] = co_await resolver.async_resolve(target_.host, std::to_string(target_.port), use_tuple);
    if (rec || state_ != state::connecting) co_return connect_failed("resolve", rec.message());
    auto [cec, ep] = co_await asio::async_connect(socket_.tcp(), endpoints, use_tuple);
    if (cec || state_ != state::connecting) co_return connect_failed("connect", cec.message());
    if (std::string error; !socket_.attach(target_.host, error)) co_return connect_failed("tls", error);
    for (;;) {
      auto step = socket_.handshake();
      if (step == tls_socket::io::done) break;
      if (step != tls_socket::io::want_read && step != tls_socket::io::want_write)
        co_return connect_failed("tls", socket_.error());
      auto [wec] = co_await socket_.tcp().async_wait(tls_socket::wait_for(step), use_tuple);
      if (wec || state_ != state::connecting) co_return connect_failed("tls", wec.message());
    }
    if (socket_.alpn() != "h2") co_return connect_failed("alpn", "server did not select h2");
    timer_.cancel();
    session_ = std::make_unique<h2_session>(options_.max_response_body);
    if (!session_->ok()) co_return connect_failed("nghttp2", "");
    state_ = state::open;
    was_open_ = true;
    last_recv_ = steady_clock::now();
    if (hooks_.on_open) hooks_.on_open();
    if (log_) log_->info("h2_connected").kv("host", target_.host).kv("port", target_.port).kv("connection", id_);
    asio::co_spawn(ex_, write_loop(), asio::detached);
    asio::co_spawn(ex_, idle_loop(), asio::detached);
    co_await read_loop();
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

  // Reads what TLS has now, record after record (at most one buffer), and
  // feeds it to the session. Returns how the reading stopped (done: the
  // buffer is full, more may be there); closes the connection itself only
  // on a protocol error.
  tls_socket::io receive_available() {
    std::size_t got = 0;
    auto io = socket_.read(read_buf_.get(), read_capacity, got);
    if (got > 0) {
      last_recv_ = steady_clock::now();
      session_->receive(std::span<const std::uint8_t>(read_buf_.get(), got));
      handle_events();
      if (state_ == state::closed) return io;
      after_session_activity();
    }
    return io;
  }

  asio::awaitable<void> read_loop() {
    read_buf_ = std::make_unique<std::uint8_t[]>(read_capacity);
    while (state_ != state::closed) {
      auto io = receive_available();
      if (state_ == state::closed) co_return;
      if (io == tls_socket::io::done) continue;  // buffer full: feed more
      if (io != tls_socket::io::want_read && io != tls_socket::io::want_write) {
        std::string failure = io == tls_socket::io::closed ? std::string() : socket_.error();
        bool quiet = failure.empty() || failure.find("unexpected eof") != std::string::npos;
        if (log_ && !quiet)
          log_->notice("h2_read_failed").kv("host", target_.host).kv("connection", id_).kv("error", failure);
        co_return close_with(provider_error::connection_lost, "read");
      }
      auto [ec] = co_await socket_.tcp().async_wait(tls_socket::wait_for(io), use_tuple);
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
      std::size_t n = 0;
      auto io = socket_.write(data + done, size - done, n);
      if (io == tls_socket::io::done) {
        done += n;
        continue;
      }
      if (io != tls_socket::io::want_write && io != tls_socket::io::want_read) co_return false;  // closed by the peer, mostly
      auto [ec] = co_await socket_.tcp().async_wait(tls_socket::wait_for(io), use_tuple);
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
        std::span<const std::uint8_t> chunk;
        if (!session_->pending_output(chunk)) {
          handle_events();
          co_return close_with(provider_error::connection_lost, "mem_send");
        }
        if (chunk.empty()) {
          drained = true;
          break;
        }
        out.insert(out.end(), chunk.begin(), chunk.end());
      }
      handle_events();  // streams reset while sending
      if (state_ == state::closed) co_return;
      wake_finished();
      if (out.empty() && need_pump_) {  // a stream closed inside mem_send: refill from the queue
        pump();
        if (!queue_.empty() || session_->want_write()) continue;
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
      if (!session_->want_read() && !session_->want_write())
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
        session_->ping();
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
        if (session_) session_->rebind_request(op.stream_id, *op.owned);
        if (session_ && state_ != state::closed) {
          session_->reset_stream(op.stream_id, h2_error::cancel);
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
    auto limit = session_->remote_max_concurrent_streams();
    while (!queue_.empty() && streams_.size() < limit) {
      op_ptr op = std::move(queue_.front());
      queue_.pop_front();
      if (!submit(op)) break;
      submitted = true;
    }
    if (submitted) signal_write();
  }

  bool submit(op_ptr& op) {
    std::int32_t id = session_->submit_request(*op->request, authority_);
    if (id < 0) {
      // Stream ids exhausted (or the session is going away): resend elsewhere.
      queue_.push_front(std::move(op));
      if (log_) log_->info("h2_submit_failed").kv("host", target_.host).kv("error", h2_session::error_text(id));
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
    if (session_->want_write()) signal_write();
    wake_finished();
    maybe_finish_draining();
    if (state_ != state::closed && !session_->want_read() && !session_->want_write())
      close_with(provider_error::connection_lost, "session done");
  }

  void maybe_finish_draining() {
    if (state_ != state::draining || !streams_.empty()) return;
    if (!session_) return close_with(provider_error::not_sent, "retired");
    if (!terminated_) {
      terminated_ = true;
      session_->terminate(h2_error::no_error);  // our GOAWAY; closes after it is written
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
      bool sent = session_ && session_->headers_sent(id);
      complete(*op, sent ? provider_error::connection_lost : provider_error::not_sent);
    }
    fail_queue(queued_error == provider_error::connect_failed ? provider_error::connect_failed : provider_error::not_sent);
    wake_finished();
    timer_.cancel();
    idle_timer_.cancel();
    write_signal_.cancel();
    deadline_timer_.cancel();
    socket_.close();
    if (log_ && was_connected)
      log_->info("h2_closed").kv("host", target_.host).kv("connection", id_).kv("reason", why).kv("in_flight", streams.size());
    if (was_connected && hooks_.on_close) hooks_.on_close();
    if (on_close_) {
      auto handler = std::move(on_close_);
      on_close_ = nullptr;
      handler(id_, was_connected);
    }
  }

  asio::any_io_executor ex_;
  https_url target_;
  std::string authority_;  // :authority of every request
  tls_socket socket_;
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
  std::unique_ptr<h2_session> session_;  // from the handshake on
  std::vector<h2_event> events_;          // being handled
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
}  // namespace

std::shared_ptr<h2_connection> h2_connection::create(asio::any_io_executor ex, https_url target,
                                                     std::shared_ptr<asio::ssl::context> tls, h2_options options,
                                                     std::uint64_t id, h2_hooks hooks, close_handler on_close,
                                                     logger* log) {
  return std::make_shared<connection_impl>(ex, std::move(target), std::move(tls), options, id, std::move(hooks),
                                           std::move(on_close), log);
}

h2_connection_factory tls_connection_factory(asio::any_io_executor ex, https_url target,
                                             std::shared_ptr<asio::ssl::context> tls, h2_options options,
                                             h2_hooks hooks, logger* log) {
  return [ex, target = std::move(target), tls = std::move(tls), options, hooks = std::move(hooks), log](
             std::uint64_t id, h2_connection::close_handler on_close) -> std::shared_ptr<h2_connection> {
    return h2_connection::create(ex, target, tls, options, id, hooks, std::move(on_close), log);
  };
}

}  // namespace herald::detail
