// The reconnect decisions of the Redis link, as a pure state machine: which
// replies and errors make the client reconnect, and which do not.
#include "store/detail/link_policy.hpp"

#include <gtest/gtest.h>

#include "store/sentinel.hpp"

namespace herald::detail {
namespace {

link_policy ready_link() {
  link_policy p;
  EXPECT_EQ(p.start().action, link_action::connect);
  EXPECT_EQ(p.handshake_done("master").action, link_action::none);
  EXPECT_TRUE(p.ready());
  return p;
}

TEST(link_policy, FailoverErrorRepliesAreRecognisedByTheirFirstWord) {
  EXPECT_TRUE(is_failover_error("READONLY You can't write against a read only replica."));
  EXPECT_TRUE(is_failover_error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."));
  EXPECT_TRUE(is_failover_error("LOADING Redis is loading the dataset in memory"));
  EXPECT_TRUE(is_failover_error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"));
  EXPECT_TRUE(is_failover_error("-READONLY with the RESP dash"));
  EXPECT_FALSE(is_failover_error("WRONGTYPE Operation against a key holding the wrong kind of value"));
  EXPECT_FALSE(is_failover_error("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_FALSE(is_failover_error("ERR unknown command 'FOO'"));
  EXPECT_FALSE(is_failover_error("BUSY Redis is busy running a script."));
  EXPECT_FALSE(is_failover_error("READONLYX not the word"));
  EXPECT_FALSE(is_failover_error("ERR READONLY in the middle"));
  EXPECT_FALSE(is_failover_error(""));
  EXPECT_EQ(error_code_word("LOADING Redis is loading"), "LOADING");
}

TEST(link_policy, ReadonlyOnAReadyLinkTearsItDownAndTheCommandIsUnavailable) {
  for (const char* reply : {"READONLY You can't write against a read only replica.", "MASTERDOWN Link with MASTER is down",
                            "LOADING Redis is loading the dataset in memory", "UNBLOCKED instance state changed"}) {
    auto p = ready_link();
    auto d = p.error_reply(reply);
    EXPECT_EQ(d.action, link_action::teardown_and_back_off) << reply;
    EXPECT_TRUE(d.command_unavailable) << reply;
    EXPECT_TRUE(d.rediscover) << reply;
    EXPECT_NE(d.reason.find(std::string(reply).substr(0, 8)), std::string::npos) << d.reason;
    EXPECT_EQ(p.state(), link_state::backing_off);
    EXPECT_FALSE(p.ready());
  }
}

TEST(link_policy, OrdinaryErrorRepliesKeepTheLink) {
  auto p = ready_link();
  for (const char* reply : {"WRONGTYPE Operation against a key holding the wrong kind of value",
                            "NOSCRIPT No matching script.", "ERR syntax error", "BUSYGROUP Consumer Group name already exists",
                            "NOGROUP No such key", "OOM command not allowed when used memory > 'maxmemory'."}) {
    auto d = p.error_reply(reply);
    EXPECT_EQ(d.action, link_action::none) << reply;
    EXPECT_FALSE(d.command_unavailable) << reply;
    EXPECT_TRUE(p.ready()) << reply;
  }
}

TEST(link_policy, FurtherFailoverRepliesWhileLeavingOnlyMarkTheirCommands) {
  auto p = ready_link();
  ASSERT_EQ(p.error_reply("READONLY x").action, link_action::teardown_and_back_off);
  // The other pipelined writes answer READONLY too: no second teardown.
  auto d = p.error_reply("READONLY x");
  EXPECT_EQ(d.action, link_action::none);
  EXPECT_TRUE(d.command_unavailable);
  EXPECT_EQ(p.state(), link_state::backing_off);
}

TEST(link_policy, ConnectionLossAndCommandTimeoutReconnect) {
  auto p = ready_link();
  auto d = p.connection_lost("Connection reset by peer");
  EXPECT_EQ(d.action, link_action::back_off);  // the connection is already gone
  EXPECT_TRUE(d.rediscover);
  EXPECT_EQ(d.reason, "Connection reset by peer");
  EXPECT_EQ(p.failed_attempts(), 0u);  // the first retry after a working link is quick

  auto q = ready_link();
  d = q.command_timeout();
  EXPECT_EQ(d.action, link_action::teardown_and_back_off);
  EXPECT_EQ(q.state(), link_state::backing_off);
}

TEST(link_policy, AReplicaAnsweringTheHandshakeIsNotAcceptedAndCountsAsAFailedAttempt) {
  link_policy p;
  p.start();
  auto d = p.handshake_done("slave");
  EXPECT_EQ(d.action, link_action::teardown_and_back_off);
  EXPECT_TRUE(d.rediscover);
  EXPECT_NE(d.reason.find("not a master"), std::string::npos);
  EXPECT_EQ(p.failed_attempts(), 1u);
  EXPECT_EQ(p.backoff_elapsed().action, link_action::connect);
  EXPECT_EQ(p.handshake_done("sentinel").action, link_action::teardown_and_back_off);
  EXPECT_EQ(p.failed_attempts(), 2u);  // the backoff grows while the node stays a replica
  EXPECT_EQ(p.backoff_elapsed().action, link_action::connect);
  EXPECT_EQ(p.handshake_done("master").action, link_action::none);
  EXPECT_TRUE(p.ready());
  EXPECT_EQ(p.failed_attempts(), 0u);
}

TEST(link_policy, FailedConnectsBackOffAndCount) {
  link_policy p;
  p.start();
  for (unsigned i = 1; i <= 3; ++i) {
    EXPECT_EQ(p.connect_failed("Connection refused").action, link_action::teardown_and_back_off);
    EXPECT_EQ(p.failed_attempts(), i);
    // A loss reported for the same attempt afterwards changes nothing.
    EXPECT_EQ(p.connection_lost("closed").action, link_action::none);
    EXPECT_EQ(p.backoff_elapsed().action, link_action::connect);
  }
  // LOADING during the handshake is a failed attempt too.
  auto d = p.error_reply("LOADING Redis is loading the dataset in memory");
  EXPECT_EQ(d.action, link_action::teardown_and_back_off);
  EXPECT_EQ(p.failed_attempts(), 4u);
}

TEST(link_policy, SwitchMasterDropsAReadyLinkAndCutsABackoffShort) {
  auto p = ready_link();
  auto d = p.switch_master("127.0.0.1:6380");
  EXPECT_EQ(d.action, link_action::teardown_and_back_off);
  EXPECT_NE(d.reason.find("127.0.0.1:6380"), std::string::npos);
  d = p.switch_master("127.0.0.1:6381");
  EXPECT_EQ(d.action, link_action::connect);  // no need to wait out the backoff
  EXPECT_EQ(p.state(), link_state::connecting);
}

TEST(link_policy, FailoverStartedHoldsEveryWriteUntilSwitchMasterAbortOrTimeLimit) {
  auto p = ready_link();
  auto d = p.failover_started();
  EXPECT_EQ(d.action, link_action::teardown_and_hold);
  EXPECT_EQ(p.state(), link_state::holding);
  // While holding, nothing reconnects to the old master.
  EXPECT_EQ(p.connection_lost("closed").action, link_action::none);
  EXPECT_EQ(p.backoff_elapsed().action, link_action::none);
  EXPECT_EQ(p.error_reply("READONLY x").action, link_action::none);
  EXPECT_EQ(p.failover_started().action, link_action::none);
  // The new master is announced: connect at once.
  EXPECT_EQ(p.switch_master("127.0.0.1:6380").action, link_action::connect);
  EXPECT_EQ(p.state(), link_state::connecting);
  EXPECT_EQ(p.handshake_done("master").action, link_action::none);

  // Aborted (or the hold's limit passed): ask the sentinels again.
  EXPECT_EQ(p.failover_started().action, link_action::teardown_and_hold);
  EXPECT_EQ(p.failover_aborted().action, link_action::connect);
  EXPECT_EQ(p.failover_aborted().action, link_action::none);  // only from holding

  // A failover starting while backing off holds too.
  auto q = ready_link();
  q.connection_lost("x");
  EXPECT_EQ(q.failover_started().action, link_action::teardown_and_hold);
}

TEST(link_policy, StopEndsEverythingAndLaterEventsDoNothing) {
  auto p = ready_link();
  EXPECT_EQ(p.stop().action, link_action::close);
  EXPECT_EQ(p.error_reply("READONLY x").action, link_action::none);
  EXPECT_EQ(p.connection_lost("x").action, link_action::none);
  EXPECT_EQ(p.command_timeout().action, link_action::none);
  EXPECT_EQ(p.backoff_elapsed().action, link_action::none);
  EXPECT_EQ(p.handshake_done("master").action, link_action::none);
  EXPECT_EQ(p.state(), link_state::stopped);
  EXPECT_EQ(p.start().action, link_action::connect);  // a stopped link may start again
}

TEST(link_policy, NothingHappensBeforeStart) {
  link_policy p;
  EXPECT_EQ(p.error_reply("READONLY x").action, link_action::none);
  EXPECT_EQ(p.connection_lost("x").action, link_action::none);
  EXPECT_EQ(p.backoff_elapsed().action, link_action::none);
  EXPECT_EQ(p.state(), link_state::idle);
}

TEST(sentinel_messages, SwitchMasterIsParsedForOurNameOnly) {
  auto a = parse_switch_master("herald 127.0.0.1 6379 127.0.0.1 6380", "herald");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->to_string(), "127.0.0.1:6380");
  EXPECT_FALSE(parse_switch_master("other 127.0.0.1 6379 127.0.0.1 6380", "herald"));
  EXPECT_FALSE(parse_switch_master("herald 127.0.0.1 6379 127.0.0.1", "herald"));
  EXPECT_FALSE(parse_switch_master("herald 127.0.0.1 6379 127.0.0.1 70000", "herald"));
  EXPECT_EQ(parse_switch_master("herald ::1 6379 ::1 6381", "herald")->to_string(), "[::1]:6381");
  EXPECT_TRUE(is_event_for_master("master herald 127.0.0.1 6379", "herald"));
  EXPECT_FALSE(is_event_for_master("master other 127.0.0.1 6379", "herald"));
  EXPECT_FALSE(is_event_for_master("slave 127.0.0.1:6380 127.0.0.1 6380 @ herald 127.0.0.1 6379", "herald"));
}

}  // namespace
}  // namespace herald::detail
