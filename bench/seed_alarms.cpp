// Seeds the alarm schedule for the broker benchmark: `count` appointments,
// appointment i for associate (i % associates) + 1, written through
// redis_broker_store::put (the API's own script), then their due times set in one
// go: all at `t0_ms` (burst) or spread evenly at `rate` per second from t0_ms
// (steady). Due times are set on the schedule directly (ms precision); the
// API itself takes whole seconds.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "broker/redis/redis_broker_store.hpp"
#include "runtime/log.hpp"
#include "store/lua_script.hpp"
#include "store/redis_client.hpp"

namespace asio = boost::asio;
using namespace herald;
using namespace std::chrono;

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: seed_alarms REDIS_PORT KEY_PREFIX COUNT ASSOCIATES T0_MS burst|steady RATE\n");
    return 2;
  }
  redis_settings rs;
  rs.port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  std::string prefix = argv[2];
  long count = std::atol(argv[3]);
  long associates = std::atol(argv[4]);
  long long t0 = std::atoll(argv[5]);
  bool steady = std::string(argv[6]) == "steady";
  double rate = std::atof(argv[7]);
  asio::io_context ioc;
  logger log(log_level::warning);
  auto redis = redis_client::create(ioc.get_executor(), rs, log);
  redis->start();
  redis_broker_store store(redis, prefix, "seeder");
  long failures = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(ioc);
        for (int i = 0; i < 500 && !redis->connected(); ++i) {
          t.expires_after(milliseconds(10));
          co_await t.async_wait(asio::use_awaitable);
        }
        long next = 0, done = 0;
        auto worker = [&]() -> asio::awaitable<void> {
          while (next < count) {
            long i = next++;
            appointment a;
            a.id = "bench-" + std::to_string(i);
            a.associate_ids = {i % associates + 1};
            a.title = "Bench meeting " + std::to_string(i);
            a.location = "Room " + std::to_string(i % 50);
            a.type = "Meeting";
            a.start = time_point_cast<seconds>(system_clock::now()) + hours(24);
            a.has_alarm = true;
            a.lead_time = minutes(15);
            auto r = co_await store.put(a);
            if (!r) ++failures;
            long long due = steady ? t0 + static_cast<long long>(static_cast<double>(i) * 1000.0 / rate) : t0;
            std::vector<std::string> cmd{"ZADD", prefix + ":alarms", "XX", std::to_string(due), a.id};
            auto z = co_await redis_command(*redis, std::move(cmd));
            if (z.first) ++failures;
            ++done;
          }
        };
        for (int w = 0; w < 256; ++w) asio::co_spawn(ioc, worker(), asio::detached);
        while (done < count) {
          t.expires_after(milliseconds(5));
          co_await t.async_wait(asio::use_awaitable);
        }
        redis->stop();
      },
      asio::detached);
  ioc.run();
  std::printf("seeded_alarms=%ld failures=%ld\n", count, failures);
  return failures == 0 ? 0 : 1;
}
