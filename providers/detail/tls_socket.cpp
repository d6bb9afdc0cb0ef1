#include "providers/detail/tls_socket.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cerrno>
#include <climits>
#include <cstring>

#include <sys/socket.h>

namespace herald::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Why a TLS operation failed: certificate verification, the OpenSSL error
// queue of this thread, or the socket error.
std::string tls_error_text(SSL* ssl, int ssl_error) {
  if (ssl) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) return std::string("certificate: ") + X509_verify_cert_error_string(verify);
  }
  if (unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    return text;
  }
  if (ssl_error == SSL_ERROR_SYSCALL && errno != 0) return std::strerror(errno);
  return ssl_error == SSL_ERROR_SYSCALL ? "unexpected eof" : "tls error " + std::to_string(ssl_error);
}

// A BIO on a non-blocking socket descriptor that never raises SIGPIPE
// (OpenSSL's socket BIO writes with write(2); a peer that closed would kill
// the process unless SIGPIPE is ignored, which a library cannot require).
int socket_bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }
int socket_bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(socket_bio_fd(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
  return -1;
}
int socket_bio_read(BIO* b, char* buf, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(socket_bio_fd(b), buf, static_cast<std::size_t>(len), 0);
  if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(b);
  return -1;
}
long socket_bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
int socket_bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}
BIO* new_socket_bio(int fd) {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "herald socket");
    if (m) {
      BIO_meth_set_write(m, socket_bio_write);
      BIO_meth_set_read(m, socket_bio_read);
      BIO_meth_set_ctrl(m, socket_bio_ctrl);
      BIO_meth_set_create(m, socket_bio_create);
    }
    return m;
  }();
  BIO* b = method ? BIO_new(method) : nullptr;
  if (b) BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  return b;
}

}  // namespace

tls_socket::tls_socket(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls)
    : tls_(std::move(tls)), socket_(ex) {}

tls_socket::~tls_socket() {
  if (ssl_) SSL_free(ssl_);
}

bool tls_socket::attach(const std::string& host, std::string& error) {
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  ssl_ = SSL_new(tls_->native_handle());
  if (!ssl_) {
    error = tls_error_text(nullptr, SSL_ERROR_SSL);
    return false;
  }
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_read_ahead(ssl_, 1);
  BIO* bio = new_socket_bio(socket_.native_handle());
  bool ok = bio != nullptr;
  if (ok) SSL_set_bio(ssl_, bio, bio);  // the SSL owns it
  if (is_ip_literal(host)) {
    ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) == 1;
  } else {
    ok = ok && SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1 && SSL_set1_host(ssl_, host.c_str()) == 1;
  }
  if (!ok) {
    error = tls_error_text(nullptr, SSL_ERROR_SSL);
    return false;
  }
  SSL_set_connect_state(ssl_);
  return true;
}

tls_socket::io tls_socket::outcome(int ret, bool check_verify) {
  int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ) return io::want_read;
  if (err == SSL_ERROR_WANT_WRITE) return io::want_write;
  if (err == SSL_ERROR_ZERO_RETURN) {
    error_.clear();
    return io::closed;
  }
  error_ = tls_error_text(check_verify ? ssl_ : nullptr, err);
  return io::failed;
}

tls_socket::io tls_socket::handshake() {
  ERR_clear_error();
  int rv = SSL_do_handshake(ssl_);
  if (rv == 1) return io::done;
  return outcome(rv, true);
}

std::string_view tls_socket::alpn() const {
  const unsigned char* proto = nullptr;
  unsigned proto_len = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_, &proto, &proto_len);
  return proto ? std::string_view(reinterpret_cast<const char*>(proto), proto_len) : std::string_view();
}

tls_socket::io tls_socket::read(std::uint8_t* buf, std::size_t capacity, std::size_t& got) {
  got = 0;
  while (got < capacity) {
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(ssl_, buf + got, static_cast<int>(std::min<std::size_t>(capacity - got, INT_MAX)));
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    return outcome(n, false);
  }
  return io::done;
}

tls_socket::io tls_socket::write(const std::uint8_t* data, std::size_t size, std::size_t& written) {
  written = 0;
  ERR_clear_error();
  errno = 0;
  int n = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (n > 0) {
    written = static_cast<std::size_t>(n);
    return io::done;
  }
  return outcome(n, false);
}

void tls_socket::close() {
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace herald::detail
