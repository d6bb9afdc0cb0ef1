#pragma once
// A blocking HTTP/1.1 client for integration tests (Beast), keep-alive.
#include <chrono>
#include <map>
#include <string>

namespace herald::test {

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class http_client {
 public:
  http_client(std::string host, unsigned short port);
  ~http_client();
  // Sends one request on the kept-alive connection (reconnecting if needed).
  // Throws on a transport error.
  http_response request(const std::string& method, const std::string& target, const std::string& body = {},
                        const std::map<std::string, std::string>& headers = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void close();

 private:
  struct impl;
  impl* impl_;
};

}  // namespace herald::test
