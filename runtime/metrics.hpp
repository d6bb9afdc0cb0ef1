#pragma once
// A small Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format. Instruments are created once
// (registration takes a mutex) and then updated lock-free from any thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

using label_set = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf; and the sum.
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Latency buckets in seconds, 100 µs .. 10 s.
std::vector<double> latency_buckets();

// A sample value or bucket bound as Prometheus clients print it: the
// shortest decimal that reads back as the same double ("0.0025", "1e-05",
// "10", "123456789"), and "+Inf", "-Inf", "NaN".
std::string format_metric_value(double v);

class metrics_registry {
 public:
  // Returns the instrument for (name, labels), creating it on first use.
  // References stay valid for the registry's lifetime.
  counter& get_counter(std::string_view name, std::string_view help, const label_set& labels = {});
  gauge& get_gauge(std::string_view name, std::string_view help, const label_set& labels = {});
  histogram& get_histogram(std::string_view name, std::string_view help, const label_set& labels = {},
                           std::vector<double> bounds = latency_buckets());

  // Runs `collect` at the start of every render(), before the families are
  // read: for values sampled at scrape time (readiness, queue lengths). It
  // must not register collectors itself.
  void add_collector(std::function<void()> collect);

  std::string render() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct family {
    kind type;
    std::string help;
    std::map<std::string, std::unique_ptr<counter>> counters;  // key: rendered labels
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family& family_for(std::string_view name, std::string_view help, kind type);

  mutable std::mutex mutex_;
  std::map<std::string, family, std::less<>> families_;
  mutable std::mutex collectors_mutex_;
  std::vector<std::function<void()>> collectors_;
};

}  // namespace herald
