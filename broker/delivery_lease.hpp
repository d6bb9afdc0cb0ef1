#pragma once
// Pure fencing decisions of the broker: who may send a delivery and who may
// end it, how many keys one script may touch, and the Redis clock. The Lua
// scripts of broker/redis/lua/ carry out the same rules inside Redis; these
// functions state them once and are unit-tested without Redis.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

// A delivery record (`<prefix>:delivery:<delivery id>`, docs/DATA-MODEL.md):
// absent, `sending:<owner>:<lease_until_ms>` (a daemon holds it until its
// lease expires), `retry` (a retry job will pick it up) or a final state.
struct delivery_record {
  enum class state { absent, sending, retry, final_state };
  state kind = state::absent;
  std::string owner;               // sending: the consumer name holding the lease
  std::int64_t lease_until_ms = 0;  // sending: Redis time the lease ends
  std::string value;               // the stored text (final states: the state)
};

delivery_record parse_delivery_record(std::optional<std::string_view> stored);
std::string sending_value(std::string_view owner, std::int64_t lease_until_ms);

// Before a send: `go` (claim it: write sending_value(me, now + lease)),
// `held` (another daemon's lease still runs: not sent, not finished here),
// `done` (final, or `retry` while this is not the retry job: skip).
enum class claim_decision { go, held, done };
claim_decision decide_claim(const delivery_record& r, std::string_view me, std::int64_t now_ms, bool retrying);

// A write that ends a delivery (delivered, retry, gone, dead letter, ...) is
// made only by the daemon that holds it: a record it lost (lease expired and
// claimed by another daemon, or already final) is left as it is, so a late
// answer never overwrites a later owner's outcome.
bool may_finish(const delivery_record& r, std::string_view me);

// Lease renewal: only the holder extends its own lease.
bool may_renew(const delivery_record& r, std::string_view me);

// [begin, end) ranges of at most `max_keys` items covering n items: every
// script that touches one key per delivery runs once per range, so no
// command grows with the size of an appointment.
std::vector<std::pair<std::size_t, std::size_t>> key_chunks(std::size_t n, std::size_t max_keys);

// Redis server time (TIME) carried forward with the local monotonic clock:
// every daemon on one Redis decides "due", "late" and lease expiry on the
// same clock, whatever its own wall clock says.
class redis_clock {
 public:
  // A TIME reply `server_ms`, asked at local steady `sent_ms` and answered at
  // `received_ms`: the server's time is taken as of the midpoint.
  void sample(std::int64_t server_ms, std::int64_t sent_ms, std::int64_t received_ms);
  bool synced() const { return synced_; }
  // Server time now, given the local steady time; before the first sample,
  // `fallback_ms` (the local wall clock).
  std::int64_t now_ms(std::int64_t steady_ms, std::int64_t fallback_ms) const;
  // Whether a new sample is due (none yet, or the last is older than `max_age_ms`).
  bool stale(std::int64_t steady_ms, std::int64_t max_age_ms) const;

 private:
  bool synced_ = false;
  std::int64_t offset_ms_ = 0;  // server time - local steady time
  std::int64_t sampled_at_ms_ = 0;
};

// Parses a TIME reply's two strings (seconds, microseconds) to milliseconds.
std::optional<std::int64_t> redis_time_ms(std::string_view seconds, std::string_view microseconds);

}  // namespace herald
