#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace herald::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct http_client::impl {
  std::string host;
  unsigned short port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

http_client::http_client(std::string host, unsigned short port) : impl_(new impl{std::move(host), port, {}, {}, {}}) {}
http_client::~http_client() {
  close();
  delete impl_;
}

void http_client::close() {
  if (impl_->stream) {
    beast::error_code ec;
    impl_->stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    impl_->stream->close();
    impl_->stream.reset();
  }
  impl_->buffer.clear();
}

http_response http_client::request(const std::string& method, const std::string& target, const std::string& body,
                                   const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  for (int attempt = 0;; ++attempt) {
    bool fresh = false;
    if (!impl_->stream) {
      impl_->stream.emplace(impl_->ioc);
      impl_->stream->expires_after(timeout);
      asio::ip::tcp::endpoint ep(asio::ip::make_address(impl_->host), impl_->port);
      impl_->stream->connect(ep);
      fresh = true;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, impl_->host);
    req.keep_alive(true);
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
    beast::error_code ec;
    impl_->stream->expires_after(timeout);
    http::write(*impl_->stream, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    if (!ec) http::read(*impl_->stream, impl_->buffer, parser, ec);
    if (ec) {
      close();
      // A kept-alive connection the server closed meanwhile: retry once on a new one.
      if (!fresh && attempt == 0 && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                                     ec == asio::error::eof || ec == asio::error::broken_pipe))
        continue;
      throw beast::system_error(ec);
    }
    auto& res = parser.get();
    http_response out;
    out.status = static_cast<int>(res.result_int());
    for (auto& f : res) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    if (!res.keep_alive()) close();
    return out;
  }
}

}  // namespace herald::test
