#pragma once
// A small blocking HTTP/2 client (TLS, ALPN h2, nghttp2) for tests that talk
// to the mocks directly. One connection; not thread-safe; use from one thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::test {

struct h2_request {
  std::string method = "POST";
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string body;
};

struct h2_response {
  int status = 0;  // 0: no response (reset, refused, connection lost, timeout)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::uint32_t reset_code = 0;  // RST_STREAM / close error code (7 = REFUSED_STREAM)
  bool unprocessed = false;      // beyond a GOAWAY's last-stream-id, or never sent
  std::string header(std::string_view name) const;
};

class h2_test_client {
 public:
  // Connects to 127.0.0.1:port trusting ca_file (hostname 127.0.0.1 checked),
  // offering `alpn`; waits for the server's SETTINGS. Throws on failure.
  h2_test_client(unsigned short port, const std::string& ca_file, std::string alpn = "h2");
  ~h2_test_client();
  h2_test_client(const h2_test_client&) = delete;
  h2_test_client& operator=(const h2_test_client&) = delete;

  // Submits every request at once (nghttp2 holds back what exceeds the
  // server's SETTINGS_MAX_CONCURRENT_STREAMS) and waits for all outcomes.
  std::vector<h2_response> send(const std::vector<h2_request>& requests,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  h2_response send(const h2_request& request, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::uint32_t remote_max_concurrent_streams() const;
  // Reads whatever the server sent (e.g. a SETTINGS update) for up to `wait`.
  void poll(std::chrono::milliseconds wait);
  // Reads what the server sends until `done` holds (or the connection
  // closes, or `limit` passes); returns done().
  bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5));
  bool goaway_received() const;
  std::int32_t goaway_last_stream_id() const;
  bool open() const;  // false once the connection is closed or failed

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herald::test
