#include "api/access/auth.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

token_credential credential(const std::string& name, const std::string& token, std::vector<std::string> scopes,
                            std::optional<std::int64_t> associate = std::nullopt) {
  token_credential c;
  c.name = name;
  auto hex = sha256_hex(token);
  for (std::size_t i = 0; i < 32; ++i) c.sha256[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
  c.scopes = std::move(scopes);
  c.associate_id = associate;
  return c;
}

TEST(Authenticator, BearerAndSoTicketSchemes) {
  auth_settings s;
  s.tokens.push_back(credential("crm", "secret-1", {"devices.read"}, 919));
  authenticator auth(s);
  auto a = auth.authenticate("Bearer secret-1");
  ASSERT_EQ(a.status, auth_status::ok);
  EXPECT_EQ(a.who.name, "crm");
  EXPECT_EQ(a.who.associate_id, 919);
  EXPECT_TRUE(a.who.has_scope("devices.read"));
  EXPECT_FALSE(a.who.has_scope("devices.write"));
  EXPECT_EQ(auth.authenticate("SOTicket secret-1").status, auth_status::ok);
  EXPECT_EQ(auth.authenticate("soticket   secret-1 ").status, auth_status::ok);
  EXPECT_EQ(auth.authenticate("bearer secret-2").status, auth_status::invalid);
  EXPECT_EQ(auth.authenticate("").status, auth_status::missing);
  EXPECT_EQ(auth.authenticate("Basic dGplMDpUamUw").status, auth_status::malformed);
  EXPECT_EQ(auth.authenticate("Bearer").status, auth_status::malformed);
}

TEST(Authenticator, ReplaceSwapsTheTokenSet) {
  auth_settings s;
  s.tokens.push_back(credential("old", "old-token", {}));
  authenticator auth(s);
  auth_settings n;
  n.tokens.push_back(credential("new", "new-token", {}));
  auth.replace(n);
  EXPECT_EQ(auth.authenticate("Bearer old-token").status, auth_status::invalid);
  EXPECT_EQ(auth.authenticate("Bearer new-token").who.name, "new");
}

TEST(Authenticator, ApplicationTokens) {
  auth_settings s;
  authenticator open(s);
  EXPECT_TRUE(open.application_token_ok("anything"));
  s.application_tokens = {sha256_digest("1234567-1234-9876")};
  authenticator strict(s);
  EXPECT_TRUE(strict.application_token_ok("1234567-1234-9876"));
  EXPECT_FALSE(strict.application_token_ok("1234567-1234-9877"));
}

}  // namespace
}  // namespace herald
