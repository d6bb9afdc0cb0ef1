#pragma once
// Pure rules of the dead-letter stream (`<prefix>:deadletter`, docs/DATA-MODEL.md):
// which entries a filter selects, what a purge keeps, and whether an entry
// may be replayed and as what work. broker/redis/dead_letters carries them out in
// Redis (the replay script re-checks the same conditions atomically).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "broker/work_kind.hpp"
#include "model/dead_letter.hpp"

namespace herald {

// Selects entries for list and replay --all-matching. Empty parts match all.
struct dead_letter_filter {
  std::optional<std::int64_t> since_ms;  // written at or after this time (ms since the epoch)
  std::string reason;                    // a substring of the reason
  std::string app;                       // the application id exactly ("default" for entries of the default app)
};
bool matches(const dead_letter& e, const dead_letter_filter& f);

// The XTRIM MINID of a purge: `before` is a stream id (kept from it on) or an
// age ("7d": entries older than now - 7d go); nullopt when it is neither.
std::optional<std::string> purge_min_id(std::string_view before, std::int64_t now_ms);

// Replay: one delivery given up on is queued again as a retry through the
// broker's work stream, once.
enum class replay_refusal {
  not_found,         // no such entry (purged, or replayed: a replay removes it)
  already_replayed,  // replayed before (the marker names the work entry)
  not_a_delivery,    // a whole work entry that failed processing: nothing to resend
  malformed,         // fields that do not name a kind, id, revision and device
  device_gone,       // the device is no longer registered
};
std::string_view to_string(replay_refusal r);

struct replay_plan {
  std::string delivery_id;  // its delivery record: set to "retry" for the retry job to claim
  std::string device;
  retry_work work;          // due is set to the replay time (the script writes Redis time)
};

// `entry`: the stream entry (nullopt: absent); `replayed`: a replay marker
// exists; `device_registered`: the device is in the registry.
std::variant<replay_plan, replay_refusal> decide_replay(const std::optional<dead_letter>& entry, bool replayed,
                                                        bool device_registered);

}  // namespace herald
