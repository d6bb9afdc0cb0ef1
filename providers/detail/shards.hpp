#pragma once
// Internal: an adapter split into shards (providers.threads > 1). Each shard
// is a whole adapter (its own pool of connections) on one of the providers'
// threads (an io_context run by that one thread: a strand), so a connection
// is still touched by one thread only while the shards run in parallel. A send goes to the shard
// with the fewest sends in flight; the caller hops there and back through
// the shard's own async_send.
#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "providers/provider.hpp"

namespace herald::detail {

// How many shards an adapter with `connections` gets: min(connections,
// shard_executors.size()) when options.shard_executors is set, else 0 (not
// sharded: the adapter lives on its own executor).
int shard_count(int connections, const provider_options& options);

// `connections` split over `shards` as evenly as possible, each at least 1.
std::vector<int> split_connections(int connections, int shards);

// `random` behind a mutex, for callers on several threads (empty stays empty).
random_source serialized(random_source random);

// The options of one shard: no further sharding, and the caller's
// random_source (if any) serialized, since the shards call it from several
// threads.
provider_options shard_options(const provider_options& options);

// Makes shard i on `ex` (its thread) with `connections` connections.
using shard_factory =
    std::function<std::unique_ptr<push_provider>(boost::asio::any_io_executor ex, int index, int connections)>;

// The sharded adapter: min(connections, threads) shards, each on its own
// one of options.shard_executors (taken in turn across adapters, so the
// first shards of several adapters do not all land on the first thread).
// shutdown() runs each shard's shutdown on its thread and returns once all
// ran (call it from outside the providers' threads, while they run); the
// destructor destroys the shards where it runs (after the io_contexts
// stopped).
std::unique_ptr<push_provider> make_sharded_provider(int connections, const provider_options& options,
                                                     const shard_factory& make_shard);

}  // namespace herald::detail
