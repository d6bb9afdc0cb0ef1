#pragma once
// When the Redis connection must be dropped and made again: a pure state
// machine, kept apart from the hiredis/Asio adapter so every decision is
// unit-tested without a socket. The adapter feeds it what happened on the
// link and carries out what it answers (tear down, back off, connect,
// ask the sentinels again).
//
// Reconnect: connection loss, a command timeout, a failed connect or
// handshake, a node that is not a master, a sentinel announcing a new
// master, and the error replies a node gives while it cannot serve as the
// master: READONLY (demoted to replica), MASTERDOWN (replica cut off from
// its master), LOADING (still loading its dataset), UNBLOCKED (a blocking
// command interrupted because the node changed role).
// No reconnect: ordinary error replies (WRONGTYPE, NOSCRIPT, ERR, ...); they
// are the caller's problem and say nothing about the link.
#include <string>
#include <string_view>

namespace herald::detail {

// The first word of an error reply ("READONLY You can't write ..." -> READONLY).
std::string_view error_code_word(std::string_view message);

// True for the error replies that mean "this node cannot serve as the master now".
bool is_failover_error(std::string_view message);

enum class link_state {
  idle,         // not started
  connecting,   // connect + handshake (AUTH, SELECT, ROLE) under way
  ready,        // handshake done and the node is a master: commands flow
  backing_off,  // waiting for the next attempt
  holding,      // a sentinel started a failover of our master: no writes anywhere until it ends
  stopped,
};

enum class link_action {
  none,                   // keep going
  connect,                // start an attempt now
  teardown_and_back_off,  // drop the connection (pending commands fail), then wait the backoff delay
  back_off,               // the connection is already gone: wait the backoff delay
  teardown_and_hold,      // drop the connection (if any) and wait for the failover's outcome
  close,                  // stopped: drop the connection for good
};

struct link_decision {
  link_action action = link_action::none;
  // The command whose reply triggered this decision completes as
  // "unavailable" (503 to API callers) instead of as an ordinary error reply.
  bool command_unavailable = false;
  // Ask the sentinels (or resolve the host name) again before the next attempt.
  bool rediscover = false;
  std::string reason;  // for logs and last_error(); "" when nothing changes
};

class link_policy {
 public:
  link_state state() const { return state_; }
  // Consecutive attempts that did not reach `ready` (the backoff step).
  unsigned failed_attempts() const { return failed_attempts_; }
  bool ready() const { return state_ == link_state::ready; }

  link_decision start();
  link_decision stop();
  // The handshake finished; `role` is the first element of ROLE's reply.
  link_decision handshake_done(std::string_view role);
  // connect(2), resolution, AUTH/SELECT or the connect timeout failed.
  link_decision connect_failed(std::string_view why);
  // A command got an error reply (message without the leading '-').
  link_decision error_reply(std::string_view message);
  // The connection dropped (EOF, reset, I/O error) on its own.
  link_decision connection_lost(std::string_view why);
  // The oldest pending command had no reply within the command timeout.
  link_decision command_timeout();
  // A sentinel announced +switch-master for our master name.
  link_decision switch_master(std::string_view new_address);
  // The backoff delay is over.
  link_decision backoff_elapsed();
  // A sentinel announced +try-failover for our master. The old master keeps
  // accepting writes until it is reconfigured, and whatever it accepts after
  // the replica's promotion is lost; so the link stops writing now and waits
  // for +switch-master, an abort, or the hold to expire.
  link_decision failover_started();
  // -failover-abort-* for our master, or the hold's time limit passed.
  link_decision failover_aborted();

 private:
  link_decision drop(std::string reason, bool connection_open, bool rediscover);

  link_state state_ = link_state::idle;
  unsigned failed_attempts_ = 0;
};

}  // namespace herald::detail
