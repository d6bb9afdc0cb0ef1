#include "providers/detail/shards.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <future>

namespace herald::detail {

namespace asio = boost::asio;

int shard_count(int connections, const provider_options& options) {
  if (options.shard_executors.empty()) return 0;
  return std::max(1, std::min(std::max(1, connections), static_cast<int>(options.shard_executors.size())));
}

std::vector<int> split_connections(int connections, int shards) {
  shards = std::max(1, shards);
  connections = std::max(connections, shards);
  std::vector<int> out(static_cast<std::size_t>(shards), connections / shards);
  for (int i = 0; i < connections % shards; ++i) ++out[static_cast<std::size_t>(i)];
  return out;
}

random_source serialized(random_source random) {
  if (!random) return random;
  auto lock = std::make_shared<std::mutex>();
  return [lock, random = std::move(random)] {
    std::lock_guard guard(*lock);
    return random();
  };
}

provider_options shard_options(const provider_options& options) {
  provider_options o = options;
  o.threads = 1;
  o.shard_executors.clear();
  o.random = serialized(options.random);
  return o;
}

namespace {

class sharded_provider final : public push_provider {
 public:
  sharded_provider(int connections, const provider_options& options, const shard_factory& make_shard) {
    const auto counts = split_connections(connections, shard_count(connections, options));
    inflight_ = std::make_unique<std::atomic<int>[]>(counts.size());
    static std::atomic<std::size_t> next_thread{0};  // placement only: spreads adapters over the threads
    const auto& threads = options.shard_executors;
    const std::size_t first = next_thread.fetch_add(counts.size(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < counts.size(); ++i) {
      inflight_[i].store(0, std::memory_order_relaxed);
      asio::any_io_executor ex = threads[(first + i) % threads.size()];
      executors_.push_back(ex);
      shards_.push_back(make_shard(ex, static_cast<int>(i), counts[i]));
    }
  }

  asio::awaitable<delivery_result> async_send(const device_info& device, const notification& n) override {
    const std::size_t i = pick();
    struct in_flight {
      std::atomic<int>& count;
      ~in_flight() { count.fetch_sub(1, std::memory_order_relaxed); }
    } guard{inflight_[i]};
    co_return co_await shards_[i]->async_send(device, n);
  }

  // The shards share their configuration, so they share their state.
  provider_state state() const override { return shards_.front()->state(); }

  void shutdown() override {
    std::vector<std::future<void>> done;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      std::promise<void> ran;
      done.push_back(ran.get_future());
      asio::post(executors_[i], [shard = shards_[i].get(), ran = std::move(ran)]() mutable {
        shard->shutdown();
        ran.set_value();
      });
    }
    for (auto& f : done) f.wait();
  }

 private:
  // The shard with the fewest sends in flight, starting the scan at the
  // next one in turn so equal shards take turns.
  std::size_t pick() {
    const std::size_t n = shards_.size();
    const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
    std::size_t best = start;
    int best_load = inflight_[start].load(std::memory_order_relaxed);
    for (std::size_t k = 1; k < n && best_load > 0; ++k) {
      const std::size_t i = (start + k) % n;
      const int load = inflight_[i].load(std::memory_order_relaxed);
      if (load < best_load) {
        best = i;
        best_load = load;
      }
    }
    inflight_[best].fetch_add(1, std::memory_order_relaxed);
    return best;
  }

  std::vector<asio::any_io_executor> executors_;
  std::vector<std::unique_ptr<push_provider>> shards_;
  std::unique_ptr<std::atomic<int>[]> inflight_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace

std::unique_ptr<push_provider> make_sharded_provider(int connections, const provider_options& options,
                                                     const shard_factory& make_shard) {
  return std::make_unique<sharded_provider>(connections, options, make_shard);
}

}  // namespace herald::detail
