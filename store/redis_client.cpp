#include "store/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <optional>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <iterator>
#include <random>
#include <string_view>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/backoff.hpp"
#include "store/detail/link_policy.hpp"
#include "store/detail/resp.hpp"
#include "store/sentinel.hpp"

namespace herald {

namespace detail {

redis_reply convert_reply(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert_reply(r->element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      out.type = redis_reply::kind::nil;
      break;
  }
  return out;
}

}  // namespace detail

namespace {

// Every client error: its metrics label and its message.
struct error_text {
  redis_error error;
  std::string_view label;
  const char* message;
};
constexpr std::array<error_text, 8> error_texts{{
    {redis_error::not_connected, "not_connected", "not connected to Redis"},
    {redis_error::timeout, "timeout", "Redis did not reply within the command timeout"},
    {redis_error::connection_lost, "connection_lost", "the connection to Redis was lost before the reply arrived"},
    {redis_error::server_error, "server_error", "Redis answered with an error reply"},
    {redis_error::busy, "busy", "too many Redis commands pending"},
    {redis_error::unexpected_reply, "unexpected_reply", "unexpected Redis reply type"},
    {redis_error::stopped, "stopped", "the Redis client was stopped"},
    {redis_error::unavailable, "unavailable", "Redis is failing over (the node cannot serve as the master now)"},
}};

const error_text* find_error_text(int ev) {
  for (const auto& t : error_texts)
    if (static_cast<int>(t.error) == ev) return &t;
  return nullptr;
}

class redis_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "herald.redis"; }
  std::string message(int ev) const override {
    const auto* t = find_error_text(ev);
    return t ? t->message : "unknown Redis client error";
  }
};


using clock_type = std::chrono::steady_clock;

// Pub/sub and MONITOR turn the connection into a push stream, which breaks
// the one-reply-per-command model every caller relies on.
bool changes_connection_mode(std::string_view command) {
  constexpr std::array<std::string_view, 7> names{"SUBSCRIBE",   "PSUBSCRIBE",   "SSUBSCRIBE", "UNSUBSCRIBE",
                                                  "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR"};
  for (auto name : names) {
    if (name.size() != command.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(command[i])) == name[i];
    if (same) return true;
  }
  return false;
}

}  // namespace

const boost::system::error_category& redis_category() {
  static const redis_category_impl category;
  return category;
}

boost::system::error_code make_error_code(redis_error e) { return {static_cast<int>(e), redis_category()}; }

namespace {

// The adapter. Every member below is touched only on strand_, except
// connected_ (atomic) and last_error_ (last_error_mutex_). hiredis is only
// ever entered from handlers on strand_ (connect, command, handle read/write,
// free), and never re-entered from its own callbacks: completions of user
// commands are posted, teardown requested from a callback is posted too.
class hiredis_client final : public redis_client {
 public:
  hiredis_client(boost::asio::any_io_executor ex, redis_settings settings, logger& log, metrics_registry* metrics)
      : strand_(boost::asio::make_strand(ex)),
        settings_(std::move(settings)),
        log_(log),
        resolver_(strand_),
        connect_timer_(strand_),
        command_timer_(strand_),
        reconnect_timer_(strand_),
        rng_(static_cast<std::uint32_t>(clock_type::now().time_since_epoch().count()) ^
             static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(this))) {
    if (metrics) {
      connected_gauge_ = &metrics->get_gauge("herald_redis_connected", "1 while the Redis connection is up and ready");
      pending_gauge_ = &metrics->get_gauge("herald_redis_pending_commands", "Redis commands sent and not yet answered");
      metrics->get_gauge("herald_redis_max_pending_commands", "Bound on pending Redis commands (redis.max_pending)")
          .set(static_cast<double>(settings_.max_pending));
      reconnects_ = &metrics->get_counter("herald_redis_reconnects_total",
                                          "Reconnect attempts scheduled after the Redis connection dropped or failed");
      for (const auto& t : error_texts)
        error_counters_[static_cast<std::size_t>(t.error)] =
            &metrics->get_counter("herald_redis_command_errors_total", "Redis commands that completed with an error",
                                  {{"reason", std::string(t.label)}});
      if (settings_.check_dataset)
        data_resets_ = &metrics->get_counter("herald_redis_data_resets_total",
                                             "Times the Redis dataset was found reset (its epoch key gone or replaced)");
    }
    if (!settings_.sentinels.empty()) sentinel_ = sentinel_client::create(strand_, settings_, log_);
    set_last_error("not started");
  }

  ~hiredis_client() override {
    // No handler holds a strong reference any more, so nothing else runs on
    // this object concurrently. Pending commands complete with `stopped`.
    running_ = false;
    if (sentinel_) sentinel_->stop();
    if (conn_ && conn_->ac) {
      conn_->closing = true;
      conn_->close_code = redis_error::stopped;
      redisAsyncContext* ac = conn_->ac;
      redisAsyncFree(ac);
      conn_->ac = nullptr;
    }
    if (conn_) fail_leftovers(*conn_, redis_error::stopped);
    if (connected_gauge_) connected_gauge_->set(0);
  }

  void start() override {
    boost::asio::dispatch(strand_, [self = self()] {
      if (self->running_) return;
      self->running_ = true;
      self->attempt_ = 0;
      self->policy_.start();
      self->set_last_error("connecting");
      if (self->sentinel_)
        self->sentinel_->watch([weak = self->weak_self()](const sentinel_event& e) {
          if (auto s = weak.lock()) s->on_sentinel_event(e);
        });
      self->connect();
    });
  }

  void stop() override {
    boost::asio::dispatch(strand_, [self = self()] {
      self->running_ = false;
      self->policy_.stop();
      if (self->sentinel_) self->sentinel_->stop();
      self->reconnect_timer_.cancel();
      if (self->conn_) self->teardown(self->conn_, redis_error::stopped, "stopped");
      self->set_last_error("stopped");
    });
  }

  bool connected() const override { return connected_.load(std::memory_order_acquire); }

  std::string last_error() const override {
    std::lock_guard lock(last_error_mutex_);
    return last_error_;
  }

  void exec(std::vector<std::string> args, exec_handler handler) override {
    boost::asio::dispatch(strand_, [self = self(), args = std::move(args), handler = std::move(handler)]() mutable {
      self->do_exec(std::move(args), std::move(handler));
    });
  }

 private:
  struct pending_command {
    std::uint64_t id = 0;
    exec_handler handler;  // empty for the AUTH/SELECT/PING handshake
    clock_type::time_point deadline;
    bool handshake = false;
    int step = 0;  // handshake_step
  };
  enum handshake_step { step_auth = 1, step_select, step_role, step_dataset };

  // One hiredis context, from redisAsyncConnect until hiredis frees it.
  // Shared with the descriptor wait handlers so that a wait completing after
  // the context was freed still finds valid (dead) state.
  struct connection : std::enable_shared_from_this<connection> {
    connection(hiredis_client* o, boost::asio::strand<boost::asio::any_io_executor>& s) : owner(o), fd(s) {}
    hiredis_client* owner;
    redisAsyncContext* ac = nullptr;  // null once hiredis freed it (cleanup hook)
    boost::asio::posix::stream_descriptor fd;
    bool want_read = false, want_write = false;
    bool read_waiting = false, write_waiting = false;
    bool flush_posted = false;  // a direct write is queued on the strand
    bool writing = false;       // inside redisAsyncHandleWrite
    bool handshake_done = false;
    int handshake_remaining = 0;
    bool teardown_posted = false;
    bool closing = false;  // we initiated the teardown; close_code applies
    redis_error close_code = redis_error::connection_lost;
    std::string close_reason;
    std::deque<pending_command> pending;  // in send order (= reply order)
    std::size_t user_pending = 0;
    std::string address;  // host:port (or socket path) this context talks to
    std::string role;     // from ROLE in the handshake
    redis_reply dataset;  // the dataset epoch check's answer
  };
  using connection_ptr = std::shared_ptr<connection>;

  std::shared_ptr<hiredis_client> self() { return std::static_pointer_cast<hiredis_client>(shared_from_this()); }
  std::weak_ptr<hiredis_client> weak_self() { return self(); }

  void set_last_error(std::string why) {
    std::lock_guard lock(last_error_mutex_);
    last_error_ = std::move(why);
  }

  void set_connected(bool up) {
    connected_.store(up, std::memory_order_release);
    if (connected_gauge_) connected_gauge_->set(up ? 1 : 0);
  }

  void count_error(redis_error e) {
    if (auto* c = error_counters_[static_cast<std::size_t>(e)]) c->inc();
  }

  // Completes a user handler later on the strand, never inline: the caller
  // may be inside hiredis or inside exec().
  void complete(exec_handler handler, boost::system::error_code ec, redis_reply reply) {
    if (!handler) return;
    boost::asio::post(strand_, [handler = std::move(handler), ec, reply = std::move(reply)]() mutable {
      handler(ec, std::move(reply));
    });
  }

  void fail(exec_handler handler, redis_error e) {
    count_error(e);
    complete(std::move(handler), make_error_code(e), redis_reply{});
  }

  std::string endpoint() const {
    if (conn_ && !conn_->address.empty()) return conn_->address;
    if (!settings_.unix_socket.empty()) return settings_.unix_socket;
    if (!settings_.sentinels.empty()) return "master " + settings_.master_name + " (via sentinels)";
    return settings_.host + ":" + std::to_string(settings_.port);
  }

  // ---- commands -----------------------------------------------------------

  void do_exec(std::vector<std::string> args, exec_handler handler) {
    if (!handler) handler = [](boost::system::error_code, redis_reply) {};
    if (args.empty() || args.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      complete(std::move(handler), make_error_code(boost::system::errc::invalid_argument), redis_reply{});
      return;
    }
    if (changes_connection_mode(args.front())) {
      complete(std::move(handler), make_error_code(boost::system::errc::operation_not_supported), redis_reply{});
      return;
    }
    const connection_ptr c = conn_;
    if (!c || !c->ac || !c->handshake_done || c->closing || c->teardown_posted) {
      fail(std::move(handler), redis_error::not_connected);
      return;
    }
    if (c->user_pending >= settings_.max_pending) {
      fail(std::move(handler), redis_error::busy);
      return;
    }
    if (!send(*c, args, false)) {
      fail(std::move(handler), redis_error::connection_lost);
      return;
    }
    c->pending.back().handler = std::move(handler);
    c->pending.back().deadline = clock_type::now() + settings_.command_timeout;
    ++c->user_pending;
    if (pending_gauge_) pending_gauge_->add(1);
    arm_command_timer();
  }

  // Hands one command to hiredis (buffered; the write hook flushes it) and
  // records it as pending. False if hiredis refused (context disconnecting).
  bool send(connection& c, const std::vector<std::string>& args, bool handshake, int step = 0) {
    std::vector<const char*> argv;
    std::vector<std::size_t> argvlen;
    argv.reserve(args.size());
    argvlen.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      argvlen.push_back(a.size());
    }
    const std::uint64_t id = ++next_id_;
    if (redisAsyncCommandArgv(c.ac, &on_reply, reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)),
                              static_cast<int>(args.size()), argv.data(), argvlen.data()) != REDIS_OK)
      return false;
    pending_command cmd;
    cmd.id = id;
    cmd.handshake = handshake;
    cmd.step = step;
    cmd.deadline = clock_type::time_point::max();
    c.pending.push_back(std::move(cmd));
    return true;
  }

  // hiredis reply callback; reply is null when the context is being freed.
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* c = static_cast<connection*>(ac->data);
    if (!c) return;
    const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(privdata));
    pending_command cmd;
    if (!c->pending.empty() && c->pending.front().id == id) {
      cmd = std::move(c->pending.front());
      c->pending.pop_front();
    } else {  // replies arrive in order, so this is only a safety net
      auto it = std::find_if(c->pending.begin(), c->pending.end(), [id](const auto& p) { return p.id == id; });
      if (it == c->pending.end()) return;
      cmd = std::move(*it);
      c->pending.erase(it);
    }
    c->owner->on_command_done(*c, std::move(cmd), static_cast<redisReply*>(reply));
  }

  void on_command_done(connection& c, pending_command cmd, const redisReply* reply) {
    if (cmd.handshake) {
      on_handshake_reply(c, cmd.step, reply);
      return;
    }
    --c.user_pending;
    if (pending_gauge_) pending_gauge_->add(-1);
    if (!reply) {
      redis_error e = redis_error::connection_lost;
      if (c.closing && c.close_code == redis_error::stopped) e = redis_error::stopped;
      else if (c.closing && c.close_code == redis_error::timeout && cmd.deadline <= clock_type::now())
        e = redis_error::timeout;
      fail(std::move(cmd.handler), e);
      return;
    }
    redis_reply r = detail::convert_reply(reply);
    if (r.type == redis_reply::kind::error) {
      const auto d = policy_.error_reply(r.str);
      if (d.command_unavailable) {
        count_error(redis_error::unavailable);
        complete(std::move(cmd.handler), make_error_code(redis_error::unavailable), std::move(r));
        if (d.action == detail::link_action::teardown_and_back_off) {
          log_.warning("redis.failover_reply").kv("endpoint", c.address).kv("reason", d.reason);
          request_teardown(c, d.reason);
        }
        return;
      }
      count_error(redis_error::server_error);
      complete(std::move(cmd.handler), make_error_code(redis_error::server_error), std::move(r));
      return;
    }
    complete(std::move(cmd.handler), {}, std::move(r));
  }

  // Fails whatever hiredis did not report back (defensive: hiredis runs
  // every registered callback when it frees a context).
  void fail_leftovers(connection& c, redis_error e) {
    auto leftovers = std::move(c.pending);
    c.pending.clear();
    for (auto& cmd : leftovers)
      if (!cmd.handshake) fail(std::move(cmd.handler), e);
    if (pending_gauge_) pending_gauge_->add(-static_cast<double>(c.user_pending));
    c.user_pending = 0;
  }

  // One timer for the oldest outstanding command; later commands have later
  // deadlines, so it is re-armed for the next one when it fires.
  void arm_command_timer() {
    if (command_timer_armed_ || !conn_ || conn_->pending.empty()) return;
    const auto deadline = conn_->pending.front().deadline;
    if (deadline == clock_type::time_point::max()) return;
    command_timer_armed_ = true;
    const auto seq = ++command_timer_seq_;
    command_timer_.expires_at(deadline);
    command_timer_.async_wait([weak = weak_self(), seq](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || seq != self->command_timer_seq_) return;
      self->command_timer_armed_ = false;
      if (ec) return;
      self->check_timeouts();
    });
  }

  void cancel_command_timer() {
    ++command_timer_seq_;
    command_timer_armed_ = false;
    command_timer_.cancel();
  }

  void check_timeouts() {
    const connection_ptr c = conn_;
    if (!c || c->pending.empty()) return;
    if (c->pending.front().deadline <= clock_type::now()) {
      policy_.command_timeout();
      log_.warning("redis.command_timeout").kv("timeout_ms", static_cast<long long>(settings_.command_timeout.count()))
          .kv("pending", c->pending.size());
      teardown(c, redis_error::timeout,
               "no reply within command_timeout (" + std::to_string(settings_.command_timeout.count()) + " ms)");
      return;
    }
    arm_command_timer();
  }

  // ---- connection lifecycle -----------------------------------------------

  void connect() {
    if (!running_ || conn_) return;
    auto c = std::make_shared<connection>(this, strand_);
    conn_ = c;
    const auto seq = ++connect_seq_;
    // With sentinels the attempt includes asking them (each bounded by connect_timeout).
    connect_timer_.expires_after(settings_.connect_timeout * static_cast<int>(1 + settings_.sentinels.size()));
    connect_timer_.async_wait([weak = weak_self(), seq](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || seq != self->connect_seq_) return;
      const connection_ptr c = self->conn_;
      if (c && !c->handshake_done)
        self->teardown(c, redis_error::timeout,
                       "connect timeout (" + std::to_string(self->settings_.connect_timeout.count()) + " ms)");
    });

    if (!settings_.unix_socket.empty()) {
      c->address = settings_.unix_socket;
      open_context(c, redisAsyncConnectUnix(settings_.unix_socket.c_str()));
      return;
    }
    if (sentinel_) {
      // Ask the sentinels where the master is now, on every attempt.
      sentinel_->discover([weak = weak_self(), c](std::optional<redis_address> a, std::string why) {
        auto self = weak.lock();
        if (!self || self->conn_ != c) return;
        if (!a) {
          self->teardown(c, redis_error::connection_lost, std::move(why));
          return;
        }
        self->open_tcp(c, a->host, a->port);
      });
      return;
    }
    open_tcp(c, settings_.host, settings_.port);
  }

  void open_tcp(const connection_ptr& c, const std::string& host, std::uint16_t port) {
    c->address = redis_address{host, port}.to_string();
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    if (!ec) {
      open_context(c, redisAsyncConnect(host.c_str(), port));
      return;
    }
    // A host name: resolve it here (again on every attempt: after a failover
    // the name may point elsewhere), hiredis would block in getaddrinfo.
    resolver_.async_resolve(
        host, std::to_string(port),
        [weak = weak_self(), c, host, port](boost::system::error_code ec,
                                             boost::asio::ip::tcp::resolver::results_type results) {
          auto self = weak.lock();
          if (!self || self->conn_ != c) return;
          if (ec || results.empty()) {
            self->teardown(c, redis_error::connection_lost,
                           "cannot resolve " + host + ": " + (ec ? ec.message() : "no address"));
            return;
          }
          // Successive attempts rotate through the addresses ("localhost"
          // may resolve to ::1 first while Redis listens on 127.0.0.1 only).
          auto it = results.begin();
          std::advance(it, static_cast<std::ptrdiff_t>(self->attempt_ % results.size()));
          const std::string address = it->endpoint().address().to_string();
          self->open_context(c, redisAsyncConnect(address.c_str(), port));
        });
  }

  void open_context(const connection_ptr& c, redisAsyncContext* ac) {
    if (!ac) {
      teardown(c, redis_error::connection_lost, "cannot allocate a hiredis context");
      return;
    }
    if (ac->err) {
      std::string why = ac->errstr ? ac->errstr : "connect failed";
      redisAsyncFree(ac);  // no hooks attached yet, nothing registered
      teardown(c, redis_error::connection_lost, std::move(why));
      return;
    }
    boost::system::error_code ec;
    c->fd.assign(ac->c.fd, ec);
    if (ec) {
      redisAsyncFree(ac);  // closes the fd, which Asio does not own
      teardown(c, redis_error::connection_lost, "cannot register the Redis socket: " + ec.message());
      return;
    }
    c->ac = ac;
    ac->data = c.get();
    ac->ev.data = c.get();
    ac->ev.addRead = &hook_add_read;
    ac->ev.delRead = &hook_del_read;
    ac->ev.addWrite = &hook_add_write;
    ac->ev.delWrite = &hook_del_write;
    ac->ev.cleanup = &hook_cleanup;
    // Registers the write interest that signals the end of connect(2).
    redisAsyncSetConnectCallback(ac, &on_connect);
  }

  static void on_connect(const redisAsyncContext* ac, int status) {
    auto* c = static_cast<connection*>(ac->data);
    if (!c) return;
    if (status != REDIS_OK) {
      // hiredis frees the context right after this returns.
      if (c->close_reason.empty()) c->close_reason = ac->c.errstr[0] ? ac->c.errstr : "connect failed";
      return;
    }
    c->owner->begin_handshake(*c);
  }

  void begin_handshake(connection& c) {
    std::vector<std::pair<int, std::vector<std::string>>> steps;
    if (!settings_.password.empty()) {
      if (!settings_.username.empty()) steps.push_back({step_auth, {"AUTH", settings_.username, settings_.password}});
      else steps.push_back({step_auth, {"AUTH", settings_.password}});
    }
    if (settings_.db != 0) steps.push_back({step_select, {"SELECT", std::to_string(settings_.db)}});
    // ROLE doubles as the liveness check the PING used to be.
    steps.push_back({step_role, {"ROLE"}});
    if (settings_.check_dataset) {
      const auto keys = dataset_keys::for_prefix(settings_.key_prefix);
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
      char fresh[64];
      std::snprintf(fresh, sizeof fresh, "%lld-%08x", static_cast<long long>(now_ms), static_cast<unsigned>(rng_()));
      const std::string marker = "epoch " + (known_epoch_.empty() ? std::string("?") : known_epoch_) +
                                 " found gone or replaced at " + std::to_string(now_ms) + " ms";
      steps.push_back({step_dataset,
                       {"EVAL", std::string(dataset_script), "2", keys.epoch, keys.reset, known_epoch_, fresh,
                        std::to_string(settings_.dataset_reset_alert.count()), marker}});
    }
    c.handshake_remaining = static_cast<int>(steps.size());
    for (const auto& [step, args] : steps)
      if (!send(c, args, true, step)) {
        request_teardown(c, "cannot send the handshake");
        return;
      }
  }

  // Checks the dataset epoch in one step (the script is atomic, so daemons
  // connecting at once agree on one epoch). ARGV: the epoch this client knew
  // ("" at first), a fresh epoch, the alert's lifetime in ms, the marker text.
  // Answers {"same"|"new"|"adopted"|"reset"|"changed", epoch}.
  static constexpr std::string_view dataset_script = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  if ARGV[1] == '' or cur == ARGV[1] then return {'same', cur} end
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3], 'NX')
  return {'changed', cur}
end
local empty = redis.call('DBSIZE') == 0
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[1] ~= '' then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
  return {'reset', ARGV[2]}
end
if empty then return {'new', ARGV[2]} end
return {'adopted', ARGV[2]}
)lua";

  void on_handshake_reply(connection& c, int step, const redisReply* reply) {
    if (!reply) return;  // the context is being freed
    if (reply->type == REDIS_REPLY_ERROR) {
      const std::string what(reply->str, reply->len);
      if (!c.teardown_posted) policy_.connect_failed(what);
      request_teardown(c, "handshake failed: " + what);
      return;
    }
    if (step == step_role) {
      if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 && reply->element[0]->type == REDIS_REPLY_STRING)
        c.role.assign(reply->element[0]->str, reply->element[0]->len);
    } else if (step == step_dataset) {
      c.dataset = detail::convert_reply(reply);
    }
    if (--c.handshake_remaining > 0 || c.teardown_posted) return;
    const auto d = policy_.handshake_done(c.role);
    if (d.action == detail::link_action::teardown_and_back_off) {
      log_.at(failures_logged_++ == 0 ? log_level::warning : log_level::debug, "redis.not_master")
          .kv("endpoint", c.address)
          .kv("role", c.role);
      request_teardown(c, d.reason);
      return;
    }
    c.handshake_done = true;
    ++connect_seq_;
    connect_timer_.cancel();
    attempt_ = 0;
    failures_logged_ = 0;
    set_last_error("");
    set_connected(true);
    log_.info("redis.connected").kv("endpoint", c.address).kv("db", settings_.db);
    if (settings_.check_dataset) {
      on_dataset_checked(c.dataset);
      check_persistence(c.address);
    }
  }

  void on_dataset_checked(const redis_reply& r) {
    if (r.type != redis_reply::kind::array || r.elements.size() != 2) return;
    const std::string& what = r.elements[0].str;
    const std::string& epoch = r.elements[1].str;
    if (what == "reset" || what == "changed") {
      if (data_resets_) data_resets_->inc();
      log_.crit("redis.dataset_reset")
          .kv("known_epoch", known_epoch_)
          .kv("epoch", epoch)
          .kv("meaning", "the Redis data this daemon knew is gone: devices, appointments and retries written before are lost")
          .kv("clears", "herald redis ack-reset, or after redis.dataset_reset_alert");
    } else if (what == "new") {
      log_.notice("redis.dataset_created").kv("epoch", epoch);
    } else if (what == "adopted") {
      log_.notice("redis.dataset_epoch_written").kv("epoch", epoch);
    }
    known_epoch_ = epoch;
  }

  // Warns (once per node) when Redis keeps its data in memory only: a
  // restart would then empty it. CONFIG may be disabled on managed Redis.
  void check_persistence(const std::string& address) {
    if (address == persistence_checked_for_) return;
    persistence_checked_for_ = address;
    auto result = std::make_shared<std::pair<int, bool>>(0, false);  // answers, some persistence
    auto on_answer = [weak = weak_self(), result, address](boost::system::error_code ec, redis_reply r) {
      auto self = weak.lock();
      if (!self) return;
      ++result->first;
      if (ec) {
        result->first = 100;  // unknown: say nothing
        self->log_.debug("redis.persistence_unknown").kv("endpoint", address).kv("error", r.str.empty() ? ec.message() : r.str);
        return;
      }
      if (r.type == redis_reply::kind::array && r.elements.size() == 2) {
        const auto& key = r.elements[0].str;
        const auto& value = r.elements[1].str;
        if ((key == "appendonly" && value == "yes") || (key == "save" && !value.empty())) result->second = true;
      }
      if (result->first == 2 && !result->second)
        self->log_.warning("redis.no_persistence")
            .kv("endpoint", address)
            .kv("meaning", "neither AOF (appendonly) nor RDB snapshots (save): a Redis restart loses every device, appointment and retry");
    };
    do_exec({"CONFIG", "GET", "appendonly"}, on_answer);
    do_exec({"CONFIG", "GET", "save"}, on_answer);
  }

  void on_sentinel_event(const sentinel_event& e) {
    if (!running_) return;
    switch (e.what) {
      case sentinel_event::kind::switch_master: on_switch_master(e.address); break;
      case sentinel_event::kind::failover_started: {
        const auto d = policy_.failover_started();
        if (d.action != detail::link_action::teardown_and_hold) return;
        log_.notice("redis.holding").kv("reason", d.reason).kv("limit_ms", static_cast<long long>(hold_limit().count()));
        set_last_error(d.reason);
        reconnect_timer_.cancel();
        if (conn_) teardown(conn_, redis_error::connection_lost, d.reason);
        // Bounded: without news from the sentinels, ask them again later.
        reconnect_timer_.expires_after(hold_limit());
        reconnect_timer_.async_wait([weak = weak_self()](boost::system::error_code ec) {
          auto self = weak.lock();
          if (ec || !self || !self->running_) return;
          if (self->policy_.failover_aborted().action == detail::link_action::connect) self->connect();
        });
        break;
      }
      case sentinel_event::kind::failover_aborted:
        if (policy_.failover_aborted().action == detail::link_action::connect) {
          reconnect_timer_.cancel();
          connect();
        }
        break;
    }
  }

  std::chrono::milliseconds hold_limit() const {
    return std::max<std::chrono::milliseconds>(std::chrono::seconds(10), settings_.command_timeout * 5);
  }

  // A sentinel announced a new master for our name.
  void on_switch_master(const redis_address& a) {
    const std::string to = a.to_string();
    if (conn_ && conn_->handshake_done && conn_->address == to) return;  // already there
    const auto d = policy_.switch_master(to);
    if (d.action == detail::link_action::connect) {
      reconnect_timer_.cancel();
      attempt_ = 0;
      connect();
    } else if (d.action == detail::link_action::teardown_and_back_off && conn_) {
      attempt_ = 0;
      teardown(conn_, redis_error::connection_lost, d.reason);
    }
  }

  // Called from inside a hiredis callback: the teardown runs afterwards.
  void request_teardown(connection& c, std::string reason) {
    if (c.teardown_posted) return;
    c.teardown_posted = true;
    if (c.close_reason.empty()) c.close_reason = std::move(reason);
    boost::asio::post(strand_, [weak = weak_self(), c = c.shared_from_this()] {
      if (auto self = weak.lock()) self->teardown(c, redis_error::connection_lost, c->close_reason);
    });
  }

  // Frees the context (pending commands fail), then handles the close.
  void teardown(connection_ptr c, redis_error code, std::string reason) {
    if (!c->closing) {
      c->closing = true;
      c->close_code = code;
      if (c->close_reason.empty() || code == redis_error::stopped) c->close_reason = std::move(reason);
    }
    if (c->ac) {
      redisAsyncContext* ac = c->ac;
      redisAsyncFree(ac);  // runs every reply callback with NULL, then hook_cleanup
      c->ac = nullptr;
    }
    on_closed(c);
  }

  // The context is gone (freed by us or by hiredis after an I/O error).
  // `c` by value: callers may pass conn_ itself, which is reset here.
  void on_closed(connection_ptr c) {
    if (c != conn_) return;
    policy_.connection_lost(c->close_reason);  // nothing new if a decision already dropped it
    conn_.reset();
    ++connect_seq_;
    connect_timer_.cancel();
    resolver_.cancel();
    cancel_command_timer();
    fail_leftovers(*c, c->closing ? c->close_code : redis_error::connection_lost);

    const bool was_connected = connected_.load(std::memory_order_acquire);
    set_connected(false);
    std::string reason = c->close_reason.empty() ? "connection closed" : c->close_reason;
    const bool stopped = c->closing && c->close_code == redis_error::stopped;
    if (was_connected) {
      log_.at(stopped ? log_level::info : log_level::warning, "redis.disconnected")
          .kv("endpoint", endpoint())
          .kv("reason", reason);
    } else if (!stopped) {
      // Log the first failure of a series loudly, the repeats at debug.
      log_.at(failures_logged_++ == 0 ? log_level::warning : log_level::debug, "redis.connect_failed")
          .kv("endpoint", endpoint())
          .kv("reason", reason);
    }
    set_last_error(std::move(reason));
    if (running_ && policy_.state() == detail::link_state::backing_off) schedule_reconnect();
  }

  void schedule_reconnect() {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto delay = reconnect_delay(settings_.reconnect_min, settings_.reconnect_max, attempt_, unit(rng_));
    ++attempt_;
    if (reconnects_) reconnects_->inc();
    log_.at(attempt_ <= 1 ? log_level::info : log_level::debug, "redis.reconnect_scheduled")
        .kv("delay_ms", static_cast<long long>(delay.count()))
        .kv("attempt", attempt_);
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([weak = weak_self()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->running_) return;
      if (self->policy_.backoff_elapsed().action == detail::link_action::connect) self->connect();
    });
  }

  // ---- hiredis event hooks (privdata = connection*) -------------------------

  static void hook_add_read(void* p) {
    auto* c = static_cast<connection*>(p);
    c->want_read = true;
    c->owner->arm(c->shared_from_this());
  }
  static void hook_del_read(void* p) { static_cast<connection*>(p)->want_read = false; }
  // Once connected, the socket is nearly always writable: the commands are
  // written on the strand's next turn (all those queued until then in one
  // write) instead of after the reactor says so, which costs an epoll_ctl and
  // a loop turn per command (Asio re-arms an edge-triggered descriptor for
  // each wait). Before that, writability is the end of connect(2), and a
  // write that did not fit (hiredis asks again from inside its write) waits
  // for the reactor as before.
  static void hook_add_write(void* p) {
    auto* c = static_cast<connection*>(p);
    c->want_write = true;
    const bool connected = c->ac && (c->ac->c.flags & REDIS_CONNECTED);
    if (connected && !c->writing) c->owner->post_flush(c->shared_from_this());
    else c->owner->arm(c->shared_from_this());
  }
  static void hook_del_write(void* p) { static_cast<connection*>(p)->want_write = false; }

  // hiredis is about to close the fd: stop watching it and hand it back, so
  // Asio neither closes it a second time nor watches a reused number.
  static void hook_cleanup(void* p) {
    auto* c = static_cast<connection*>(p);
    if (c->close_reason.empty() && c->ac && c->ac->c.err) c->close_reason = c->ac->c.errstr;
    c->want_read = c->want_write = false;
    boost::system::error_code ignored;
    if (c->fd.is_open()) {
      c->fd.cancel(ignored);
      c->fd.release();
    }
    if (c->ac) c->ac->data = nullptr;
    c->ac = nullptr;
  }

  void arm(const connection_ptr& c) {
    if (!c->ac) return;
    if (c->want_read && !c->read_waiting) {
      c->read_waiting = true;
      c->fd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                       [weak = weak_self(), c](boost::system::error_code ec) {
                         c->read_waiting = false;
                         if (auto self = weak.lock()) self->on_ready(c, ec, true);
                       });
    }
    if (c->want_write && !c->write_waiting) {
      c->write_waiting = true;
      c->fd.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                       [weak = weak_self(), c](boost::system::error_code ec) {
                         c->write_waiting = false;
                         if (auto self = weak.lock()) self->on_ready(c, ec, false);
                       });
    }
  }

  void post_flush(const connection_ptr& c) {
    if (c->flush_posted || c->write_waiting) return;  // a write is on its way already
    c->flush_posted = true;
    boost::asio::post(strand_, [weak = weak_self(), c] {
      c->flush_posted = false;
      auto self = weak.lock();
      if (!self || !c->ac || c != self->conn_ || !c->want_write || c->write_waiting) return;
      self->handle_io(c, false);
    });
  }

  void on_ready(const connection_ptr& c, boost::system::error_code ec, bool readable) {
    if (!c->ac || c != conn_) return;  // freed meanwhile
    if (ec) {
      if (ec != boost::asio::error::operation_aborted)
        teardown(c, redis_error::connection_lost, "socket wait failed: " + ec.message());
      return;
    }
    if (readable ? !c->want_read : !c->want_write) return;
    handle_io(c, readable);
  }

  void handle_io(const connection_ptr& c, bool readable) {
    if (readable) {
      redisAsyncHandleRead(c->ac);
    } else {
      c->writing = true;
      redisAsyncHandleWrite(c->ac);
      c->writing = false;
    }
    // hiredis may have freed the context (EOF, I/O error, failed connect).
    if (!c->ac) on_closed(c);
    else arm(c);
  }

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  const redis_settings settings_;
  logger& log_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer command_timer_;
  boost::asio::steady_timer reconnect_timer_;
  std::minstd_rand rng_;

  connection_ptr conn_;
  std::shared_ptr<sentinel_client> sentinel_;  // null without redis.sentinels
  detail::link_policy policy_;
  std::string known_epoch_;              // the dataset epoch seen at the last connect
  std::string persistence_checked_for_;  // the node last checked for persistence
  bool running_ = false;
  unsigned attempt_ = 0;
  unsigned failures_logged_ = 0;
  std::uint64_t next_id_ = 0;
  std::uint64_t connect_seq_ = 0;
  std::uint64_t command_timer_seq_ = 0;
  bool command_timer_armed_ = false;

  std::atomic<bool> connected_{false};
  mutable std::mutex last_error_mutex_;
  std::string last_error_;

  gauge* connected_gauge_ = nullptr;
  gauge* pending_gauge_ = nullptr;
  counter* reconnects_ = nullptr;
  counter* data_resets_ = nullptr;
  std::array<counter*, 9> error_counters_{};
};

}  // namespace

std::shared_ptr<redis_client> redis_client::create(boost::asio::any_io_executor ex, redis_settings settings, logger& log,
                                                   metrics_registry* metrics) {
  return std::make_shared<hiredis_client>(std::move(ex), std::move(settings), log, metrics);
}

}  // namespace herald
