#pragma once
// Structured logging: one line per event, `ts=... level=... event=... key=value ...`
// or, with log_format::json, one JSON object per line with the same fields.
// The logger is passed in (never global); it is safe to use from any thread.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

// syslog severities (RFC 5424), so journald gets the right priority.
enum class log_level { emerg = 0, alert, crit, err, warning, notice, info, debug };

std::string_view to_string(log_level level);
std::optional<log_level> parse_log_level(std::string_view text);

// text: `ts=2026-11-24T13:00:00.000Z level=info event=x key=value` (quoted when needed);
// json: `{"ts":"2026-11-24T13:00:00.000Z","level":"info","event":"x","key":"value"}`
// (integers, numbers and booleans unquoted).
enum class log_format { text, json };
std::optional<log_format> parse_log_format(std::string_view text);

// A device token or other identifier shortened for logs: "abcdef…7890".
std::string shorten_token(std::string_view token);

class logger;

// One log line under construction; written when it goes out of scope.
class log_record {
 public:
  log_record(logger* owner, log_level level, std::string_view event);
  log_record(const log_record&) = delete;
  log_record& operator=(const log_record&) = delete;
  ~log_record();

  log_record& kv(std::string_view key, std::string_view value);
  log_record& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  log_record& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  log_record& kv(std::string_view key, long long value);
  log_record& kv(std::string_view key, unsigned long long value);
  log_record& kv(std::string_view key, int value) { return kv(key, static_cast<long long>(value)); }
  log_record& kv(std::string_view key, long value) { return kv(key, static_cast<long long>(value)); }
  log_record& kv(std::string_view key, unsigned value) { return kv(key, static_cast<unsigned long long>(value)); }
  log_record& kv(std::string_view key, unsigned long value) { return kv(key, static_cast<unsigned long long>(value)); }
  log_record& kv(std::string_view key, double value);
  log_record& kv(std::string_view key, bool value);

 private:
  // Appends ` key=` or `,"key":`; `raw` is the value as written in text (a
  // number or boolean: unquoted in both formats).
  log_record& append(std::string_view key, std::string_view value, bool raw);

  logger* owner_;  // null when the level is filtered out
  log_level level_ = log_level::info;
  bool json_ = false;
  std::string line_;
};

class logger {
 public:
  // `journald_prefix` writes "<N>" syslog priority prefixes (set when stderr
  // is connected to the journal, see JOURNAL_STREAM).
  explicit logger(log_level level = log_level::info, std::FILE* out = stderr, bool journald_prefix = false,
                  log_format format = log_format::text);

  void set_level(log_level level) { level_.store(level, std::memory_order_relaxed); }
  log_level level() const { return level_.load(std::memory_order_relaxed); }
  bool enabled(log_level level) const { return static_cast<int>(level) <= static_cast<int>(this->level()); }
  log_format format() const { return format_; }

  log_record at(log_level level, std::string_view event) { return log_record(enabled(level) ? this : nullptr, level, event); }
  log_record crit(std::string_view event) { return at(log_level::crit, event); }
  log_record err(std::string_view event) { return at(log_level::err, event); }
  log_record warning(std::string_view event) { return at(log_level::warning, event); }
  log_record notice(std::string_view event) { return at(log_level::notice, event); }
  log_record info(std::string_view event) { return at(log_level::info, event); }
  log_record debug(std::string_view event) { return at(log_level::debug, event); }

  // Writes one finished line (used by log_record).
  void write(log_level level, std::string_view line);

 private:
  std::atomic<log_level> level_;
  std::FILE* out_;
  bool journald_prefix_;
  log_format format_;
  std::mutex write_mutex_;
};

}  // namespace herald
