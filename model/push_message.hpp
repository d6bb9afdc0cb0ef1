#pragma once
// A message to fan out to devices (Pocket SendPushNotification, IBM
// messages, `herald send`): who gets it and what it shows.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace herald {

struct push_message {
  // Targets (any combination; the union is used, each device once).
  std::vector<std::int64_t> associate_ids;
  std::vector<std::string> device_identifiers;
  std::vector<std::string> platforms;  // NotificationPlatform names: restricts the targets above
  std::vector<std::string> tags;       // IBM tagNames: only devices subscribed to one of them (empty: no restriction)
  std::string app_id;                  // "" = the default (first) app

  std::string title;
  std::string body;
  std::string url;
  bool silent = false;                                     // background push
  int time_to_live_s = 0;                                  // 0 = provider default
  std::vector<std::pair<std::string, std::string>> data;   // string map
  std::string event = "Message";                           // herald.event in the payload
};

}  // namespace herald
