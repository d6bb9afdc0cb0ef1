// apps.<id>.wns and apps.<id>.webpush: keys, defaults, errors naming the key,
// and the effective configuration loading again.
#include "config/config.hpp"
#include "tests/config/config_fixture.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace herald {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Every test starts with a WNS client secret and a VAPID key in place.
class platform_config_test : public config_dir_test {
 protected:
  void SetUp() override {
    config_dir_test::SetUp();
    write("wns-secret", "s3cret\n");
    write("vapid.pem", "key");
  }
};

const std::string wns_ok =
    "    wns:\n      client_id: ms-app://s-1-15-2-1\n      client_secret_file: wns-secret\n"
    "      token_endpoint: https://login.microsoftonline.com/contoso/oauth2/v2.0/token\n";
const std::string webpush_ok = "    webpush:\n      vapid_private_key_file: vapid.pem\n      subject: mailto:ops@example.com\n";

TEST_F(platform_config_test, WnsAndWebPushAloneMakeAnAppWithDefaults) {
  const config cfg = load("apps:\n  pocket:\n" + wns_ok + webpush_ok);
  ASSERT_EQ(cfg.apps.size(), 1u);
  ASSERT_TRUE(cfg.apps[0].wns);
  const auto& w = *cfg.apps[0].wns;
  EXPECT_EQ(w.client_id, "ms-app://s-1-15-2-1");
  EXPECT_EQ(w.client_secret_file, (dir_ / "wns-secret").string());
  EXPECT_EQ(w.token_endpoint, "https://login.microsoftonline.com/contoso/oauth2/v2.0/token");
  EXPECT_EQ(w.scope, "");
  EXPECT_TRUE(w.allowed_hosts.empty());  // the provider's default: *.notify.windows.com
  EXPECT_EQ(w.connections, 4);
  EXPECT_EQ(w.response_timeout, 30s);
  ASSERT_TRUE(cfg.apps[0].webpush);
  const auto& p = *cfg.apps[0].webpush;
  EXPECT_EQ(p.vapid_private_key_file, (dir_ / "vapid.pem").string());
  EXPECT_EQ(p.subject, "mailto:ops@example.com");
  EXPECT_EQ(p.ttl, 86'400s);
  EXPECT_EQ(p.urgency, "high");
  EXPECT_EQ(p.connections, 2);
  EXPECT_FALSE(cfg.apps[0].apns);
}

TEST_F(platform_config_test, EveryKeyIsRead) {
  write("ca.pem", "ca", 0644);
  const config cfg = load("apps:\n  pocket:\n" + wns_ok +
                          "      scope: notify.windows.com\n      allowed_hosts: [\"*.Notify.Windows.com\", 127.0.0.1]\n"
                          "      ca_file: ca.pem\n      connections: 8\n      connect_timeout: 2s\n      response_timeout: 5s\n" +
                          webpush_ok +
                          "      allowed_hosts: [fcm.googleapis.com]\n      ttl: 1h\n      urgency: normal\n"
                          "      connections: 3\n      ca_file: ca.pem\n");
  const auto& w = *cfg.apps[0].wns;
  EXPECT_EQ(w.scope, "notify.windows.com");
  EXPECT_EQ(w.allowed_hosts, (std::vector<std::string>{"*.notify.windows.com", "127.0.0.1"}));
  EXPECT_EQ(w.connections, 8);
  EXPECT_EQ(w.connect_timeout, 2s);
  EXPECT_EQ(w.ca_file, (dir_ / "ca.pem").string());
  const auto& p = *cfg.apps[0].webpush;
  EXPECT_EQ(p.allowed_hosts, (std::vector<std::string>{"fcm.googleapis.com"}));
  EXPECT_EQ(p.ttl, 3600s);
  EXPECT_EQ(p.urgency, "normal");
  EXPECT_EQ(p.connections, 3);

  const config again = load(describe_effective(cfg));
  ASSERT_TRUE(again.apps[0].wns && again.apps[0].webpush);
  EXPECT_EQ(again.apps[0].wns->allowed_hosts, w.allowed_hosts);
  EXPECT_EQ(again.apps[0].wns->token_endpoint, w.token_endpoint);
  EXPECT_EQ(again.apps[0].webpush->ttl, p.ttl);
  EXPECT_EQ(again.apps[0].webpush->urgency, p.urgency);
}

TEST_F(platform_config_test, ErrorsNameTheKey) {
  EXPECT_EQ(error_of("apps:\n  pocket:\n    wns:\n      client_secret_file: wns-secret\n").key(),
            "apps.pocket.wns.client_id");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    wns:\n      client_id: x\n      client_secret_file: wns-secret\n").key(),
            "apps.pocket.wns.token_endpoint");
  EXPECT_EQ(error_of("apps:\n  pocket:\n" + wns_ok.substr(0, wns_ok.find("      token_endpoint")) +
                     "      token_endpoint: http://login.live.com/accesstoken.srf\n")
                .key(),
            "apps.pocket.wns.token_endpoint");
  write("open-secret", "x", 0644);
  EXPECT_EQ(error_of("apps:\n  pocket:\n    wns:\n      client_id: x\n      client_secret_file: open-secret\n"
                     "      token_endpoint: https://login.live.com/accesstoken.srf\n")
                .key(),
            "apps.pocket.wns.client_secret_file");
  EXPECT_EQ(error_of("apps:\n  pocket:\n" + wns_ok + "      allowed_hosts: [\"bad host/\"]\n").key(),
            "apps.pocket.wns.allowed_hosts[0]");
  EXPECT_EQ(error_of("apps:\n  pocket:\n" + wns_ok + "      allowed_hosts: []\n").key(), "apps.pocket.wns.allowed_hosts");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    webpush:\n      subject: mailto:x@y\n").key(),
            "apps.pocket.webpush.vapid_private_key_file");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    webpush:\n      vapid_private_key_file: vapid.pem\n").key(),
            "apps.pocket.webpush.subject");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    webpush:\n      vapid_private_key_file: vapid.pem\n      subject: ops\n").key(),
            "apps.pocket.webpush.subject");
  EXPECT_EQ(error_of("apps:\n  pocket:\n" + webpush_ok + "      urgency: urgent\n").key(), "apps.pocket.webpush.urgency");
  EXPECT_EQ(error_of("apps:\n  pocket:\n" + webpush_ok + "      ttl: 60d\n").key(), "apps.pocket.webpush.ttl");
  EXPECT_EQ(error_of("apps:\n  pocket:\n" + webpush_ok + "      vapid: x\n").key(), "apps.pocket.webpush.vapid");
}

}  // namespace
}  // namespace herald
