// The delivery trace against a real redis-server: events per device and per
// alarm/message, newest first, capped and expiring.
#include "store/delivery_trace.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>

#include "tests/store/redis_fixture.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

delivery_event event(std::int64_t at, std::string device, std::string id, std::string outcome) {
  delivery_event e;
  e.at_ms = at;
  e.kind = "alarm";
  e.id = std::move(id);
  e.device = std::move(device);
  e.app = "pocket";
  e.outcome = std::move(outcome);
  e.action = e.outcome == "delivered" ? "delivered" : "dead_letter";
  e.status = e.outcome == "delivered" ? 200 : 400;
  e.reason = e.outcome == "delivered" ? "" : "BadDeviceToken";
  e.provider_id = "apns-" + std::to_string(at);
  return e;
}

TEST(delivery_trace_codec, round_trip_and_rejects) {
  const auto e = event(1764500000123, "phone \"1\"", "A-1", "rejected");
  const auto decoded = decode_delivery_event(encode_delivery_event(e));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->at_ms, e.at_ms);
  EXPECT_EQ(decoded->device, e.device);
  EXPECT_EQ(decoded->id, e.id);
  EXPECT_EQ(decoded->app, e.app);
  EXPECT_EQ(decoded->outcome, e.outcome);
  EXPECT_EQ(decoded->action, e.action);
  EXPECT_EQ(decoded->status, 400);
  EXPECT_EQ(decoded->reason, e.reason);
  EXPECT_EQ(decoded->provider_id, e.provider_id);
  EXPECT_FALSE(decode_delivery_event("not json"));
  EXPECT_FALSE(decode_delivery_event("[1,2]"));
  EXPECT_FALSE(decode_delivery_event(R"({"kind":"alarm"})"));  // no time
}

class delivery_trace_test : public test::redis_fixture {
 protected:
  std::vector<delivery_event> read(const std::string& subject) {
    std::optional<std::vector<delivery_event>> out;
    boost::asio::co_spawn(ioc_, read_delivery_trace(*redis_, "t", subject),
                          [&](std::exception_ptr e, std::pair<boost::system::error_code, std::vector<delivery_event>> r) {
                            if (!e && !r.first) out = std::move(r.second);
                            else out.emplace();
                          });
    EXPECT_TRUE(test::run_until(ioc_, [&] { return out.has_value(); }));
    return out.value_or(std::vector<delivery_event>{});
  }
};

TEST_F(delivery_trace_test, per_device_and_per_alarm_newest_first_capped_and_expiring) {
  const trace_settings limits{3, 1h};
  append_delivery_event(*redis_, "t", event(1000, "phone-1", "A-1", "delivered"), limits);
  append_delivery_event(*redis_, "t", event(2000, "phone-2", "A-1", "device_gone"), limits);
  for (int i = 0; i < 4; ++i) append_delivery_event(*redis_, "t", event(3000 + i, "phone-1", "B-" + std::to_string(i), "delivered"), limits);

  const auto alarm = read("alarm:A-1");
  ASSERT_EQ(alarm.size(), 2u);
  EXPECT_EQ(alarm[0].device, "phone-2");  // newest first
  EXPECT_EQ(alarm[0].outcome, "device_gone");
  EXPECT_EQ(alarm[1].device, "phone-1");

  const auto device = read("device:phone-1");
  ASSERT_EQ(device.size(), 3u);  // capped at max_events: the A-1 event and B-0 fell off
  EXPECT_EQ(device[0].id, "B-3");
  EXPECT_EQ(device[2].id, "B-1");

  EXPECT_TRUE(read("device:nobody").empty());
  const auto ttl = std::stoll(server_.cli("PTTL t:trace:device:phone-1"));
  EXPECT_GT(ttl, 3'500'000);
  EXPECT_LE(ttl, 3'600'000);
}

TEST_F(delivery_trace_test, an_event_without_a_device_goes_to_the_alarm_only) {
  auto late = event(5000, "", "L-1", "late_dropped");
  late.action = "dropped";
  append_delivery_event(*redis_, "t", late, trace_settings{});
  const auto alarm = read("alarm:L-1");
  ASSERT_EQ(alarm.size(), 1u);
  EXPECT_EQ(alarm[0].outcome, "late_dropped");
  EXPECT_EQ(alarm[0].device, "");
  EXPECT_EQ(server_.cli("EXISTS t:trace:device:"), "0\n");
}

TEST(delivery_trace_subject, kinds_and_ids) {
  EXPECT_EQ(trace_subject("device", "phone-1"), "device:phone-1");
  EXPECT_EQ(trace_subject("alarm", "APPT-1"), "alarm:APPT-1");
  EXPECT_EQ(trace_subject("message", "m"), "message:m");
  EXPECT_FALSE(trace_subject("device", ""));
  EXPECT_FALSE(trace_subject("retry", "x"));
}

}  // namespace
}  // namespace herald
