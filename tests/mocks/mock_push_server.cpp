// The public face shared by both mocks: lifecycle, record queries, faults.
#include "tests/mocks/mock_push_server.hpp"

#include "tests/mocks/mock_server_core.hpp"

namespace herald::test {

std::string recorded_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

mock_fault mock_fault::apns(int status, std::string reason) {
  mock_fault f;
  f.status = status;
  f.reason = std::move(reason);
  return f;
}
mock_fault mock_fault::apns_unregistered(std::int64_t timestamp_ms) {
  mock_fault f = apns(410, "Unregistered");
  f.timestamp_ms = timestamp_ms;
  return f;
}
mock_fault mock_fault::apns_too_many_requests() { return apns(429, "TooManyRequests"); }
mock_fault mock_fault::apns_service_unavailable(int retry_after_seconds) {
  mock_fault f = apns(503, "ServiceUnavailable");
  f.retry_after_seconds = retry_after_seconds;
  return f;
}
mock_fault mock_fault::apns_expired_provider_token() { return apns(403, "ExpiredProviderToken"); }
mock_fault mock_fault::apns_invalid_provider_token() { return apns(403, "InvalidProviderToken"); }

mock_fault mock_fault::fcm(int status, std::string error_code) { return apns(status, std::move(error_code)); }
mock_fault mock_fault::fcm_unregistered() { return fcm(404, "UNREGISTERED"); }
mock_fault mock_fault::fcm_quota_exceeded(std::optional<int> retry_after_seconds) {
  mock_fault f = fcm(429, "QUOTA_EXCEEDED");
  f.retry_after_seconds = retry_after_seconds;
  return f;
}
mock_fault mock_fault::fcm_unavailable(std::optional<int> retry_after_seconds) {
  mock_fault f = fcm(503, "UNAVAILABLE");
  f.retry_after_seconds = retry_after_seconds;
  return f;
}
mock_fault mock_fault::fcm_unauthenticated() { return fcm(401, ""); }

mock_fault mock_fault::refused_stream() {
  mock_fault f;
  f.what = action::refuse_stream;
  f.status = 0;
  return f;
}
mock_fault mock_fault::reset_connection() {
  mock_fault f;
  f.what = action::reset_connection;
  f.status = 0;
  return f;
}
mock_fault mock_fault::slow(std::chrono::milliseconds delay) {
  mock_fault f;
  f.delay = delay;
  return f;
}

mock_push_server::mock_push_server(std::unique_ptr<detail::server_core> core) : core_(std::move(core)) {}
mock_push_server::~mock_push_server() { stop(); }

unsigned short mock_push_server::port() const { return core_->port(); }
std::string mock_push_server::endpoint() const { return "https://127.0.0.1:" + std::to_string(port()); }
void mock_push_server::stop() { core_->stop(); }

std::vector<recorded_request> mock_push_server::requests() const { return core_->requests(); }
std::size_t mock_push_server::request_count() const { return core_->request_count(); }
std::size_t mock_push_server::count_for_token(std::string_view device_token) const {
  return core_->count(core_->by_token, device_token);
}
std::size_t mock_push_server::delivered_count_for_token(std::string_view device_token) const {
  return core_->count(core_->delivered_by_token, device_token);
}
std::size_t mock_push_server::count_for_apns_id(std::string_view apns_id) const {
  return core_->count(core_->by_apns_id, apns_id);
}
std::size_t mock_push_server::delivered_count_for_apns_id(std::string_view apns_id) const {
  return core_->count(core_->delivered_by_apns_id, apns_id);
}
std::size_t mock_push_server::delivered_count() const {
  std::lock_guard lock(core_->mu);
  return core_->delivered;
}
std::vector<std::string> mock_push_server::tokens_delivered_twice() const {
  std::lock_guard lock(core_->mu);
  std::vector<std::string> out;
  for (const auto& [token, n] : core_->delivered_by_token) {
    if (n > 1) out.push_back(token);
  }
  return out;
}
bool mock_push_server::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  return core_->wait_for_requests(n, timeout);
}
std::size_t mock_push_server::connection_count() const { return core_->connections_accepted.load(); }
std::size_t mock_push_server::handshake_failures() const { return core_->handshake_failures.load(); }
std::size_t mock_push_server::open_connection_count() const { return core_->connections_open.load(); }
std::uint32_t mock_push_server::max_concurrent_streams_seen() const { return core_->max_concurrent_seen.load(); }
std::size_t mock_push_server::protocol_errors() const { return core_->protocol_errors.load(); }
std::size_t mock_push_server::refused_streams() const { return core_->refused_streams.load(); }
void mock_push_server::clear_requests() { core_->clear_requests(); }
void mock_push_server::set_record_limit(std::size_t n) {
  std::lock_guard lock(core_->mu);
  core_->record_limit = n;
}

void mock_push_server::fail_next(std::size_t n, const mock_fault& f) { core_->fail_next(n, f); }
void mock_push_server::fail_token(const std::string& device_token, const mock_fault& f, std::size_t times) {
  core_->fail_token(device_token, f, times);
}
void mock_push_server::clear_faults() { core_->clear_faults(); }
void mock_push_server::set_response_delay(std::chrono::milliseconds d) { core_->response_delay_ms = d.count(); }
void mock_push_server::goaway_after(std::size_t n, std::string reason) { core_->arm_goaway(n, std::move(reason)); }
void mock_push_server::goaway_now(std::string reason) { core_->goaway_now(std::move(reason)); }
void mock_push_server::set_max_concurrent_streams(std::uint32_t n) { core_->set_max_concurrent_streams(n); }

}  // namespace herald::test
