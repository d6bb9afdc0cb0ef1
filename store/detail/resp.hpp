#pragma once
// hiredis reply conversion shared by the store's two RESP users (the async
// client and the sentinel client). Internal to herald_store.
#include <hiredis/hiredis.h>

#include "store/redis_client.hpp"

namespace herald::detail {

// Deep copy of a hiredis reply (hiredis frees its own).
redis_reply convert_reply(const redisReply* r);

}  // namespace herald::detail
