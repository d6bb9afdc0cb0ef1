#pragma once
// Drives an io_context until a condition holds or a deadline passes: tests
// wait on conditions, never on sleeps.
#include <boost/asio/io_context.hpp>

#include <chrono>

namespace herald::test {

template <typename Predicate>
bool run_until(boost::asio::io_context& ioc, Predicate done,
               std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
  }
  return true;
}

// Runs what is ready (and what becomes ready within `limit`) until idle.
inline void drain(boost::asio::io_context& ioc, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  ioc.restart();
  ioc.run_for(limit);
}

}  // namespace herald::test
