#pragma once
// Internal: TLS over a TCP socket, OpenSSL driven directly on the socket's
// non-blocking descriptor. Reads and writes go straight to the kernel, record
// after record, without a detour through the scheduler between TLS records;
// the caller awaits the socket's readiness through Asio when an operation
// says it would block. No HTTP here.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct ssl_st;

namespace boost::asio::ssl {
class context;
}

namespace herald::detail {

class tls_socket {
 public:
  // How a TLS operation ended.
  enum class io {
    done,        // complete (read: the buffer is full, more may be there)
    want_read,   // would block until the socket is readable
    want_write,  // would block until the socket is writable
    closed,      // the peer closed TLS cleanly (close_notify)
    failed,      // see error()
  };

  tls_socket(boost::asio::any_io_executor ex, std::shared_ptr<boost::asio::ssl::context> tls);
  ~tls_socket();
  tls_socket(const tls_socket&) = delete;
  tls_socket& operator=(const tls_socket&) = delete;

  // The TCP socket to connect (and to await readiness on).
  boost::asio::ip::tcp::socket& tcp() { return socket_; }

  // After the TCP connect: no delay, non-blocking, and a TLS client on the
  // descriptor that verifies the peer against the context's trust store and
  // `host` (a name, sent as SNI, or an IP literal).
  bool attach(const std::string& host, std::string& error);
  // One handshake step: done, want_read/want_write, or failed.
  io handshake();
  // The protocol the server selected by ALPN (empty: none).
  std::string_view alpn() const;
  // Reads what TLS has now, record after record, into `buf` (at most `capacity`);
  // `got` says how much. done: the buffer is full.
  io read(std::uint8_t* buf, std::size_t capacity, std::size_t& got);
  // Writes part of `data`; `written` says how much (done when > 0).
  io write(const std::uint8_t* data, std::size_t size, std::size_t& written);
  // Why the last operation failed: certificate verification, OpenSSL's
  // error queue or the socket error.
  const std::string& error() const { return error_; }

  static boost::asio::ip::tcp::socket::wait_type wait_for(io what) {
    return what == io::want_write ? boost::asio::ip::tcp::socket::wait_write : boost::asio::ip::tcp::socket::wait_read;
  }

  void close();

 private:
  io outcome(int ret, bool check_verify);

  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::socket socket_;
  ssl_st* ssl_ = nullptr;  // on socket_'s descriptor; freed with this
  std::string error_;
};

}  // namespace herald::detail
