#include "store/sentinel.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>
#include <vector>

#include "runtime/log.hpp"
#include "runtime/backoff.hpp"
#include "store/detail/resp.hpp"

namespace herald {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

std::string redis_address::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<redis_address> parse_switch_master(const std::string& message, const std::string& master_name) {
  std::istringstream in(message);
  std::string name, old_host, old_port, new_host, new_port;
  if (!(in >> name >> old_host >> old_port >> new_host >> new_port) || name != master_name) return std::nullopt;
  char* end = nullptr;
  const long port = std::strtol(new_port.c_str(), &end, 10);
  if (!end || *end != '\0' || port <= 0 || port > 65535) return std::nullopt;
  return redis_address{new_host, static_cast<std::uint16_t>(port)};
}

bool is_event_for_master(const std::string& payload, const std::string& master_name) {
  std::istringstream in(payload);
  std::string type, name;
  return (in >> type >> name) && type == "master" && name == master_name;
}

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// One TCP connection speaking RESP: commands written whole, replies parsed
// by hiredis' reader. Every operation is bounded by a deadline that closes
// the socket when it passes.
class resp_link {
 public:
  explicit resp_link(asio::any_io_executor ex) : socket_(ex), timer_(ex), reader_(redisReaderCreate()) {}
  ~resp_link() {
    if (reader_) redisReaderFree(reader_);
  }
  resp_link(const resp_link&) = delete;
  resp_link& operator=(const resp_link&) = delete;

  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

  // Arms the deadline for what follows (zero = none).
  void deadline(std::chrono::milliseconds d) {
    timer_.cancel();
    if (d.count() <= 0) return;
    timer_.expires_after(d);
    timer_.async_wait([this](error_code ec) {
      if (!ec) {
        timed_out_ = true;
        close();
      }
    });
  }
  bool timed_out() const { return timed_out_; }

  asio::awaitable<std::string> connect(const std::string& host, std::uint16_t port) {
    tcp::resolver resolver(socket_.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), tuple_awaitable);
    if (rec) co_return "cannot resolve " + host + ": " + rec.message();
    auto [cec, ep] = co_await asio::async_connect(socket_, results, tuple_awaitable);
    if (cec) co_return timed_out_ ? std::string("connect timeout") : cec.message();
    error_code ignored;  // a link reset meanwhile shows on the first command
    socket_.set_option(tcp::no_delay(true), ignored);
    co_return std::string();
  }

  // Sends a command and reads its reply; "" on success, else why not.
  asio::awaitable<std::string> command(const std::vector<std::string>& args, redis_reply& out) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    char* buf = nullptr;
    const int n = redisFormatCommandArgv(&buf, static_cast<int>(args.size()), argv.data(), lens.data());
    if (n < 0 || !buf) co_return "cannot format the command";
    std::string wire(buf, static_cast<std::size_t>(n));
    std::free(buf);
    auto [wec, written] = co_await asio::async_write(socket_, asio::buffer(wire), tuple_awaitable);
    (void)written;
    if (wec) co_return timed_out_ ? std::string("timeout") : wec.message();
    co_return co_await read(out);
  }

  // Reads the next reply (a command's or a pushed message).
  asio::awaitable<std::string> read(redis_reply& out) {
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader_, &reply) != REDIS_OK) co_return "protocol error";
      if (reply) {
        out = detail::convert_reply(static_cast<redisReply*>(reply));
        freeReplyObject(reply);
        co_return std::string();
      }
      std::array<char, 4096> buf{};
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), tuple_awaitable);
      if (ec) co_return timed_out_ ? std::string("timeout") : (ec == asio::error::eof ? "connection closed" : ec.message());
      if (redisReaderFeed(reader_, buf.data(), n) != REDIS_OK) co_return "protocol error";
    }
  }

 private:
  tcp::socket socket_;
  asio::steady_timer timer_;
  redisReader* reader_;
  bool timed_out_ = false;
};

class sentinel_client_impl final : public sentinel_client {
 public:
  sentinel_client_impl(asio::any_io_executor strand, redis_settings settings, logger& log)
      : strand_(std::move(strand)),
        settings_(std::move(settings)),
        log_(log),
        rng_(static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {}

  void discover(discover_handler handler) override {
    asio::co_spawn(strand_, do_discover(self(), std::move(handler)), asio::detached);
  }

  void watch(event_handler on_event) override {
    if (watching_) return;
    watching_ = true;
    asio::co_spawn(strand_, do_watch(self(), std::move(on_event)), asio::detached);
  }

  void stop() override {
    stopped_ = true;
    if (watch_link_) watch_link_->close();
    if (watch_wait_) watch_wait_->cancel();
  }

 private:
  std::shared_ptr<sentinel_client_impl> self() {
    return std::static_pointer_cast<sentinel_client_impl>(shared_from_this());
  }

  std::string name(std::size_t i) const {
    return redis_address{settings_.sentinels[i].host, settings_.sentinels[i].port}.to_string();
  }

  // Connects to sentinel i and authenticates; "" on success.
  asio::awaitable<std::string> open(resp_link& link, std::size_t i) {
    link.deadline(settings_.connect_timeout);
    auto why = co_await link.connect(settings_.sentinels[i].host, settings_.sentinels[i].port);
    if (!why.empty()) co_return why;
    if (!settings_.sentinel_password.empty()) {
      link.deadline(settings_.command_timeout);
      redis_reply r;
      const std::vector<std::string> auth{std::string("AUTH"), settings_.sentinel_password};
      why = co_await link.command(auth, r);
      if (!why.empty()) co_return why;
      if (r.type == redis_reply::kind::error) co_return "AUTH: " + r.str;
    }
    co_return std::string();
  }

  static asio::awaitable<void> do_discover(std::shared_ptr<sentinel_client_impl> self, discover_handler handler) {
    std::string why_all;
    const std::size_t n = self->settings_.sentinels.size();
    for (std::size_t k = 0; k < n && !self->stopped_; ++k) {
      const std::size_t i = (self->preferred_ + k) % n;
      resp_link link(self->strand_);
      std::string why = co_await self->open(link, i);
      redis_reply r;
      if (why.empty()) {
        link.deadline(self->settings_.command_timeout);
        const std::vector<std::string> ask{std::string("SENTINEL"), std::string("get-master-addr-by-name"),
                                           self->settings_.master_name};
        why = co_await link.command(ask, r);
      }
      link.deadline(std::chrono::milliseconds(0));
      link.close();
      if (why.empty()) {
        if (r.type == redis_reply::kind::array && r.elements.size() == 2) {
          const long port = std::strtol(r.elements[1].str.c_str(), nullptr, 10);
          if (port > 0 && port <= 65535) {
            self->preferred_ = i;  // ask the one that knew first next time
            handler(redis_address{r.elements[0].str, static_cast<std::uint16_t>(port)}, {});
            co_return;
          }
          why = "unexpected answer";
        } else if (r.type == redis_reply::kind::error) {
          why = r.str;
        } else {
          why = "does not know master " + self->settings_.master_name;
        }
      }
      self->log_.at(log_level::debug, "redis.sentinel_unanswered").kv("sentinel", self->name(i)).kv("reason", why);
      why_all += (why_all.empty() ? "" : "; ") + self->name(i) + ": " + why;
    }
    handler(std::nullopt, self->stopped_ ? std::string("stopped") : "no sentinel named the master (" + why_all + ")");
  }

  static asio::awaitable<void> do_watch(std::shared_ptr<sentinel_client_impl> self, event_handler on_event) {
    unsigned attempt = 0;
    std::size_t i = self->preferred_;
    asio::steady_timer wait(self->strand_);
    self->watch_wait_ = &wait;
    while (!self->stopped_) {
      auto link = std::make_shared<resp_link>(self->strand_);
      self->watch_link_ = link;
      std::string why = co_await self->open(*link, i);
      redis_reply r;
      if (why.empty()) {
        link->deadline(self->settings_.command_timeout);
        const std::vector<std::string> subscribe{std::string("SUBSCRIBE"), std::string("+switch-master"),
                                                 std::string("+try-failover")};
        why = co_await link->command(subscribe, r);
        if (why.empty() && r.type == redis_reply::kind::error) why = r.str;
        if (why.empty()) {
          const std::vector<std::string> psubscribe{std::string("PSUBSCRIBE"), std::string("-failover-abort-*")};
          why = co_await link->command(psubscribe, r);  // reads the second SUBSCRIBE confirmation
          if (why.empty() && r.type == redis_reply::kind::error) why = r.str;
        }
      }
      if (why.empty()) {
        link->deadline(std::chrono::milliseconds(0));
        attempt = 0;
        self->log_.info("redis.sentinel_subscribed").kv("sentinel", self->name(i));
        for (;;) {
          why = co_await link->read(r);
          if (!why.empty() || self->stopped_) break;
          if (r.type != redis_reply::kind::array || r.elements.empty()) continue;
          std::string channel, payload;
          if (r.elements[0].str == "message" && r.elements.size() == 3) {
            channel = r.elements[1].str;
            payload = r.elements[2].str;
          } else if (r.elements[0].str == "pmessage" && r.elements.size() == 4) {
            channel = r.elements[2].str;
            payload = r.elements[3].str;
          } else {
            continue;  // subscription confirmations
          }
          const auto& master = self->settings_.master_name;
          if (channel == "+switch-master") {
            if (auto addr = parse_switch_master(payload, master)) {
              self->log_.notice("redis.switch_master").kv("sentinel", self->name(i)).kv("master", addr->to_string());
              on_event({sentinel_event::kind::switch_master, *addr});
            }
          } else if (channel == "+try-failover" && is_event_for_master(payload, master)) {
            self->log_.notice("redis.failover_started").kv("sentinel", self->name(i)).kv("instance", payload);
            on_event({sentinel_event::kind::failover_started, {}});
          } else if (channel.rfind("-failover-abort", 0) == 0 && is_event_for_master(payload, master)) {
            self->log_.warning("redis.failover_aborted").kv("sentinel", self->name(i)).kv("event", channel);
            on_event({sentinel_event::kind::failover_aborted, {}});
          }
        }
      }
      self->watch_link_.reset();
      if (self->stopped_) break;
      self->log_.at(attempt == 0 ? log_level::warning : log_level::debug, "redis.sentinel_watch_lost")
          .kv("sentinel", self->name(i))
          .kv("reason", why);
      i = (i + 1) % self->settings_.sentinels.size();
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      wait.expires_after(
          reconnect_delay(self->settings_.reconnect_min, self->settings_.reconnect_max, attempt++, unit(self->rng_)));
      co_await wait.async_wait(tuple_awaitable);
    }
    self->watch_wait_ = nullptr;
  }

  asio::any_io_executor strand_;
  const redis_settings settings_;
  logger& log_;
  std::minstd_rand rng_;
  std::size_t preferred_ = 0;
  bool stopped_ = false;
  bool watching_ = false;
  std::shared_ptr<resp_link> watch_link_;
  asio::steady_timer* watch_wait_ = nullptr;
};

}  // namespace

std::shared_ptr<sentinel_client> sentinel_client::create(asio::any_io_executor strand, redis_settings settings,
                                                         logger& log) {
  return std::make_shared<sentinel_client_impl>(std::move(strand), std::move(settings), log);
}

}  // namespace herald
