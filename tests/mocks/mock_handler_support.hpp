#pragma once
// What the protocol handlers of the mocks (APNs, FCM, WNS, Web Push) share:
// the request record, the transport faults, form bodies, the fault queue of
// an OAuth token endpoint and starting a core with its handler.
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tests/mocks/mock_server_core.hpp"

namespace herald::test::detail {

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
std::string url_decode(std::string_view s);
std::map<std::string, std::string> parse_form(std::string_view body);

// The record of `r` as it arrived (headers and body kept) for `device_token`.
recorded_request record_of(const incoming_request& r, std::string device_token = {});

// A refuse_stream or reset_connection fault: nothing answered, `rec` recorded
// with the reason "REFUSED_STREAM" or "RESET" (and status 0).
decision transport_fault(const mock_fault& fault, recorded_request rec);

// Faults for the next requests to one endpoint (any thread).
class fault_queue {
 public:
  void add(std::size_t n, const mock_fault& f);  // the next n requests get `f`
  std::optional<mock_fault> take();              // nullopt: no fault queued

 private:
  std::mutex mu_;
  std::deque<std::pair<mock_fault, std::size_t>> faults_;
};

// Server TLS from cert_file and key_file, listening on `port` (0: any free one).
core_settings tls_settings(const std::string& cert_file, const std::string& key_file, unsigned short port);

// A server_core whose handler is Handler(core, options), started.
template <class Handler, class Options>
std::unique_ptr<server_core> start_core(const core_settings& settings, Options options) {
  auto core = std::make_unique<server_core>(settings);
  core->set_handler(std::make_unique<Handler>(*core, std::move(options)));
  core->start();
  return core;
}

}  // namespace herald::test::detail
