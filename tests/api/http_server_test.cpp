// The HTTP server on its own (no daemon): a drain that races clients hanging
// up. The drain posts "close if idle" to each connection's strand; by the time
// that runs the connection may have ended and closed its socket, and the
// drain must still complete (a throwing cancel on a closed socket once ended
// the daemon with std::terminate after a clean stop).
#include "api/server/http_server.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

namespace herald {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// One keep-alive request per connection; the answer has been read in full.
bool request_once(tcp::socket& s) {
  const std::string req = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  boost::system::error_code ec;
  asio::write(s, asio::buffer(req), ec);
  if (ec) return false;
  std::string got;
  char buf[1024];
  while (got.find("\r\n\r\nok") == std::string::npos) {
    auto n = s.read_some(asio::buffer(buf), ec);
    if (ec) return false;
    got.append(buf, n);
  }
  return got.starts_with("HTTP/1.1 200");
}

TEST(http_server, DrainWhileClientsHangUpCompletesCleanly) {
  std::FILE* quiet = std::fopen("/dev/null", "w");
  ASSERT_NE(quiet, nullptr);
  logger log(log_level::err, quiet);
  constexpr int rounds = 40;
  constexpr int clients = 16;
  int clean_drains = 0;
  for (int round = 0; round < rounds; ++round) {
    metrics_registry metrics;
    asio::io_context server_ctx;
    server_settings settings;
    settings.listen_port = 0;
    settings.threads = 2;
    request_handler handler = [](api_request&) -> asio::awaitable<api_response> {
      api_response res{boost::beast::http::status::ok, 11};
      res.body() = "ok";
      res.prepare_payload();
      co_return res;
    };
    http_server server(server_ctx.get_executor(), settings, handler, log, metrics);
    server.start();
    const auto port = server.local_port();
    ASSERT_NE(port, 0);
    auto work = asio::make_work_guard(server_ctx);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([&] { server_ctx.run(); });

    asio::io_context client_ctx;
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < clients; ++i) {
      sockets.emplace_back(client_ctx);
      sockets.back().connect({asio::ip::make_address("127.0.0.1"), port});
      ASSERT_TRUE(request_once(sockets.back())) << "round " << round << " client " << i;
    }
    // Hang up every client on one thread while the server drains on another.
    std::thread hang_up([&] {
      for (auto& s : sockets) {
        boost::system::error_code ignored;
        s.close(ignored);
      }
    });
    std::mutex m;
    std::condition_variable cv;
    bool finished = false, clean = false;
    server.async_drain(5s, [&](bool c) {
      std::lock_guard lock(m);
      finished = true;
      clean = c;
      cv.notify_all();
    });
    hang_up.join();
    {
      std::unique_lock lock(m);
      ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return finished; })) << "round " << round;
    }
    if (clean) ++clean_drains;
    EXPECT_EQ(server.open_connections(), 0u) << "round " << round;
    work.reset();
    server_ctx.stop();
    for (auto& t : threads) t.join();
  }
  // Every connection ends soon after its client hangs up: no drain needs the grace.
  EXPECT_EQ(clean_drains, rounds);
  std::fclose(quiet);
}

}  // namespace
}  // namespace herald
