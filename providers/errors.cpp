#include "providers/errors.hpp"

#include <string>

namespace herald {

namespace {
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "herald.providers"; }
  std::string message(int ev) const override {
    switch (static_cast<provider_error>(ev)) {
      case provider_error::key_unreadable: return "key file unreadable";
      case provider_error::key_invalid: return "not a private key of the expected type";
      case provider_error::sign_failed: return "signing failed";
      case provider_error::service_account_invalid: return "service-account JSON invalid";
      case provider_error::bad_endpoint: return "endpoint must be https://host[:port]";
      case provider_error::not_sent: return "request not sent";
      case provider_error::connect_failed: return "connect failed";
      case provider_error::connection_lost: return "connection lost before the answer";
      case provider_error::stream_reset: return "stream reset by the server";
      case provider_error::response_timeout: return "response timeout";
      case provider_error::queue_full: return "connection queue full";
      case provider_error::response_too_large: return "response too large";
      case provider_error::shut_down: return "shut down";
    }
    return "unknown provider error";
  }
};
}  // namespace

const boost::system::error_category& provider_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace herald
