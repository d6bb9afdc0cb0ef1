#include "tests/mocks/h2_test_client.hpp"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <unordered_map>

namespace herald::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string h2_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

struct h2_test_client::impl {
  struct pending {
    h2_response* response = nullptr;
    const std::string* body = nullptr;
    std::size_t offset = 0;
    bool* done = nullptr;
  };

  asio::io_context ioc;
  asio::ssl::context ssl{asio::ssl::context::tls_client};
  asio::ssl::stream<tcp::socket> stream{ioc, ssl};
  nghttp2_session* session = nullptr;
  std::string authority;
  std::unordered_map<std::int32_t, pending> streams;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(64 * 1024);
  bool settings_received = false;
  bool goaway = false;
  std::int32_t goaway_last = -1;
  bool closed = false;

  ~impl() {
    if (session) nghttp2_session_del(session);
  }

  static impl& self(void* p) { return *static_cast<impl*>(p); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    auto it = self(user_data).streams.find(frame->hd.stream_id);
    if (it == self(user_data).streams.end()) return 0;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") it->second.response->status = std::stoi(v);
    it->second.response->headers.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static int on_data(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user_data) {
    auto it = self(user_data).streams.find(stream_id);
    if (it != self(user_data).streams.end()) it->second.response->body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto& s = self(user_data);
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) s.settings_received = true;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      s.goaway = true;
      s.goaway_last = frame->goaway.last_stream_id;
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
    auto& s = self(user_data);
    auto it = s.streams.find(stream_id);
    if (it == s.streams.end()) return 0;
    if (error_code != NGHTTP2_NO_ERROR) {
      it->second.response->reset_code = error_code;
      it->second.response->status = 0;
      if (error_code == NGHTTP2_REFUSED_STREAM && s.goaway && stream_id > s.goaway_last) {
        it->second.response->unprocessed = true;
      }
    }
    *it->second.done = true;
    s.streams.erase(it);
    return 0;
  }

  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int, void* user_data) {
    auto& s = self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto it = s.streams.find(frame->hd.stream_id);
    if (it == s.streams.end()) return 0;
    it->second.response->unprocessed = true;
    *it->second.done = true;
    s.streams.erase(it);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source*, void* user_data) {
    auto it = self(user_data).streams.find(stream_id);
    if (it == self(user_data).streams.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    auto& p = it->second;
    std::size_t n = std::min(length, p.body->size() - p.offset);
    std::copy_n(p.body->data() + p.offset, n, buf);
    p.offset += n;
    if (p.offset == p.body->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  void flush() {
    std::string out;
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n < 0) throw std::runtime_error("nghttp2_session_mem_send failed");
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out.empty() || closed) return;
    boost::system::error_code ec;
    asio::write(stream, asio::buffer(out), ec);
    if (ec) fail_all();
  }

  void fail_all() {
    closed = true;
    for (auto& [id, p] : streams) *p.done = true;
    streams.clear();
  }

  // Reads and processes input until pred() or the deadline.
  void pump(const std::function<bool()>& pred, std::chrono::steady_clock::time_point deadline) {
    while (!closed) {
      flush();
      if (pred() || closed) return;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return;
      bool done = false;
      boost::system::error_code ec;
      std::size_t n = 0;
      stream.async_read_some(asio::buffer(buffer), [&](boost::system::error_code e, std::size_t k) {
        ec = e;
        n = k;
        done = true;
      });
      ioc.restart();
      ioc.run_for(deadline - now);
      if (!done) {
        boost::system::error_code ignored;
        stream.next_layer().cancel(ignored);
        ioc.restart();
        ioc.run();
        return;
      }
      if (ec) {
        fail_all();
        return;
      }
      if (nghttp2_session_mem_recv(session, buffer.data(), n) < 0) {
        flush();
        fail_all();
        return;
      }
    }
  }
};

h2_test_client::h2_test_client(unsigned short port, const std::string& ca_file, std::string alpn)
    : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.ssl.load_verify_file(ca_file);
  // The stream's SSL* already exists: per-connection settings go on it, not on the context.
  m.stream.set_verify_mode(asio::ssl::verify_peer);
  std::string wire(1, static_cast<char>(alpn.size()));
  wire += alpn;
  SSL_set_alpn_protos(m.stream.native_handle(), reinterpret_cast<const unsigned char*>(wire.data()),
                      static_cast<unsigned>(wire.size()));
  m.stream.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  m.stream.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  m.stream.next_layer().set_option(tcp::no_delay(true));
  m.stream.handshake(asio::ssl::stream_base::client);
  const unsigned char* proto = nullptr;
  unsigned proto_len = 0;
  SSL_get0_alpn_selected(m.stream.native_handle(), &proto, &proto_len);
  if (std::string_view(reinterpret_cast<const char*>(proto), proto ? proto_len : 0) != "h2") {
    throw std::runtime_error("server did not select h2");
  }
  m.authority = "127.0.0.1:" + std::to_string(port);

  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, impl::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, impl::on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, impl::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, impl::on_frame_not_send);
  nghttp2_session_client_new(&m.session, cbs, &m);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry iv{NGHTTP2_SETTINGS_ENABLE_PUSH, 0};
  nghttp2_submit_settings(m.session, NGHTTP2_FLAG_NONE, &iv, 1);
  m.pump([&] { return m.settings_received; }, std::chrono::steady_clock::now() + std::chrono::seconds(5));
  if (!m.settings_received) throw std::runtime_error("no SETTINGS from server");
}

h2_test_client::~h2_test_client() = default;

std::vector<h2_response> h2_test_client::send(const std::vector<h2_request>& requests,
                                              std::chrono::milliseconds timeout) {
  auto& m = *impl_;
  std::vector<h2_response> responses(requests.size());
  std::unique_ptr<bool[]> done(new bool[requests.size()]());
  std::size_t submitted = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (m.closed) {
      done[i] = true;
      responses[i].unprocessed = true;
      continue;
    }
    std::vector<std::pair<std::string, std::string>> fields{
        {":method", r.method}, {":scheme", "https"}, {":authority", m.authority}, {":path", r.path}};
    fields.insert(fields.end(), r.headers.begin(), r.headers.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : fields) {
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()), k.size(),
                               v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    provider.read_callback = impl::read_body;
    int32_t id = nghttp2_submit_request(m.session, nullptr, nva.data(), nva.size(),
                                        r.body.empty() ? nullptr : &provider, nullptr);
    if (id < 0) {
      done[i] = true;
      responses[i].unprocessed = true;
      continue;
    }
    m.streams[id] = impl::pending{&responses[i], &r.body, 0, &done[i]};
    ++submitted;
  }
  const std::size_t n = requests.size();
  m.pump([&] { return std::all_of(done.get(), done.get() + n, [](bool b) { return b; }); },
         std::chrono::steady_clock::now() + timeout);
  // Whatever is still open timed out: forget it so callbacks never see dangling pointers.
  for (auto it = m.streams.begin(); it != m.streams.end();) {
    if (it->second.response >= responses.data() && it->second.response < responses.data() + n) {
      nghttp2_session_set_stream_user_data(m.session, it->first, nullptr);
      it = m.streams.erase(it);
    } else {
      ++it;
    }
  }
  (void)submitted;
  return responses;
}

h2_response h2_test_client::send(const h2_request& request, std::chrono::milliseconds timeout) {
  return std::move(send(std::vector<h2_request>{request}, timeout).front());
}

std::uint32_t h2_test_client::remote_max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(impl_->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

void h2_test_client::poll(std::chrono::milliseconds wait) {
  impl_->pump([] { return false; }, std::chrono::steady_clock::now() + wait);
}

bool h2_test_client::poll_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  impl_->pump(done, std::chrono::steady_clock::now() + limit);
  return done();
}

bool h2_test_client::goaway_received() const { return impl_->goaway; }
std::int32_t h2_test_client::goaway_last_stream_id() const { return impl_->goaway_last; }
bool h2_test_client::open() const { return !impl_->closed; }

}  // namespace herald::test
