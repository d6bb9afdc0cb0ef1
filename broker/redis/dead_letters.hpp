#pragma once
// The dead-letter stream (`<prefix>:deadletter`) for operators: list, show,
// replay and purge. One implementation for `herald deadletter` and the admin
// REST routes; the rules are broker/dead_letter_policy (pure).
//
// A replay is one Lua script (lua/replay_dead_letter.lua): it re-checks that the entry is still there,
// was not replayed and that its device is registered, then queues a retry
// work entry (kind=retry) in the work stream, sets the delivery record to
// `retry` for that job to claim, deletes the entry, leaves a marker
// `<prefix>:deadletter:replayed:<id>` naming the work entry (30 days) and
// wakes the daemons (the schedule-change stream). Replaying the same entry
// again finds the marker (or no entry) and queues nothing: it is sent once.
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/dead_letter_policy.hpp"

namespace herald {

class redis_client;

class dead_letter_store {
 public:
  template <typename T>
  using result = boost::system::result<T>;

  dead_letter_store(std::shared_ptr<redis_client> redis, std::string key_prefix);

  struct page {
    std::vector<dead_letter> entries;  // newest first
    std::size_t examined = 0;          // entries read to find them
  };
  // Up to `limit` entries matching `f`, newest first.
  boost::asio::awaitable<result<page>> list(dead_letter_filter f, std::size_t limit);
  boost::asio::awaitable<result<std::optional<dead_letter>>> get(std::string id);

  struct replay_result {
    std::optional<replay_refusal> refused;  // nullopt: queued
    std::string work_id;                    // the work entry queued (or, already_replayed, the one queued before)
  };
  boost::asio::awaitable<result<replay_result>> replay(std::string id);

  // Deletes the entries older than `min_id` (XTRIM MINID); returns how many.
  boost::asio::awaitable<result<std::int64_t>> purge(std::string min_id);

  const std::string& stream_key() const { return stream_; }

 private:
  std::shared_ptr<redis_client> redis_;
  std::string prefix_;
  std::string stream_;
};

}  // namespace herald
