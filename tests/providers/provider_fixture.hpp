#pragma once
// What the provider tests against the mock servers share: the io_context
// thread the providers (or the router's caller) run on, sending through a
// provider and waiting for every result, the devices and notifications they
// send and the settings that point an adapter at a mock.
#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "providers/provider.hpp"
#include "runtime/metrics.hpp"
#include "tests/mocks/mock_push_server.hpp"

namespace herald::test {

// One io_context on its own thread; thread_id is that thread's.
class io_thread {
 public:
  io_thread() : guard_(io.get_executor()), thread_([this] { io.run(); }) {
    std::promise<std::thread::id> id;
    auto f = id.get_future();
    boost::asio::post(io, [&id] { id.set_value(std::this_thread::get_id()); });
    thread_id = f.get();
  }
  ~io_thread() { stop(); }
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;

  void stop() {
    guard_.reset();
    io.stop();
    if (thread_.joinable()) thread_.join();
  }
  boost::asio::io_context io;
  std::thread::id thread_id;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Every result, waiting up to 30 s for each: a send that never ends is a
// failure (nothing may be lost) and stands as an empty result.
inline std::vector<delivery_result> wait_all(std::vector<std::future<delivery_result>>& futures) {
  using namespace std::chrono_literals;
  std::vector<delivery_result> out;
  for (auto& f : futures) {
    if (f.wait_for(30s) != std::future_status::ready) {
      ADD_FAILURE() << "a notification never got a result";
      out.emplace_back();
      continue;
    }
    out.push_back(f.get());
  }
  return out;
}

inline boost::asio::awaitable<delivery_result> send_one(push_provider* p, device_info d, notification n) {
  co_return co_await p->async_send(d, n);
}

// An APNs device token: 64 hex digits of first + i.
inline std::string hex_token(int i, int first = 0xabc000) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", first + i);
  return buf;
}

inline device_info make_device(std::string id, std::string handle, notification_platform platform) {
  device_info d;
  d.device_identifier = std::move(id);
  d.pns_handle = std::move(handle);
  d.platform = platform;
  return d;
}

// The appointment alarm the APNs and FCM tests send.
inline notification meeting_note(std::string delivery_id) {
  notification n;
  n.title = "Meeting";
  n.body = "Starts at 14:00";
  n.delivery_id = std::move(delivery_id);
  return n;
}

// A secret file as Herald requires it (not readable by others); its path.
inline std::string write_secret(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

// APNs token auth against the mock at `endpoint`, trusting the test CA.
inline apns_settings apns_settings_for(const test_pki& pki, std::string endpoint) {
  apns_settings s;
  s.team_id = pki.apns_team_id;
  s.key_id = pki.apns_key_id;
  s.key_file = pki.apns_p8_file;
  s.topic = pki.apns_topic;
  s.endpoint = std::move(endpoint);
  s.ca_file = pki.ca_file;
  s.connect_timeout = std::chrono::seconds(5);
  return s;
}

// FCM with the test service account against the mock at `endpoint`.
inline fcm_settings fcm_settings_for(const test_pki& pki, std::string endpoint) {
  fcm_settings s;
  s.service_account_file = pki.fcm_service_account_file;
  s.endpoint = std::move(endpoint);
  s.ca_file = pki.ca_file;
  s.connect_timeout = std::chrono::seconds(5);
  return s;
}

// Providers on their own io_context thread with a metrics registry.
class provider_fixture : public ::testing::Test {
 protected:
  const test_pki& pki = test_pki::shared();
  io_thread runner;
  metrics_registry registry;
  std::vector<std::unique_ptr<push_provider>> providers;

  // Providers are destroyed after their io_context thread stopped (a provider
  // is only touched from its executor).
  void TearDown() override {
    runner.stop();
    providers.clear();
  }
  push_provider* keep(std::unique_ptr<push_provider> p) {
    providers.push_back(std::move(p));
    return providers.back().get();
  }

  provider_options options() {
    provider_options o;
    o.metrics = make_metrics_listener(registry);
    o.random = make_random_source(7);
    return o;
  }

  // Sends ns[i] to devices[i], all at once; every send must end (nothing lost).
  std::vector<delivery_result> send_all(push_provider& p, const std::vector<device_info>& devices,
                                        const std::vector<notification>& ns) {
    std::vector<std::future<delivery_result>> futures;
    for (std::size_t i = 0; i < devices.size(); ++i)
      futures.push_back(boost::asio::co_spawn(runner.io, send_one(&p, devices[i], ns[i]), boost::asio::use_future));
    return wait_all(futures);
  }
  // The same notification to every device.
  std::vector<delivery_result> send_all(push_provider& p, const std::vector<device_info>& devices, const notification& n) {
    return send_all(p, devices, std::vector<notification>(devices.size(), n));
  }
  delivery_result send(push_provider& p, const device_info& d, const notification& n) {
    return send_all(p, std::vector<device_info>{d}, std::vector<notification>{n}).front();
  }
};

}  // namespace herald::test
