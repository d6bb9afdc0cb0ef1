#include "runtime/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace herald {

namespace {
std::string render_labels(const label_set& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    out.append(out.empty() ? "" : ",").append(k).append("=\"");
    for (char c : v) {
      if (c == '"' || c == '\\') out.push_back('\\');
      if (c == '\n') { out.append("\\n"); continue; }
      out.push_back(c);
    }
    out.push_back('"');
  }
  return out;
}


std::string with_le(const std::string& labels, const std::string& le) {
  return "{" + labels + (labels.empty() ? "" : ",") + "le=\"" + le + "\"}";
}
}  // namespace

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  // Below 1, %g-style keeps "0.0001" rather than the shorter "1e-04";
  // above, the shortest form keeps counts like 123456789 whole.
  const auto r = (v != 0 && std::fabs(v) < 1) ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general)
                                               : std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void gauge::add(double v) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::vector<std::uint64_t> histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

metrics_registry::family& metrics_registry::family_for(std::string_view name, std::string_view help, kind type) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), family{type, std::string(help), {}, {}, {}}).first;
  if (it->second.type != type) throw std::logic_error("metric registered with two types: " + std::string(name));
  return it->second;
}

counter& metrics_registry::get_counter(std::string_view name, std::string_view help, const label_set& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::counter).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

gauge& metrics_registry::get_gauge(std::string_view name, std::string_view help, const label_set& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::gauge).gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<gauge>();
  return *slot;
}

histogram& metrics_registry::get_histogram(std::string_view name, std::string_view help, const label_set& labels,
                                           std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::histogram).histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<histogram>(std::move(bounds));
  return *slot;
}

void metrics_registry::add_collector(std::function<void()> collect) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(collect));
}

std::string metrics_registry::render() const {
  {
    // Collectors update instruments (taking mutex_), so they run before the lock below.
    std::lock_guard collectors_lock(collectors_mutex_);
    for (const auto& collect : collectors_) collect();
  }
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, fam] : families_) {
    out.append("# HELP ").append(name).append(" ").append(fam.help).append("\n# TYPE ").append(name);
    switch (fam.type) {
      case kind::counter:
        out.append(" counter\n");
        for (const auto& [labels, c] : fam.counters)
          out.append(name).append(labels.empty() ? "" : "{" + labels + "}").append(" ").append(std::to_string(c->value())).append("\n");
        break;
      case kind::gauge:
        out.append(" gauge\n");
        for (const auto& [labels, g] : fam.gauges)
          out.append(name).append(labels.empty() ? "" : "{" + labels + "}").append(" ").append(format_metric_value(g->value())).append("\n");
        break;
      case kind::histogram:
        out.append(" histogram\n");
        for (const auto& [labels, h] : fam.histograms) {
          auto counts = h->cumulative_counts();
          for (std::size_t i = 0; i < h->bounds().size(); ++i)
            out.append(name).append("_bucket").append(with_le(labels, format_metric_value(h->bounds()[i]))).append(" ").append(std::to_string(counts[i])).append("\n");
          out.append(name).append("_bucket").append(with_le(labels, "+Inf")).append(" ").append(std::to_string(counts.back())).append("\n");
          std::string l = labels.empty() ? "" : "{" + labels + "}";
          out.append(name).append("_sum").append(l).append(" ").append(format_metric_value(h->sum())).append("\n");
          out.append(name).append("_count").append(l).append(" ").append(std::to_string(counts.back())).append("\n");
        }
        break;
    }
  }
  return out;
}

}  // namespace herald
