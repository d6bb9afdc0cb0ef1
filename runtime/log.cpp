#include "runtime/log.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <ctime>

namespace herald {

namespace {
constexpr std::array<std::string_view, 8> level_names{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out.push_back('?');
        else out.push_back(c);
    }
  }
  out.push_back('"');
}
}  // namespace

std::string_view to_string(log_level level) { return level_names[static_cast<std::size_t>(level)]; }

std::optional<log_level> parse_log_level(std::string_view text) {
  for (std::size_t i = 0; i < level_names.size(); ++i)
    if (level_names[i] == text) return static_cast<log_level>(i);
  if (text == "error") return log_level::err;
  if (text == "warn") return log_level::warning;
  return std::nullopt;
}

std::string shorten_token(std::string_view token) {
  if (token.size() <= 12) return std::string(token.substr(0, token.size() / 2)) + "…";
  return std::string(token.substr(0, 6)) + "…" + std::string(token.substr(token.size() - 4));
}

log_record::log_record(logger* owner, log_level level, std::string_view event) : owner_(owner) {
  if (!owner_) return;
  line_.reserve(160);
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  line_.append("ts=").append(ts).append(" level=").append(to_string(level)).append(" event=");
  append_value(line_, event);
  level_ = level;
}

log_record::~log_record() {
  if (owner_) owner_->write(level_, line_);
}

log_record& log_record::kv(std::string_view key, std::string_view value) {
  if (!owner_) return *this;
  line_.push_back(' ');
  line_.append(key).push_back('=');
  append_value(line_, value);
  return *this;
}

log_record& log_record::kv(std::string_view key, long long value) {
  if (!owner_) return *this;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return kv(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

log_record& log_record::kv(std::string_view key, unsigned long long value) {
  if (!owner_) return *this;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return kv(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

log_record& log_record::kv(std::string_view key, double value) {
  if (!owner_) return *this;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return kv(key, std::string_view(buf));
}

logger::logger(log_level level, std::FILE* out, bool journald_prefix)
    : level_(level), out_(out), journald_prefix_(journald_prefix) {}

void logger::write(log_level level, std::string_view line) {
  std::lock_guard lock(write_mutex_);
  if (journald_prefix_) std::fprintf(out_, "<%d>", static_cast<int>(level));
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace herald
