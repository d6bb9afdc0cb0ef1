// The APNs and FCM adapters against the validating mock servers (real TLS,
// HTTP/2 on loopback), through every fault the mocks inject. Invariants
// checked throughout: each notification gets exactly one classified result;
// nothing is lost; nothing reaches the mock twice unless the provider asked
// for a retry or the connection died before an answer (then same apns-id).
#include "providers/provider.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "providers/apns_protocol.hpp"
#include "runtime/metrics.hpp"
#include "tests/mocks/mock_push_server.hpp"
#include "tests/providers/provider_fixture.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using outcome = delivery_result::outcome;
using test::hex_token;
using test::mock_fault;

class provider_test : public test::provider_fixture {
 protected:
  // Devices from..from+count-1 and their notifications, as `device` and `note` make them.
  static void batch_of(int from, int count, std::vector<device_info>& ds, std::vector<notification>& ns,
                       device_info (*device)(int), notification (*note)(int)) {
    for (int i = from; i < from + count; ++i) {
      ds.push_back(device(i));
      ns.push_back(note(i));
    }
  }
};

// ---------------------------------------------------------------- APNs

class apns_provider_test : public provider_test {
 protected:
  apns_provider_test() : server(pki) {}
  explicit apns_provider_test(test::mock_apns_options server_options) : server(std::move(server_options)) {}

  test::mock_apns_server server;

  apns_settings settings() {
    auto s = test::apns_settings_for(pki, server.endpoint());
    s.connections = 1;
    s.response_timeout = 10s;
    return s;
  }
  push_provider* make(apns_settings s) {
    return keep(make_apns_provider(runner.io.get_executor(), "pocket", s, apns_environment::production, options()));
  }
  static device_info device(int i) {
    return test::make_device("dev-" + std::to_string(i), hex_token(i), notification_platform::apple);
  }
  static notification note(int i) {
    auto n = test::meeting_note("msg-1/dev-" + std::to_string(i));
    n.custom_json = R"({"herald":{"appointment_id":"42","event":"AppointmentAlarm"}})";
    return n;
  }
  void batch(int from, int count, std::vector<device_info>& ds, std::vector<notification>& ns) {
    batch_of(from, count, ds, ns, device, note);
  }
  // Sends devices 0..count-1 at once: each delivered with its apns-id, and
  // reaching the mock once.
  void expect_batch_delivered(push_provider& p, int count) {
    std::vector<device_info> ds;
    std::vector<notification> ns;
    batch(0, count, ds, ns);
    auto results = send_all(p, ds, ns);
    for (std::size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i].kind, outcome::delivered) << results[i].reason;
      EXPECT_EQ(results[i].http_status, 200);
      EXPECT_EQ(results[i].provider_id, apns_id_for(ns[i].delivery_id));
      EXPECT_EQ(server.count_for_token(ds[i].pns_handle), 1u);
    }
    EXPECT_EQ(server.request_count(), static_cast<std::size_t>(count));
  }
  // Nothing answered 200 twice; nothing lost.
  // Duplicates allowed only where the connection died before the answer
  // reached Herald (a reset discards answers in flight): every copy then
  // carries the same apns-id and one copy was on a connection that was reset.
  void expect_duplicates_only_after_reset() {
    std::set<std::uint64_t> reset_connections;
    for (const auto& r : server.requests())
      if (r.reason == "RESET") reset_connections.insert(r.connection_id);
    for (const auto& t : server.tokens_delivered_twice()) {
      std::set<std::string> ids;
      bool on_reset = false;
      for (const auto& r : server.requests())
        if (r.device_token == t) {
          ids.insert(r.apns_id);
          on_reset = on_reset || reset_connections.count(r.connection_id) > 0;
        }
      EXPECT_EQ(ids.size(), 1u) << t;
      EXPECT_TRUE(on_reset) << t;
    }
  }
  void expect_no_duplicates() {
    for (const auto& t : server.tokens_delivered_twice()) {
      ADD_FAILURE() << "delivered twice: " << t;
      for (const auto& r : server.requests())
        if (r.device_token == t)
          std::fprintf(stderr, "  conn=%llu stream=%d status=%d reason=%s apns_id=%s\n",
                       static_cast<unsigned long long>(r.connection_id), r.stream_id, r.status, r.reason.c_str(),
                       r.apns_id.c_str());
    }
  }
};

TEST_F(apns_provider_test, delivers_many_concurrently_through_stream_limit_1_then_raised) {
  auto provider = make(settings());
  ASSERT_TRUE(provider->state().ready) << provider->state().error;
  expect_batch_delivered(*provider, 200);
  EXPECT_EQ(server.connection_count(), 1u);
  EXPECT_GT(server.max_concurrent_streams_seen(), 1u);  // used the raised limit
  auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].header("apns-push-type"), "alert");
  EXPECT_EQ(reqs[0].header("apns-topic"), pki.apns_topic);
  EXPECT_EQ(reqs[0].header("authorization").rfind("bearer ", 0), 0u);
  // One JWT for the whole batch (never signed per request).
  for (const auto& r : reqs) EXPECT_EQ(r.header("authorization"), reqs[0].header("authorization"));
  auto text = registry.render();
  EXPECT_NE(text.find("herald_push_delivered_total{app=\"pocket\",provider=\"apns\"} 200"), std::string::npos) << text;
  EXPECT_NE(text.find("herald_push_token_refreshes_total{app=\"pocket\",provider=\"apns\"} 1"), std::string::npos);
}

TEST_F(apns_provider_test, honours_a_lowered_stream_limit) {
  server.set_max_concurrent_streams(3);
  auto provider = make(settings());
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(0, 60, ds, ns);
  for (const auto& r : send_all(*provider, ds, ns)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_LE(server.max_concurrent_streams_seen(), 3u);
  EXPECT_EQ(server.request_count(), 60u);
}

TEST_F(apns_provider_test, classifies_provider_answers_without_resending) {
  auto provider = make(settings());
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);  // warm up (raises concurrency)
  server.fail_token(hex_token(1), mock_fault::apns_unregistered(1'700'000'000'123));
  server.fail_token(hex_token(2), mock_fault::apns(400, "BadDeviceToken"));
  server.fail_token(hex_token(3), mock_fault::apns_too_many_requests());
  server.fail_token(hex_token(4), mock_fault::apns_service_unavailable(7));
  server.fail_token(hex_token(5), mock_fault::apns_invalid_provider_token());
  server.fail_token(hex_token(6), mock_fault::apns(400, "BadTopic"));
  server.fail_token(hex_token(7), mock_fault::apns(500, "InternalServerError"));
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 7, ds, ns);
  auto r = send_all(*provider, ds, ns);
  EXPECT_EQ(r[0].kind, outcome::device_gone);
  EXPECT_EQ(r[0].reason, "Unregistered");
  ASSERT_TRUE(r[0].gone_timestamp_ms);
  EXPECT_EQ(*r[0].gone_timestamp_ms, 1'700'000'000'123);
  EXPECT_EQ(r[1].kind, outcome::device_gone);
  EXPECT_EQ(r[1].reason, "BadDeviceToken");
  EXPECT_EQ(r[2].kind, outcome::retry_after);
  EXPECT_EQ(r[2].reason, "TooManyRequests");
  EXPECT_GT(r[2].retry_delay, 0ms);
  EXPECT_EQ(r[3].kind, outcome::retry_after);
  EXPECT_EQ(r[3].retry_delay, 7s);
  EXPECT_EQ(r[4].kind, outcome::config_error);
  EXPECT_EQ(r[4].reason, "InvalidProviderToken");
  EXPECT_EQ(r[5].kind, outcome::rejected);
  EXPECT_EQ(r[6].kind, outcome::retry_after);
  for (int i = 1; i <= 7; ++i) EXPECT_EQ(server.count_for_token(hex_token(i)), 1u) << i;
}

TEST_F(apns_provider_test, payload_too_large_is_rejected_locally) {
  auto provider = make(settings());
  auto n = note(0);
  n.body = std::string(5000, 'x');
  auto r = send(*provider, device(0), n);
  EXPECT_EQ(r.kind, outcome::rejected);
  EXPECT_EQ(r.reason, "PayloadTooLarge");
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(apns_provider_test, expired_provider_token_refreshes_once_and_resends_same_apns_id) {
  auto provider = make(settings());
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);
  server.fail_token(hex_token(1), mock_fault::apns_expired_provider_token());
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  auto id = apns_id_for(note(1).delivery_id);
  EXPECT_EQ(server.count_for_apns_id(id), 2u);
  EXPECT_EQ(server.delivered_count_for_apns_id(id), 1u);
  // Expired every time: refreshed once only, then an operator problem.
  server.fail_token(hex_token(2), mock_fault::apns_expired_provider_token(), SIZE_MAX);
  auto r2 = send(*provider, device(2), note(2));
  EXPECT_EQ(r2.kind, outcome::config_error);
  EXPECT_EQ(r2.reason, "ExpiredProviderToken");
  EXPECT_EQ(server.count_for_token(hex_token(2)), 2u);
}

TEST_F(apns_provider_test, refused_stream_is_resent_transparently) {
  auto provider = make(settings());
  server.fail_token(hex_token(1), mock_fault::refused_stream());
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  auto id = apns_id_for(note(1).delivery_id);
  EXPECT_EQ(server.delivered_count_for_apns_id(id), 1u);
  EXPECT_EQ(server.count_for_apns_id(id), 2u);  // the refused one was never processed
}

TEST_F(apns_provider_test, goaway_moves_unprocessed_streams_to_a_new_connection) {
  auto provider = make(settings());
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);
  server.goaway_after(10, "Shutdown");
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 60, ds, ns);
  for (const auto& r : send_all(*provider, ds, ns)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  for (const auto& d : ds) EXPECT_EQ(server.delivered_count_for_token(d.pns_handle), 1u);
  EXPECT_GE(server.connection_count(), 2u);
  expect_no_duplicates();
}

TEST_F(apns_provider_test, connection_reset_mid_stream_resends_with_same_apns_id) {
  auto provider = make(settings());
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);
  server.fail_token(hex_token(5), mock_fault::reset_connection());
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 20, ds, ns);
  for (const auto& r : send_all(*provider, ds, ns)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  auto id = apns_id_for(note(5).delivery_id);
  EXPECT_EQ(server.delivered_count_for_apns_id(id), 1u);
  EXPECT_EQ(server.count_for_apns_id(id), 2u);
  for (const auto& rq : server.requests()) {
    if (rq.device_token == hex_token(5)) {
      EXPECT_EQ(rq.apns_id, id);
    }
  }
  EXPECT_GE(server.connection_count(), 2u);
  expect_duplicates_only_after_reset();
}

TEST_F(apns_provider_test, slow_answer_times_out_as_retry_after) {
  auto s = settings();
  s.response_timeout = 300ms;
  auto provider = make(s);
  server.fail_token(hex_token(1), mock_fault::slow(1'500ms));
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "Timeout");
  EXPECT_EQ(r.provider_id, apns_id_for(note(1).delivery_id));
  // The connection stays usable.
  EXPECT_EQ(send(*provider, device(2), note(2)).kind, outcome::delivered);
}

TEST_F(apns_provider_test, idle_connection_is_kept_alive_with_pings) {
  auto o = options();
  o.idle_ping_after = 50ms;
  o.ping_timeout = 2s;
  auto provider = keep(make_apns_provider(runner.io.get_executor(), "pocket", settings(), apns_environment::production, o));
  ASSERT_EQ(send(*provider, device(1), note(1)).kind, outcome::delivered);
  std::this_thread::sleep_for(400ms);  // several PING rounds
  EXPECT_EQ(send(*provider, device(2), note(2)).kind, outcome::delivered);
  EXPECT_EQ(server.connection_count(), 1u);
}

TEST_F(apns_provider_test, pool_spreads_over_connections) {
  auto s = settings();
  s.connections = 3;
  auto provider = make(s);
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(0, 90, ds, ns);
  for (const auto& r : send_all(*provider, ds, ns)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(server.connection_count(), 3u);
}

TEST_F(apns_provider_test, mixed_faults_every_notification_one_result) {
  auto s = settings();
  s.connections = 2;
  auto provider = make(s);
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);
  server.fail_token(hex_token(3), mock_fault::refused_stream());
  server.fail_token(hex_token(7), mock_fault::reset_connection());
  server.fail_token(hex_token(11), mock_fault::apns_unregistered(5));
  server.fail_token(hex_token(13), mock_fault::apns_expired_provider_token());
  server.fail_token(hex_token(17), mock_fault::apns_service_unavailable(1));
  server.goaway_after(40);
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 150, ds, ns);
  auto results = send_all(*provider, ds, ns);
  ASSERT_EQ(results.size(), 150u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    int k = static_cast<int>(i) + 1;
    if (k == 11) {
      EXPECT_EQ(results[i].kind, outcome::device_gone);
    } else if (k == 17) {
      EXPECT_EQ(results[i].kind, outcome::retry_after);
      EXPECT_EQ(server.count_for_token(hex_token(k)), 1u);
    } else {
      EXPECT_EQ(results[i].kind, outcome::delivered) << k << " " << results[i].reason;
    }
  }
  // Resends only where the mock refused, reset, expired the token or GOAWAY'd;
  // every resend carried the same apns-id.
  for (const auto& rq : server.requests()) {
    if (server.count_for_token(rq.device_token) < 2) continue;
    for (const auto& other : server.requests()) {
      if (other.device_token == rq.device_token) {
        EXPECT_EQ(other.apns_id, rq.apns_id);
      }
    }
  }
  expect_duplicates_only_after_reset();
}

TEST_F(apns_provider_test, unreachable_endpoint_is_retry_after) {
  auto s = settings();
  s.endpoint = "https://127.0.0.1:1";
  s.connect_timeout = 1s;
  auto o = options();
  o.max_resends = 1;
  o.reconnect_backoff = {10ms, 50ms};
  auto provider = keep(make_apns_provider(runner.io.get_executor(), "pocket", s, apns_environment::production, o));
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "ConnectFailed");
  EXPECT_GT(r.retry_delay, 0ms);
}

TEST_F(apns_provider_test, untrusted_server_certificate_is_refused) {
  auto s = settings();
  s.ca_file.clear();  // the mock's CA is not in the system store
  auto o = options();
  o.max_resends = 0;
  auto provider = keep(make_apns_provider(runner.io.get_executor(), "pocket", s, apns_environment::production, o));
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "ConnectFailed");
  EXPECT_EQ(server.request_count(), 0u);
}

// ------------------------------------------------- APNs certificate auth

// The mock in client-certificate mode: the TLS client must present a
// certificate signed by the test CA; requests carry no provider token.
class apns_certificate_test : public apns_provider_test {
 protected:
  apns_certificate_test() : apns_provider_test(client_certificate_mode(test::test_pki::shared())) {}

  static test::mock_apns_options client_certificate_mode(const test::test_pki& pki) {
    auto o = test::mock_apns_options::from(pki);
    o.client_ca_file = pki.ca_file;
    return o;
  }
  apns_settings certificate_settings(const std::string& certificate_file, const std::string& password_file = {}) {
    auto s = settings();
    s.team_id.clear();
    s.key_id.clear();
    s.key_file.clear();
    s.certificate_file = certificate_file;
    s.certificate_password_file = password_file;
    return s;
  }
  // A batch through `s`: every notification delivered, without a provider token.
  void expect_delivered_with(const apns_settings& s) {
    auto provider = make(s);
    ASSERT_TRUE(provider->state().ready) << provider->state().error;
    expect_batch_delivered(*provider, 20);
    EXPECT_EQ(server.delivered_count(), 20u);
    EXPECT_EQ(server.connection_count(), 1u);
    EXPECT_EQ(server.handshake_failures(), 0u);
    for (const auto& r : server.requests()) {
      EXPECT_EQ(r.header("authorization"), "");
      EXPECT_EQ(r.header("apns-topic"), pki.apns_topic);
    }
  }
  // A provider whose connections fail is answered quickly, not after the response timeout.
  delivery_result send_without_resends(const apns_settings& s) {
    auto o = options();
    o.max_resends = 0;
    auto provider = keep(make_apns_provider(runner.io.get_executor(), "pocket", s, apns_environment::production, o));
    EXPECT_TRUE(provider->state().ready) << provider->state().error;
    return send(*provider, device(1), note(1));
  }
};

TEST_F(apns_certificate_test, pem_certificate_delivers) {
  expect_delivered_with(certificate_settings(pki.apns_cert_pem_file));
}

TEST_F(apns_certificate_test, pkcs12_with_its_password_file_delivers) {
  expect_delivered_with(certificate_settings(pki.apns_cert_p12_file, pki.apns_cert_password_file));
}

TEST_F(apns_certificate_test, pem_with_encrypted_key_and_password_file_delivers) {
  expect_delivered_with(certificate_settings(pki.apns_cert_encrypted_pem_file, pki.apns_cert_password_file));
}

TEST_F(apns_certificate_test, wrong_or_missing_password_is_a_config_error) {
  // A secret file as Herald requires it: not readable by others.
  const std::string wrong_password_file =
      test::write_secret(pki.dir, "wrong.password", "not-" + pki.apns_cert_password + "\n");
  // Never a pass phrase prompt on the terminal for the encrypted PEM key.
  for (const std::string& certificate_file : {pki.apns_cert_p12_file, pki.apns_cert_encrypted_pem_file}) {
    for (const std::string& password_file : {wrong_password_file, std::string()}) {
      auto provider = make(certificate_settings(certificate_file, password_file));
      const auto state = provider->state();
      EXPECT_FALSE(state.ready) << certificate_file << " " << password_file;
      EXPECT_EQ(state.error.rfind("certificate_file " + certificate_file + ": ", 0), 0u) << state.error;
      if (certificate_file == pki.apns_cert_p12_file) {  // OpenSSL's reason comes along
        EXPECT_NE(state.error.find("(openssl: "), std::string::npos) << state.error;
      }
      auto r = send(*provider, device(1), note(1));
      EXPECT_EQ(r.kind, outcome::config_error);
      EXPECT_EQ(r.reason, state.error);
    }
  }
  EXPECT_EQ(server.connection_count(), 0u);
}

// Old Keychain / OpenSSL 1.x exports encrypt with RC2-40, which OpenSSL 3
// reads only with its legacy module: the error says so and names the fix.
TEST_F(apns_certificate_test, legacy_rc2_pkcs12_error_names_the_fix) {
  const std::string legacy = pki.dir + "/legacy.p12";
  const std::string cmd = "openssl pkcs12 -export -legacy -in " + pki.apns_cert_pem_file + " -out " + legacy +
                          " -passout pass:" + pki.apns_cert_password + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // the openssl CLI (scripts/install-deps.sh installs it)
  auto provider = make(certificate_settings(legacy, pki.apns_cert_password_file));
  const auto state = provider->state();
  EXPECT_FALSE(state.ready);
  EXPECT_NE(state.error.find("unsupported"), std::string::npos) << state.error;
  EXPECT_NE(state.error.find("re-exporting with AES"), std::string::npos) << state.error;
  EXPECT_EQ(server.connection_count(), 0u);
}

TEST_F(apns_certificate_test, client_without_a_certificate_is_refused) {
  auto r = send_without_resends(settings());  // token auth: no client certificate
  // TLS 1.3: the client's handshake completes before the server checks the
  // certificate; its alert then closes the connection before the server's
  // SETTINGS, so the queued request was never sent.
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "NotSent");
  EXPECT_EQ(server.request_count(), 0u);
  EXPECT_GE(server.handshake_failures(), 1u);
}

TEST_F(apns_certificate_test, certificate_from_another_ca_is_refused) {
  auto other = test::test_pki::generate();
  auto r = send_without_resends(certificate_settings(other.apns_cert_pem_file));
  other.remove_files();
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "NotSent");  // as without a certificate
  EXPECT_EQ(server.request_count(), 0u);
  EXPECT_GE(server.handshake_failures(), 1u);
}

TEST_F(apns_certificate_test, topic_outside_the_certificate_is_refused_by_the_server) {
  auto s = certificate_settings(pki.apns_cert_pem_file);
  s.topic = "com.example.other";
  auto provider = make(s);
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::rejected);
  EXPECT_EQ(r.reason, "TopicDisallowed");
  EXPECT_EQ(r.http_status, 400);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests().front().reason, "TopicDisallowed");
}

// ---------------------------------------------------------------- FCM

class fcm_provider_test : public provider_test {
 protected:
  test::mock_fcm_server server{pki};

  fcm_settings settings() {
    auto s = test::fcm_settings_for(pki, server.endpoint());
    s.response_timeout = 10s;
    return s;
  }
  push_provider* make(fcm_settings s) {
    return keep(make_fcm_provider(runner.io.get_executor(), "pocket", s, options()));
  }
  static std::string token(int i) { return "fcm-token-" + std::to_string(i); }
  static device_info device(int i) {
    return test::make_device("dev-" + std::to_string(i), token(i), notification_platform::google);
  }
  static notification note(int i) {
    auto n = test::meeting_note("msg-1/dev-" + std::to_string(i));
    n.data = {{"appointment_id", "42"}};
    return n;
  }
  void batch(int from, int count, std::vector<device_info>& ds, std::vector<notification>& ns) {
    batch_of(from, count, ds, ns, device, note);
  }
};

TEST_F(fcm_provider_test, delivers_with_one_token_exchange) {
  auto provider = make(settings());
  ASSERT_TRUE(provider->state().ready) << provider->state().error;
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(0, 100, ds, ns);
  auto results = send_all(*provider, ds, ns);
  for (const auto& r : results) {
    EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
    EXPECT_EQ(r.provider_id.rfind("projects/", 0), 0u) << r.provider_id;
  }
  EXPECT_EQ(server.tokens_issued(), 1u);  // single-flight
  EXPECT_EQ(server.request_count(), 100u);
  EXPECT_TRUE(server.tokens_delivered_twice().empty());
}

TEST_F(fcm_provider_test, classifies_errors) {
  auto provider = make(settings());
  server.fail_token(token(1), mock_fault::fcm_unregistered());
  server.fail_token(token(2), mock_fault::fcm(400, "INVALID_ARGUMENT"));
  server.fail_token(token(3), mock_fault::fcm(403, "SENDER_ID_MISMATCH"));
  server.fail_token(token(4), mock_fault::fcm_quota_exceeded(std::nullopt));
  server.fail_token(token(5), mock_fault::fcm_unavailable(9));
  server.fail_token(token(6), mock_fault::fcm(401, "THIRD_PARTY_AUTH_ERROR"));
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 6, ds, ns);
  auto r = send_all(*provider, ds, ns);
  EXPECT_EQ(r[0].kind, outcome::device_gone);
  EXPECT_EQ(r[0].reason, "UNREGISTERED");
  EXPECT_EQ(r[1].kind, outcome::rejected);
  EXPECT_EQ(r[2].kind, outcome::device_gone);
  EXPECT_EQ(r[3].kind, outcome::retry_after);
  EXPECT_GE(r[3].retry_delay, 60s);
  EXPECT_EQ(r[4].kind, outcome::retry_after);
  EXPECT_EQ(r[4].retry_delay, 9s);
  EXPECT_EQ(r[5].kind, outcome::config_error);
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(server.count_for_token(token(i)), 1u);
}

TEST_F(fcm_provider_test, expired_access_token_is_refreshed_once_and_resent) {
  auto provider = make(settings());
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);
  server.expire_access_tokens();
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 20, ds, ns);
  for (const auto& r : send_all(*provider, ds, ns)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(server.tokens_issued(), 2u);
  EXPECT_TRUE(server.tokens_delivered_twice().empty());
}

TEST_F(fcm_provider_test, token_exchange_failure_is_one_result_per_notification) {
  auto provider = make(settings());
  mock_fault bad;
  bad.status = 400;
  server.fail_next_token_requests(1, bad);
  auto r = send(*provider, device(1), note(1));
  EXPECT_EQ(r.kind, outcome::config_error);
  EXPECT_EQ(server.request_count(), 0u);
  EXPECT_EQ(send(*provider, device(2), note(2)).kind, outcome::delivered);  // recovers on the next send
}

TEST_F(fcm_provider_test, transport_faults) {
  auto provider = make(settings());
  ASSERT_EQ(send(*provider, device(0), note(0)).kind, outcome::delivered);
  server.fail_token(token(2), mock_fault::refused_stream());
  server.fail_token(token(4), mock_fault::reset_connection());
  server.goaway_after(15);
  std::vector<device_info> ds;
  std::vector<notification> ns;
  batch(1, 40, ds, ns);
  for (const auto& r : send_all(*provider, ds, ns)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  std::set<std::uint64_t> reset_connections;
  for (const auto& r : server.requests())
    if (r.reason == "RESET") reset_connections.insert(r.connection_id);
  EXPECT_EQ(reset_connections.size(), 1u);
  for (const auto& d : ds) {
    auto delivered = server.delivered_count_for_token(d.pns_handle);
    EXPECT_GE(delivered, 1u) << d.pns_handle;
    if (delivered < 2) continue;
    // Only answers lost with the reset connection are sent again.
    bool on_reset = false;
    for (const auto& r : server.requests())
      on_reset = on_reset || (r.device_token == d.pns_handle && reset_connections.count(r.connection_id) > 0);
    EXPECT_TRUE(on_reset) << d.pns_handle;
    EXPECT_EQ(delivered, 2u);
  }
}

TEST_F(fcm_provider_test, static_access_token_skips_the_exchange) {
  auto o = options();
  o.fcm_access_token = "bench-token";
  auto provider = keep(make_fcm_provider(runner.io.get_executor(), "pocket", settings(), o));
  auto r = send(*provider, device(1), note(1));
  // The mock only accepts tokens it issued: a 401, refreshed once (no-op), then config_error.
  EXPECT_EQ(r.kind, outcome::config_error);
  EXPECT_EQ(server.token_requests(), 0u);
}

}  // namespace
}  // namespace herald
