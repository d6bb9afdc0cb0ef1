#include "store/detail/link_policy.hpp"

#include <array>

namespace herald::detail {

std::string_view error_code_word(std::string_view message) {
  if (!message.empty() && message.front() == '-') message.remove_prefix(1);
  const auto end = message.find_first_of(" \r\n");
  return end == std::string_view::npos ? message : message.substr(0, end);
}

bool is_failover_error(std::string_view message) {
  constexpr std::array<std::string_view, 4> words{"READONLY", "MASTERDOWN", "LOADING", "UNBLOCKED"};
  const auto word = error_code_word(message);
  for (auto w : words)
    if (word == w) return true;
  return false;
}

link_decision link_policy::start() {
  if (state_ != link_state::idle && state_ != link_state::stopped) return {};
  state_ = link_state::connecting;
  failed_attempts_ = 0;
  return {link_action::connect, false, true, "connecting"};
}

link_decision link_policy::stop() {
  if (state_ == link_state::stopped || state_ == link_state::idle) {
    state_ = link_state::stopped;
    return {};
  }
  state_ = link_state::stopped;
  return {link_action::close, false, false, "stopped"};
}

link_decision link_policy::drop(std::string reason, bool connection_open, bool rediscover) {
  if (state_ == link_state::stopped || state_ == link_state::idle || state_ == link_state::backing_off ||
      state_ == link_state::holding)
    return {};
  if (state_ == link_state::connecting) ++failed_attempts_;
  else failed_attempts_ = 0;  // the first retry after a working link is quick
  state_ = link_state::backing_off;
  return {connection_open ? link_action::teardown_and_back_off : link_action::back_off, false, rediscover,
          std::move(reason)};
}

link_decision link_policy::handshake_done(std::string_view role) {
  if (state_ != link_state::connecting) return {};
  if (role != "master") {
    // A replica (or a sentinel) answered where a master was expected: the
    // address is stale (failover behind a DNS name or virtual IP, or a
    // sentinel that has not caught up). Try again, asking anew.
    return drop("the node is not a master (role " + std::string(role.empty() ? "unknown" : role) + ")", true, true);
  }
  state_ = link_state::ready;
  failed_attempts_ = 0;
  return {};
}

link_decision link_policy::connect_failed(std::string_view why) {
  if (state_ != link_state::connecting) return {};
  return drop(std::string(why), true, true);
}

link_decision link_policy::error_reply(std::string_view message) {
  if (!is_failover_error(message)) return {};
  if (state_ != link_state::ready && state_ != link_state::connecting) {
    // Already leaving this connection: the command is still unavailable.
    link_decision d;
    d.command_unavailable = true;
    return d;
  }
  auto d = drop("failover reply: " + std::string(message.substr(0, 120)), true, true);
  d.command_unavailable = true;
  return d;
}

link_decision link_policy::connection_lost(std::string_view why) {
  return drop(std::string(why.empty() ? "connection lost" : why), false, true);
}

link_decision link_policy::command_timeout() { return drop("no reply within command_timeout", true, true); }

link_decision link_policy::switch_master(std::string_view new_address) {
  if (state_ == link_state::backing_off || state_ == link_state::holding) {
    // Skip the rest of the wait: the new master is known.
    state_ = link_state::connecting;
    return {link_action::connect, false, true, "switch-master to " + std::string(new_address)};
  }
  auto d = drop("switch-master to " + std::string(new_address), true, true);
  return d;
}

link_decision link_policy::failover_started() {
  if (state_ == link_state::stopped || state_ == link_state::idle || state_ == link_state::holding) return {};
  state_ = link_state::holding;
  failed_attempts_ = 0;
  return {link_action::teardown_and_hold, false, true, "a sentinel started a failover of the master"};
}

link_decision link_policy::failover_aborted() {
  if (state_ != link_state::holding) return {};
  state_ = link_state::connecting;
  return {link_action::connect, false, true, "the failover ended without a new master"};
}

link_decision link_policy::backoff_elapsed() {
  if (state_ != link_state::backing_off) return {};
  state_ = link_state::connecting;
  return {link_action::connect, false, true, {}};
}

}  // namespace herald::detail
