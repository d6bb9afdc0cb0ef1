#include "runtime/log.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
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
// Length of the well-formed UTF-8 sequence starting at v[i] (2..4), or 0.
std::size_t utf8_sequence(std::string_view v, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(v[k]); };
  const unsigned char lead = b(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) n = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) n = 3, lo = lead == 0xE0 ? 0xA0 : 0x80, hi = lead == 0xED ? 0x9F : 0xBF;
  else if (lead >= 0xF0 && lead <= 0xF4) n = 4, lo = lead == 0xF0 ? 0x90 : 0x80, hi = lead == 0xF4 ? 0x8F : 0xBF;
  else return 0;
  if (i + n > v.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

// A JSON string body (without quotes): ", \ and control characters escaped,
// bytes that are not UTF-8 replaced by U+FFFD so every line stays valid JSON.
void append_json_string(std::string& out, std::string_view v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::size_t n = utf8_sequence(v, i);
      if (n == 0) {
        out.append("\\ufffd");
      } else {
        out.append(v.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out.append(buf);
        } else {
          out.push_back(c);
        }
    }
  }
}
}  // namespace

std::optional<log_format> parse_log_format(std::string_view text) {
  if (text == "text") return log_format::text;
  if (text == "json") return log_format::json;
  return std::nullopt;
}

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
  json_ = owner_->format() == log_format::json;
  if (json_) {
    line_.append("{\"ts\":\"").append(ts).append("\",\"level\":\"").append(to_string(level)).append("\",\"event\":\"");
    append_json_string(line_, event);
    line_.push_back('"');
  } else {
    line_.append("ts=").append(ts).append(" level=").append(to_string(level)).append(" event=");
    append_value(line_, event);
  }
  level_ = level;
}

log_record::~log_record() {
  if (!owner_) return;
  if (json_) line_.push_back('}');
  owner_->write(level_, line_);
}

log_record& log_record::append(std::string_view key, std::string_view value, bool raw) {
  if (!owner_) return *this;
  if (json_) {
    line_.append(",\"");
    append_json_string(line_, key);
    line_.append("\":");
    if (raw) {
      line_.append(value);
    } else {
      line_.push_back('"');
      append_json_string(line_, value);
      line_.push_back('"');
    }
    return *this;
  }
  line_.push_back(' ');
  line_.append(key).push_back('=');
  append_value(line_, value);
  return *this;
}

log_record& log_record::kv(std::string_view key, std::string_view value) { return append(key, value, false); }

log_record& log_record::kv(std::string_view key, bool value) { return append(key, value ? "true" : "false", true); }

log_record& log_record::kv(std::string_view key, long long value) {
  if (!owner_) return *this;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return append(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), true);
}

log_record& log_record::kv(std::string_view key, unsigned long long value) {
  if (!owner_) return *this;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return append(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), true);
}

log_record& log_record::kv(std::string_view key, double value) {
  if (!owner_) return *this;
  char buf[32];
  // JSON has no NaN or infinity: those stay strings there.
  if (!std::isfinite(value)) return append(key, std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf"), false);
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return append(key, std::string_view(buf), true);
}

logger::logger(log_level level, std::FILE* out, bool journald_prefix, log_format format)
    : level_(level), out_(out), journald_prefix_(journald_prefix), format_(format) {}

void logger::write(log_level level, std::string_view line) {
  std::lock_guard lock(write_mutex_);
  if (journald_prefix_) std::fprintf(out_, "<%d>", static_cast<int>(level));
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace herald
