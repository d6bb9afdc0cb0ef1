#pragma once
// Authentication (docs/SECURITY.md): `Authorization: Bearer <token>` or
// `SOTicket <token>` (scheme case-insensitive), matched by SHA-256 against
// the configured token hashes in constant time. Pure: no I/O.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace herald {

struct principal {
  std::string name;
  std::vector<std::string> scopes;
  std::optional<std::int64_t> associate_id;

  bool has_scope(std::string_view scope) const;
};

enum class auth_status { ok, missing, malformed, invalid };

struct auth_outcome {
  auth_status status = auth_status::missing;
  principal who;  // valid when status == ok
};

// Holds the current token set; replace() swaps it atomically (SIGHUP reload)
// while requests on other threads keep authenticating.
class authenticator {
 public:
  explicit authenticator(auth_settings settings);

  void replace(auth_settings settings);
  // `authorization` is the raw header value ("" when absent).
  auth_outcome authenticate(std::string_view authorization) const;
  // A SOAP Credentials/Ticket value: checked like an SOTicket token.
  auth_outcome authenticate_token(std::string_view token) const;
  // True when application tokens are not configured or `token` is one of them.
  bool application_token_ok(std::string_view token) const;

 private:
  std::atomic<std::shared_ptr<const auth_settings>> settings_;
};

}  // namespace herald
