#include "broker/work_kind.hpp"

#include "model/text.hpp"

namespace herald {

namespace {

std::optional<std::int64_t> number(const std::map<std::string, std::string>& f, const char* name) {
  auto it = f.find(name);
  if (it == f.end()) return std::nullopt;
  return parse_integer<std::int64_t>(it->second);
}

std::string text(const std::map<std::string, std::string>& f, const char* name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

}  // namespace

stream_fields encode_work(const work& w) {
  struct encoder {
    stream_fields operator()(const alarm_work& a) const {
      return {{"kind", "alarm"}, {"id", a.appointment_id}, {"rev", std::to_string(a.revision)}, {"due", std::to_string(a.due_ms)}};
    }
    stream_fields operator()(const message_work& m) const {
      return {{"kind", "message"}, {"id", m.message_id}, {"due", std::to_string(m.due_ms)}};
    }
    stream_fields operator()(const retry_work& r) const {
      return {{"kind", "retry"},
              {"job_kind", r.job_kind},
              {"id", r.id},
              {"rev", std::to_string(r.revision)},
              {"due", std::to_string(r.due_ms)},
              {"device", r.device},
              {"attempt", std::to_string(r.attempt)},
              {"app", r.app}};
    }
  };
  return std::visit(encoder{}, w);
}

std::optional<work> decode_work(const std::map<std::string, std::string>& f) {
  const auto kind = text(f, "kind");
  const auto id = text(f, "id");
  if (id.empty()) return std::nullopt;
  auto due = number(f, "due");
  if (!due) return std::nullopt;
  if (kind == "alarm") {
    auto rev = number(f, "rev");
    if (!rev) return std::nullopt;
    return alarm_work{id, *rev, *due};
  }
  if (kind == "message") return message_work{id, *due};
  if (kind == "retry") {
    retry_work r;
    r.job_kind = text(f, "job_kind");
    if (r.job_kind != "alarm" && r.job_kind != "message") return std::nullopt;
    r.id = id;
    auto rev = number(f, "rev");
    if (!rev) return std::nullopt;
    r.revision = *rev;
    r.due_ms = *due;
    r.device = text(f, "device");
    if (r.device.empty()) return std::nullopt;
    r.attempt = static_cast<int>(number(f, "attempt").value_or(1));
    r.app = text(f, "app");
    return r;
  }
  return std::nullopt;
}

}  // namespace herald
