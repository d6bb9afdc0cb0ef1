#include "tests/mocks/mock_handler_support.hpp"

#include <cctype>

namespace herald::test::detail {

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      out[url_decode(pair)] = "";
    } else {
      out[url_decode(pair.substr(0, eq))] = url_decode(pair.substr(eq + 1));
    }
  }
  return out;
}

recorded_request record_of(const incoming_request& r, std::string device_token) {
  recorded_request rec;
  rec.connection_id = r.connection_id;
  rec.stream_id = r.stream_id;
  rec.method = r.method;
  rec.path = r.path;
  rec.headers = r.headers;
  rec.body = r.body;
  rec.received_at = r.received_at;
  rec.device_token = std::move(device_token);
  return rec;
}

decision transport_fault(const mock_fault& fault, recorded_request rec) {
  decision d;
  d.what = fault.what;
  d.delay = fault.delay;
  rec.status = 0;
  rec.reason = fault.what == mock_fault::action::refuse_stream ? "REFUSED_STREAM" : "RESET";
  d.record = std::move(rec);
  return d;
}

core_settings tls_settings(const std::string& cert_file, const std::string& key_file, unsigned short port) {
  core_settings settings;
  settings.cert_file = cert_file;
  settings.key_file = key_file;
  settings.port = port;
  return settings;
}

void fault_queue::add(std::size_t n, const mock_fault& f) {
  if (n == 0) return;
  std::lock_guard lock(mu_);
  faults_.emplace_back(f, n);
}

std::optional<mock_fault> fault_queue::take() {
  std::lock_guard lock(mu_);
  if (faults_.empty()) return std::nullopt;
  mock_fault f = faults_.front().first;
  if (--faults_.front().second == 0) faults_.pop_front();
  return f;
}

}  // namespace herald::test::detail
