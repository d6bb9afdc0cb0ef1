// Seeds the device registry for the API benchmark: N associates with D devices
// each, written through device_registry (the same Lua upsert the API uses),
// many upserts in flight at once.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/log.hpp"
#include "store/device_registry.hpp"
#include "store/redis_client.hpp"

namespace asio = boost::asio;
using namespace herald;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: seed_devices REDIS_PORT KEY_PREFIX ASSOCIATES DEVICES_PER_ASSOCIATE [apple]\n");
    return 2;
  }
  redis_settings rs;
  rs.port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  rs.url = "redis://127.0.0.1:" + std::string(argv[1]) + "/0";
  std::string prefix = argv[2];
  int associates = std::atoi(argv[3]);
  int per = std::atoi(argv[4]);
  bool apple_only = argc > 5 && std::string(argv[5]) == "apple";  // broker bench: every device reaches the mock APNs
  asio::io_context ioc;
  logger log(log_level::warning);
  auto redis = redis_client::create(ioc.get_executor(), rs, log);
  redis->start();
  device_registry registry(redis, prefix);
  int failures = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(ioc);
        for (int i = 0; i < 500 && !redis->connected(); ++i) {
          t.expires_after(std::chrono::milliseconds(10));
          co_await t.async_wait(asio::use_awaitable);
        }
        int total = associates * per, next = 0, done = 0;
        const int window = 256;  // upserts in flight
        auto worker = [&]() -> asio::awaitable<void> {
          while (next < total) {
            int n = next++;
            device_info d;
            d.associate_id = n / per + 1;
            d.device_identifier = "bench-" + std::to_string(d.associate_id) + "-" + std::to_string(n % per);
            d.device_name = "Bench phone " + std::to_string(n % per);
            d.pocket_version = "10.2.1";
            d.language = (n % 2) ? "nb-NO" : "en-US";
            d.pns_handle = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f" + std::to_string(n % 10);
            d.platform = (!apple_only && n % 3 == 2) ? notification_platform::google : notification_platform::apple;
            d.os_version = "iOS 17.1";
            d.time_zone_id = 261;
            auto r = co_await registry.upsert(d);
            if (!r) ++failures;
            ++done;
          }
        };
        for (int w = 0; w < window; ++w) asio::co_spawn(ioc, worker(), asio::detached);
        while (done < total) {
          t.expires_after(std::chrono::milliseconds(5));
          co_await t.async_wait(asio::use_awaitable);
        }
        redis->stop();
      },
      asio::detached);
  ioc.run();
  std::printf("seeded=%d failures=%d\n", associates * per, failures);
  return failures == 0 ? 0 : 1;
}
