#include "store/device_registry.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>

#include "runtime/log.hpp"
#include "tests/store/io_wait.hpp"
#include "tests/support/redis_server.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

device_info make_device(std::string id, std::int64_t owner) {
  device_info d;
  d.device_identifier = std::move(id);
  d.device_name = "Anna's iPhone";
  d.pocket_version = "10.2.1";
  d.language = "nb-NO";
  d.pns_handle = "a1b2c3d4e5f6a7b8c9d0";
  d.platform = notification_platform::apple;
  d.os_version = "iOS 17.4";
  d.time_zone_id = 286;
  d.associate_id = owner;
  d.registered_at_ms = 1'732'000'000'000;
  return d;
}

class device_registry_test : public ::testing::Test {
 protected:
  std::shared_ptr<redis_client> make_client() {
    redis_settings s;
    s.url = server_.url();
    s.host = "127.0.0.1";
    s.port = server_.port();
    s.reconnect_min = 20ms;
    s.reconnect_max = 200ms;
    auto c = redis_client::create(ioc_.get_executor(), s, log_);
    c->start();
    return c;
  }

  void SetUp() override {
    ASSERT_TRUE(test::run_until(ioc_, [&] { return redis_->connected(); })) << redis_->last_error();
  }

  void TearDown() override {
    redis_->stop();
    test::drain(ioc_);
  }

  // Runs one registry coroutine to completion on the test's io_context.
  template <typename T>
  T await(boost::asio::awaitable<T> op) {
    std::optional<T> out;
    std::exception_ptr error;
    bool done = false;
    boost::asio::co_spawn(ioc_, std::move(op), [&](std::exception_ptr e, T value) {
      done = true;
      error = e;
      if (!e) out.emplace(std::move(value));
    });
    EXPECT_TRUE(test::run_until(ioc_, [&] { return done; }));
    if (error) std::rethrow_exception(error);
    if (!out) throw std::runtime_error("operation did not complete");
    return std::move(*out);
  }

  test::redis_server server_;
  boost::asio::io_context ioc_;
  logger log_{log_level::info};
  std::shared_ptr<redis_client> redis_ = make_client();
  device_registry registry_{redis_, "t"};
};

TEST_F(device_registry_test, key_names) {
  EXPECT_EQ(registry_.device_key("dev-1"), "t:device:dev-1");
  EXPECT_EQ(registry_.associate_key(919), "t:associate:919:devices");
  EXPECT_EQ(registry_.devices_key(), "t:devices");
}

TEST_F(device_registry_test, upsert_get_list_remove_count) {
  const auto dev = make_device("dev-1", 919);
  auto prev = await(registry_.upsert(dev));
  ASSERT_TRUE(prev.has_value()) << prev.error().message();
  EXPECT_FALSE(prev->has_value());

  auto got = await(registry_.get("dev-1"));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, dev);

  auto list = await(registry_.list_by_associate(919));
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), dev);

  auto n = await(registry_.count());
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1);

  // Stored as documented in docs/DATA-MODEL.md.
  EXPECT_EQ(server_.cli("GET t:device:dev-1"), encode_device_record(dev) + "\n");
  EXPECT_EQ(server_.cli("HGET t:associate:919:devices dev-1"), encode_device_record(dev) + "\n");
  EXPECT_EQ(server_.cli("SISMEMBER t:devices dev-1"), "1\n");

  // Same owner again: an update, the previous owner is the same.
  auto updated = dev;
  updated.pns_handle = "ffff";
  auto again = await(registry_.upsert(updated));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, std::optional<std::int64_t>(919));
  EXPECT_EQ(await(registry_.get("dev-1")).value()->pns_handle, "ffff");
  EXPECT_EQ(await(registry_.list_by_associate(919)).value().size(), 1u);
  EXPECT_EQ(await(registry_.count()).value(), 1);

  auto removed = await(registry_.remove("dev-1"));
  ASSERT_TRUE(removed.has_value());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(await(registry_.remove("dev-1")).value());
  EXPECT_FALSE(await(registry_.get("dev-1")).value().has_value());
  EXPECT_TRUE(await(registry_.list_by_associate(919)).value().empty());
  EXPECT_EQ(await(registry_.count()).value(), 0);
  EXPECT_EQ(server_.cli("EXISTS t:associate:919:devices"), "0\n");
}

TEST_F(device_registry_test, reregistration_by_another_associate_moves_the_device) {
  ASSERT_TRUE(await(registry_.upsert(make_device("dev-1", 919))).has_value());
  ASSERT_TRUE(await(registry_.upsert(make_device("dev-2", 919))).has_value());

  auto prev = await(registry_.upsert(make_device("dev-1", 42)));
  ASSERT_TRUE(prev.has_value());
  EXPECT_EQ(*prev, std::optional<std::int64_t>(919));

  auto old_list = await(registry_.list_by_associate(919)).value();
  ASSERT_EQ(old_list.size(), 1u);
  EXPECT_EQ(old_list[0].device_identifier, "dev-2");
  auto new_list = await(registry_.list_by_associate(42)).value();
  ASSERT_EQ(new_list.size(), 1u);
  EXPECT_EQ(new_list[0].device_identifier, "dev-1");
  EXPECT_EQ(new_list[0].associate_id, 42);
  EXPECT_EQ(await(registry_.get("dev-1")).value()->associate_id, 42);
  EXPECT_EQ(await(registry_.count()).value(), 2);

  // Removing it cleans the new owner's index.
  EXPECT_TRUE(await(registry_.remove("dev-1")).value());
  EXPECT_TRUE(await(registry_.list_by_associate(42)).value().empty());
  EXPECT_EQ(await(registry_.list_by_associate(919)).value().size(), 1u);
}

TEST_F(device_registry_test, large_associate_ids_keep_their_precision) {
  const std::int64_t big = 9'007'199'254'740'993;  // 2^53 + 1
  ASSERT_TRUE(await(registry_.upsert(make_device("dev-big", big))).has_value());
  auto prev = await(registry_.upsert(make_device("dev-big", -7)));
  ASSERT_TRUE(prev.has_value());
  EXPECT_EQ(*prev, std::optional<std::int64_t>(big));
  EXPECT_TRUE(await(registry_.list_by_associate(big)).value().empty());
  EXPECT_EQ(await(registry_.list_by_associate(-7)).value().size(), 1u);
}

TEST_F(device_registry_test, list_is_sorted_and_skips_undecodable_records) {
  for (const char* id : {"c", "a", "b"}) ASSERT_TRUE(await(registry_.upsert(make_device(id, 5))).has_value());
  server_.cli("HSET t:associate:5:devices zzz not-json");
  auto list = await(registry_.list_by_associate(5));
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].device_identifier, "a");
  EXPECT_EQ((*list)[1].device_identifier, "b");
  EXPECT_EQ((*list)[2].device_identifier, "c");
  EXPECT_TRUE(await(registry_.list_by_associate(6)).value().empty());
}

TEST_F(device_registry_test, many_associates_in_one_call_keep_order_and_sorting) {
  for (const char* id : {"c", "a"}) ASSERT_TRUE(await(registry_.upsert(make_device(id, 5))).has_value());
  ASSERT_TRUE(await(registry_.upsert(make_device("x", 7))).has_value());
  server_.cli("HSET t:associate:7:devices zzz not-json");
  auto lists = await(registry_.list_by_associates({7, 6, 5}));
  ASSERT_TRUE(lists.has_value()) << lists.error().message();
  ASSERT_EQ(lists->size(), 3u);
  ASSERT_EQ((*lists)[0].size(), 1u);  // the undecodable record is skipped
  EXPECT_EQ((*lists)[0][0].device_identifier, "x");
  EXPECT_TRUE((*lists)[1].empty());
  ASSERT_EQ((*lists)[2].size(), 2u);
  EXPECT_EQ((*lists)[2][0].device_identifier, "a");
  EXPECT_EQ((*lists)[2][1].device_identifier, "c");
  EXPECT_EQ((*lists)[2][1], make_device("c", 5));
  EXPECT_TRUE(await(registry_.list_by_associates({})).value().empty());
}

TEST_F(device_registry_test, remove_if_token_keeps_a_device_registered_again_with_a_new_token) {
  auto dev = make_device("dev-1", 919);
  ASSERT_TRUE(await(registry_.upsert(dev)).has_value());
  auto renewed = dev;
  renewed.pns_handle = "ffee";  // re-registered with a new token while a send to the old one was answered "gone"
  ASSERT_TRUE(await(registry_.upsert(renewed)).has_value());
  auto kept = await(registry_.remove_if_token("dev-1", dev.pns_handle));
  ASSERT_TRUE(kept.has_value()) << kept.error().message();
  EXPECT_EQ(*kept, remove_outcome::token_changed);
  EXPECT_EQ(await(registry_.get("dev-1")).value(), std::optional<device_info>(renewed));
  EXPECT_EQ(await(registry_.list_by_associate(919)).value().size(), 1u);
  EXPECT_EQ(await(registry_.count()).value(), 1);

  EXPECT_EQ(await(registry_.remove_if_token("dev-1", "ffee")).value(), remove_outcome::removed);
  EXPECT_FALSE(await(registry_.get("dev-1")).value().has_value());
  EXPECT_TRUE(await(registry_.list_by_associate(919)).value().empty());
  EXPECT_EQ(await(registry_.count()).value(), 0);
  EXPECT_EQ(await(registry_.remove_if_token("dev-1", "ffee")).value(), remove_outcome::not_found);
}

TEST_F(device_registry_test, update_changes_one_record_and_upsert_keeps_subscriptions) {
  ASSERT_TRUE(await(registry_.upsert(make_device("dev-1", 919))).has_value());
  auto subscribe = [](device_info& d) {
    d.subscriptions.push_back("Gold");
    return update_step::write;
  };
  auto r = await(registry_.update("dev-1", subscribe));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_TRUE(r->before && r->after);
  EXPECT_TRUE(r->before->subscriptions.empty());
  EXPECT_EQ(r->after->subscriptions, std::vector<std::string>{"Gold"});
  EXPECT_EQ(await(registry_.get("dev-1")).value()->subscriptions, std::vector<std::string>{"Gold"});
  EXPECT_EQ(await(registry_.list_by_associate(919)).value().front().subscriptions, std::vector<std::string>{"Gold"});

  // A re-registration (any fields, tags unset) keeps the subscriptions and the tags.
  ASSERT_EQ(await(registry_.set_tags("dev-1", {"NewTicket"})).value(), set_tags_outcome::updated);
  auto again = make_device("dev-1", 919);
  again.pns_handle = "ffee";
  again.subscriptions = {"ignored"};
  ASSERT_TRUE(await(registry_.upsert(again)).has_value());
  auto stored = await(registry_.get("dev-1")).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->pns_handle, "ffee");
  EXPECT_EQ(stored->subscriptions, std::vector<std::string>{"Gold"});
  EXPECT_EQ(stored->tags, std::optional<std::vector<std::string>>(std::vector<std::string>{"NewTicket"}));

  // keep and abort write nothing; the owner cannot be changed by update.
  auto keep = [](device_info& d) {
    d.subscriptions.clear();
    return update_step::keep;
  };
  EXPECT_EQ(await(registry_.update("dev-1", keep)).value().step, update_step::keep);
  EXPECT_EQ(await(registry_.get("dev-1")).value()->subscriptions, std::vector<std::string>{"Gold"});
  auto move = [](device_info& d) {
    d.associate_id = 5;
    d.subscriptions.clear();
    return update_step::write;
  };
  ASSERT_TRUE(await(registry_.update("dev-1", move)).has_value());
  EXPECT_EQ(await(registry_.get("dev-1")).value()->associate_id, 919);
  EXPECT_TRUE(await(registry_.get("dev-1")).value()->subscriptions.empty());
  EXPECT_EQ(server_.cli("HEXISTS t:associate:5:devices dev-1"), "0\n");

  EXPECT_FALSE(await(registry_.update("nope", subscribe)).value().before.has_value());
  auto too_long = [](device_info& d) {
    d.subscriptions.assign(max_device_tags + 1, "x");
    return update_step::write;
  };
  auto refused = await(registry_.update("dev-1", too_long));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), boost::system::errc::invalid_argument);
}

TEST_F(device_registry_test, scripts_survive_script_flush) {
  ASSERT_TRUE(await(registry_.upsert(make_device("dev-1", 1))).has_value());
  server_.cli("SCRIPT FLUSH");
  auto prev = await(registry_.upsert(make_device("dev-1", 2)));  // EVALSHA -> NOSCRIPT -> EVAL
  ASSERT_TRUE(prev.has_value()) << prev.error().message();
  EXPECT_EQ(*prev, std::optional<std::int64_t>(1));
  server_.cli("SCRIPT FLUSH");
  EXPECT_TRUE(await(registry_.remove("dev-1")).value());
}

TEST_F(device_registry_test, undecodable_record_is_an_error_for_get) {
  server_.cli("SET t:device:broken not-json");
  auto got = await(registry_.get("broken"));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), redis_error::unexpected_reply);
}

TEST_F(device_registry_test, rejects_devices_it_could_not_read_back) {
  auto r = await(registry_.upsert(make_device("", 1)));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), boost::system::errc::invalid_argument);
  auto big = make_device("dev-1", 1);
  big.pns_handle.assign(max_pns_handle_size + 1, 'f');
  auto r2 = await(registry_.upsert(big));
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error(), boost::system::errc::invalid_argument);
  EXPECT_EQ(await(registry_.count()).value(), 0);
}

TEST_F(device_registry_test, errors_come_back_as_results_while_redis_is_down) {
  server_.stop();
  ASSERT_TRUE(test::run_until(ioc_, [&] { return !redis_->connected(); }));
  auto up = await(registry_.upsert(make_device("dev-1", 1)));
  ASSERT_FALSE(up.has_value());
  EXPECT_EQ(up.error(), redis_error::not_connected);
  auto list = await(registry_.list_by_associate(1));
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error(), redis_error::not_connected);
  EXPECT_EQ(await(registry_.list_by_associates({1, 2})).error(), redis_error::not_connected);
  EXPECT_EQ(await(registry_.count()).error(), redis_error::not_connected);
}

}  // namespace
}  // namespace herald
