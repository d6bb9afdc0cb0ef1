// HTTP details of the server and the API, against the real daemon: HEAD,
// the head timeout on kept-alive connections, the per-client connection
// limit, what /readyz tells without a credential, and date bounds.
#include "tests/api/daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <functional>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace herald::test {
namespace {

const std::string admin_token = "admin-token";  // service, admin.read + appointments
const std::string crm_token = "crm-token";      // associate 919, no admin.read

// A raw loopback connection with a receive timeout (bounded reads).
class raw_connection {
 public:
  explicit raw_connection(unsigned short port, std::chrono::seconds recv_timeout = std::chrono::seconds(10)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{static_cast<time_t>(recv_timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~raw_connection() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Reads until `done(received)` or the peer closes (returns "closed") or the timeout ("timeout").
  std::string read_until(const std::function<bool(const std::string&)>& done, std::string* status = nullptr) {
    std::string got;
    char buf[4096];
    for (;;) {
      if (done(got)) {
        if (status) *status = "done";
        return got;
      }
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) {
        if (status) *status = "closed";
        return got;
      }
      if (n < 0) {
        if (status) *status = (errno == EAGAIN || errno == EWOULDBLOCK) ? "timeout" : "closed";
        return got;
      }
      got.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class http_hardening : public herald_daemon_fixture {
 protected:
  std::vector<test_token> tokens() const override {
    return {{"admin", admin_token, "admin.read, appointments.read, appointments.write", ""},
            {"crm", crm_token, "appointments.read, appointments.write", "919"}};
  }
  std::string server_config() const override {
    return "  header_timeout: 300ms\n  idle_timeout: 60s\n  max_connections_per_client: 3\n";
  }
  std::map<std::string, std::string> auth(const std::string& token) {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  }
};

TEST_F(http_hardening, HeadAnswersHeadersOnly) {
  raw_connection c(port_);
  ASSERT_TRUE(c.connected());
  // HEAD then GET pipelined on one connection: the GET's answer must follow the HEAD's headers directly.
  ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string status;
  auto got = c.read_until([](const std::string&) { return false; }, &status);
  ASSERT_EQ(status, "closed") << got;
  auto first_end = got.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << got;
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_NE(got.substr(0, first_end).find("Content-Length: 18"), std::string::npos) << got;  // {"status":"alive"}
  EXPECT_EQ(got.substr(first_end + 4).rfind("HTTP/1.1 200", 0), 0u) << "the HEAD answer carried a body: " << got;
  EXPECT_EQ(got.substr(first_end + 4).find("\r\n\r\n{\"status\":\"alive\"}"), got.substr(first_end + 4).find("\r\n\r\n"));
}

TEST_F(http_hardening, KeptAliveRequestHeadMustArriveWithinHeaderTimeout) {
  raw_connection c(port_, std::chrono::seconds(20));
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = c.read_until([](const std::string& s) { return s.find("alive\"}") != std::string::npos; });
  ASSERT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  // The second request's head starts and never ends: closed after header_timeout (300ms), not idle_timeout (60s).
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  std::string status;
  c.read_until([](const std::string&) { return false; }, &status);
  EXPECT_EQ(status, "closed") << "a kept-alive connection held an unfinished head past the 20 s receive timeout";
}

TEST_F(http_hardening, ConnectionsPerClientAreBounded) {
  std::vector<std::unique_ptr<raw_connection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<raw_connection>(port_));
    ASSERT_TRUE(open.back()->connected());
    ASSERT_TRUE(open.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = open.back()->read_until([](const std::string& s) { return s.find("alive\"}") != std::string::npos; });
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  }
  raw_connection fourth(port_);
  ASSERT_TRUE(fourth.connected());  // accepted by the kernel, closed by Herald at once
  fourth.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string status;
  auto got = fourth.read_until([](const std::string&) { return false; }, &status);
  EXPECT_EQ(status, "closed");
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
  // Once one closes, a new connection is served.
  open.pop_back();
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    raw_connection again(port_);
    again.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    served = again.read_until([](const std::string&) { return false; }).find("HTTP/1.1 200") != std::string::npos;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST_F(http_hardening, ReadyzShowsReasonsOnlyToAdminRead) {
  redis_.stop();
  http_response r;
  for (int i = 0; i < 500; ++i) {
    r = client().request("GET", "/readyz");
    if (r.status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("\"redis\":{\"ok\":false}"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("reason"), std::string::npos) << r.body;
  EXPECT_EQ(client().request("GET", "/readyz?verbose").status, 401);
  EXPECT_EQ(client().request("GET", "/readyz?verbose", "", auth(crm_token)).status, 403);
  auto verbose = client().request("GET", "/readyz?verbose", "", auth(admin_token));
  EXPECT_EQ(verbose.status, 503);
  EXPECT_NE(verbose.body.find("\"reason\""), std::string::npos) << verbose.body;
  // The reason went to the log once.
  EXPECT_NE(daemon_->output().find("readiness.failed"), std::string::npos);
  redis_.start();
}

TEST_F(http_hardening, DatesOutsideYearsOneToNineThousandAndLongLeadTimesAre400) {
  auto put = [&](const std::string& id, const std::string& start, const std::string& lead) {
    return client().request("PUT", "/api/v1/appointments/" + id,
                            R"({"AssociateIds":[919],"Title":"T","StartDate":")" + start + R"(","HasAlarm":true,"AlarmLeadTime":")" +
                                lead + "\"}",
                            auth(admin_token));
  };
  auto year0 = put("y0", "0000-01-01T00:30:00+01:00", "00:15:00");
  EXPECT_EQ(year0.status, 400) << year0.body;
  EXPECT_EQ(put("y10000", "9999-12-31T23:30:00-01:00", "00:15:00").status, 400);
  EXPECT_EQ(put("lead", "2030-01-01T10:00:00Z", "366.00:00:01").status, 400);
  auto ok = put("ok", "2030-01-01T10:00:00Z", "365.23:59:59");
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(client().request("GET", "/api/v1/appointments/ok", "", auth(admin_token)).status, 200);
  EXPECT_EQ(client().request("GET", "/api/v1/appointments/y0", "", auth(admin_token)).status, 404);
}

}  // namespace
}  // namespace herald::test
