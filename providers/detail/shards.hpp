#pragma once
// Internal: an adapter split into shards (providers.threads > 1). Each shard
// is a whole adapter (its own pool of connections) on its own strand of the
// providers' io_context, so a connection is still touched by one strand
// only while the shards run on several threads. A send goes to the shard
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
// options.threads) when options.shard_context is set, else 0 (not sharded:
// the adapter lives on its own executor).
int shard_count(int connections, const provider_options& options);

// `connections` split over `shards` as evenly as possible, each at least 1.
std::vector<int> split_connections(int connections, int shards);

// `random` behind a mutex, for callers on several threads (empty stays empty).
random_source serialized(random_source random);

// The options of one shard: no further sharding, and the caller's
// random_source (if any) serialized, since the shards call it from several
// threads.
provider_options shard_options(const provider_options& options);

// Makes shard i on `strand` with `connections` connections.
using shard_factory =
    std::function<std::unique_ptr<push_provider>(boost::asio::any_io_executor strand, int index, int connections)>;

// The sharded adapter: min(connections, threads) shards, each on a new
// strand of options.shard_context. shutdown() runs each shard's shutdown on
// its strand and returns once all ran (call it from outside the providers'
// threads, while they run); the destructor destroys the shards where it
// runs (after the io_context stopped).
std::unique_ptr<push_provider> make_sharded_provider(int connections, const provider_options& options,
                                                     const shard_factory& make_shard);

}  // namespace herald::detail
