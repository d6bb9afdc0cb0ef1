#include "api/ibm/ibm_codec.hpp"

#include "api/common/negotiation.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <limits>

#include "model/text.hpp"

namespace herald {

namespace {

namespace json = boost::json;

api_error bad_request(std::string message) { return api_error{400, "BadRequest", std::move(message)}; }

// Trailing commas are accepted: IBM's published examples have them.
decoded<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.allow_trailing_commas = true;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return bad_request("the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return bad_request("the body must be a JSON object");
  return std::move(v.get_object());
}

// A string member: nullopt when absent or null; an error for another type or
// a value over `max_size` bytes.
decoded<std::optional<std::string>> string_member(const json::object& o, std::string_view key, std::size_t max_size,
                                                  std::string_view where = {}) {
  auto name = where.empty() ? std::string(key) : std::string(where) + "." + std::string(key);
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>{};
  const json::string* s = it->value().if_string();
  if (!s) return bad_request(name + " must be a string");
  if (s->size() > max_size)
    return bad_request(name + " is longer than " + std::to_string(max_size) + " characters");
  return std::optional<std::string>{std::string(*s)};
}

// Unwraps a decoded<T> into `out`, or returns its error from the caller.
#define HERALD_IBM_TRY(out, expr)                                  \
  auto out##_decoded = (expr);                                     \
  if (auto* e = std::get_if<api_error>(&out##_decoded)) return *e; \
  auto& out = std::get<0>(out##_decoded)

std::optional<api_error> check_user_id(const std::optional<std::string>& user_id) {
  // Counted in bytes (UTF-8): equal to IBM's characters for ASCII ids and
  // stricter otherwise, so the stored record's 256-byte bound always holds.
  if (!user_id) return std::nullopt;
  if (user_id->size() > ibm_max_user_id_size)
    return bad_request("userId is longer than " + std::to_string(ibm_max_user_id_size) + " characters");
  return std::nullopt;
}

decoded<std::optional<std::size_t>> parse_count(const std::optional<std::string>& text, std::string_view name) {
  if (!text) return std::optional<std::size_t>{};
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (text->empty() || ec != std::errc() || p != text->data() + text->size())
    return bad_request(std::string(name) + " must be a non-negative integer");
  return std::optional<std::size_t>{v};
}

std::optional<api_error> append_payload(const json::object& settings, std::string_view provider,
                                        std::vector<std::pair<std::string, std::string>>& data) {
  const json::value* p = settings.if_contains(provider);
  if (!p || p->is_null()) return std::nullopt;
  if (!p->is_object()) return bad_request("settings." + std::string(provider) + " must be an object");
  const json::value* payload = p->get_object().if_contains("payload");
  if (!payload || payload->is_null()) return std::nullopt;
  if (!payload->is_object())
    return bad_request("settings." + std::string(provider) + ".payload must be an object");
  for (const auto& kv : payload->get_object()) {
    std::string key(kv.key());
    if (std::any_of(data.begin(), data.end(), [&](const auto& d) { return d.first == key; })) continue;
    if (data.size() >= ibm_max_data_entries)
      return bad_request("settings payloads have more than " + std::to_string(ibm_max_data_entries) + " entries");
    const json::value& v = kv.value();
    data.emplace_back(std::move(key), v.is_string() ? std::string(v.get_string()) : json::serialize(v));
  }
  return std::nullopt;
}

decoded<std::optional<std::vector<std::string>>> string_list(const json::object& target, std::string_view key,
                                                             std::size_t max_item) {
  const json::value* v = target.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::vector<std::string>>{};
  const std::string name = "target." + std::string(key);
  if (!v->is_array()) return bad_request(name + " must be an array of strings");
  const auto& a = v->get_array();
  if (a.empty()) return bad_request(name + " is empty: leave it out to not restrict by it");
  if (a.size() > ibm_max_target_list)
    return bad_request(name + " has more than " + std::to_string(ibm_max_target_list) + " entries");
  std::vector<std::string> out;
  for (const auto& item : a) {
    if (!item.is_string() || item.get_string().empty()) return bad_request(name + " must hold non-empty strings");
    if (item.get_string().size() > max_item)
      return bad_request(name + " has an entry longer than " + std::to_string(max_item) + " characters");
    std::string s(item.get_string());
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

}  // namespace

std::optional<notification_platform> platform_from_ibm(std::string_view value) {
  if (value == "A") return notification_platform::apple;
  if (value == "G") return notification_platform::google;
  if (value == "W") return notification_platform::microsoft;
  if (value == "WEB" || value == "WEB_CHROME" || value == "WEB_FIREFOX" || value == "WEB_EDGE")
    return notification_platform::web;
  return std::nullopt;
}

std::string ibm_platform_value(notification_platform platform) {
  if (platform == notification_platform::web) return "WEB";
  return std::string(1, ibm_platform_letter(platform));
}

char ibm_platform_letter(notification_platform platform) {
  switch (platform) {
    case notification_platform::apple:
    case notification_platform::apple_developer:
    case notification_platform::apple_ad_hoc: return 'A';
    case notification_platform::google:
    case notification_platform::google_developer: return 'G';
    case notification_platform::microsoft: return 'W';
    case notification_platform::web: return 'B';  // Herald's Web platform: no IBM letter, kept apart from A/G/W
  }
  return 'A';
}

std::vector<std::string> platform_names_for_ibm(char letter) {
  switch (letter) {
    case 'A': return {"Apple", "AppleDeveloper", "AppleAdHoc"};
    case 'G': return {"Google", "GoogleDeveloper"};
    case 'W': return {"Microsoft"};
    case 'B': return {"Web"};
    default: return {};
  }
}

std::optional<std::int64_t> associate_from_user_id(std::string_view user_id) {
  if (user_id.empty() || user_id.front() == '0') return std::nullopt;
  if (!std::all_of(user_id.begin(), user_id.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(user_id.data(), user_id.data() + user_id.size(), v);
  if (ec != std::errc() || p != user_id.data() + user_id.size() || v <= 0) return std::nullopt;
  return v;
}

bool valid_ibm_app_id(std::string_view app_id) {
  if (app_id.empty() || app_id.size() > ibm_max_app_id_size) return false;
  return std::all_of(app_id.begin(), app_id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

bool ibm_accepts_json(std::string_view accept) {
  if (trim(accept).empty()) return true;
  bool json = false;
  for_each_accept_item(accept, [&](std::string_view type, double q) {
    if (q > 0 && (type == "application/json" || type == "application/*" || type == "*/*")) json = true;
  });
  return json;
}

bool ibm_is_json_content_type(std::string_view content_type) {
  return to_lower(trim(content_type.substr(0, content_type.find(';')))) == "application/json";
}

std::optional<api_error> check_ibm_device_id(std::string_view device_id) {
  if (device_id.empty()) return bad_request("deviceId is required");
  if (device_id.size() > max_device_identifier_size)
    return bad_request("deviceId is longer than " + std::to_string(max_device_identifier_size) + " characters");
  return std::nullopt;
}

std::optional<api_error> check_ibm_tag_name(std::string_view tag_name) {
  if (tag_name.empty()) return bad_request("tagName is required");
  if (tag_name.size() > max_tag_size)
    return bad_request("tagName is longer than " + std::to_string(max_tag_size) + " characters");
  if (tag_name.find(',') != std::string_view::npos)
    return bad_request("tagName must not contain a comma (tags are listed comma-separated)");
  return std::nullopt;
}

decoded<ibm_device_registration> decode_ibm_device_registration(std::string_view text) {
  HERALD_IBM_TRY(o, parse_object(text));
  ibm_device_registration r;
  HERALD_IBM_TRY(device_id, string_member(o, "deviceId", max_device_identifier_size));
  HERALD_IBM_TRY(platform, string_member(o, "platform", 16));
  HERALD_IBM_TRY(token, string_member(o, "token", max_pns_handle_size));
  HERALD_IBM_TRY(user_id, string_member(o, "userId", std::numeric_limits<std::size_t>::max()));
  HERALD_IBM_TRY(phone, string_member(o, "phoneNumber", max_device_text_size));
  HERALD_IBM_TRY(agent, string_member(o, "userAgent", max_device_text_size));
  if (auto e = check_ibm_device_id(device_id.value_or(""))) return *e;
  if (!platform || platform->empty()) return bad_request("platform is required (A, G, W or WEB)");
  auto p = platform_from_ibm(*platform);
  if (!p) return bad_request("platform '" + *platform + "' is not one of A (Apple), G (Google), W (Windows), WEB (browser)");
  if (!token || token->empty()) return bad_request("token is required");
  if (auto e = check_user_id(user_id)) return *e;
  r.device_id = std::move(*device_id);
  r.platform = *p;
  r.token = std::move(*token);
  r.user_id = std::move(user_id);
  r.phone_number = phone.value_or("");
  r.user_agent = agent.value_or("");
  return r;
}

decoded<ibm_device_update> decode_ibm_device_update(std::string_view text, std::string_view path_device_id) {
  HERALD_IBM_TRY(o, parse_object(text));
  ibm_device_update u;
  HERALD_IBM_TRY(device_id, string_member(o, "deviceId", max_device_identifier_size));
  HERALD_IBM_TRY(platform, string_member(o, "platform", 16));
  HERALD_IBM_TRY(token, string_member(o, "token", max_pns_handle_size));
  HERALD_IBM_TRY(user_id, string_member(o, "userId", std::numeric_limits<std::size_t>::max()));
  HERALD_IBM_TRY(phone, string_member(o, "phoneNumber", max_device_text_size));
  if (device_id && *device_id != path_device_id)
    return bad_request("deviceId in the body ('" + *device_id + "') differs from the path's");
  if (platform) {
    auto p = platform_from_ibm(*platform);
    if (!p) return bad_request("platform '" + *platform + "' is not one of A (Apple), G (Google), W (Windows), WEB (browser)");
    u.platform = *p;
  }
  if (token && token->empty()) return bad_request("token must not be empty");
  if (auto e = check_user_id(user_id)) return *e;
  u.token = std::move(token);
  u.user_id = std::move(user_id);
  u.phone_number = std::move(phone);
  return u;
}

decoded<ibm_subscription> decode_ibm_subscription(std::string_view text) {
  HERALD_IBM_TRY(o, parse_object(text));
  HERALD_IBM_TRY(device_id, string_member(o, "deviceId", max_device_identifier_size));
  HERALD_IBM_TRY(tag, string_member(o, "tagName", max_tag_size));
  if (auto e = check_ibm_device_id(device_id.value_or(""))) return *e;
  if (auto e = check_ibm_tag_name(tag.value_or(""))) return *e;
  return ibm_subscription{std::move(*device_id), std::move(*tag)};
}

decoded<ibm_message_request> decode_ibm_message(std::string_view text) {
  HERALD_IBM_TRY(o, parse_object(text));
  ibm_message_request m;
  const json::value* message = o.if_contains("message");
  if (!message || !message->is_object()) return bad_request("message is required: {\"alert\":\"...\"}");
  const auto& mo = message->get_object();
  HERALD_IBM_TRY(alert, string_member(mo, "alert", ibm_max_alert_size, "message"));
  HERALD_IBM_TRY(url, string_member(mo, "url", 2048, "message"));
  if (!alert || alert->empty()) return bad_request("message.alert is required");
  m.alert = std::move(*alert);
  m.url = url.value_or("");
  m.message_json = json::serialize(mo);

  if (const json::value* target = o.if_contains("target"); target && !target->is_null()) {
    if (!target->is_object()) return bad_request("target must be an object");
    const auto& t = target->get_object();
    HERALD_IBM_TRY(device_ids, string_list(t, "deviceIds", max_device_identifier_size));
    HERALD_IBM_TRY(user_ids, string_list(t, "userIds", std::numeric_limits<std::size_t>::max()));
    HERALD_IBM_TRY(platforms, string_list(t, "platforms", 16));
    HERALD_IBM_TRY(tag_names, string_list(t, "tagNames", max_tag_size));
    if (user_ids)
      for (const auto& u : *user_ids)
        if (auto e = check_user_id(u)) return *e;
    if (platforms) {
      std::vector<char> letters;
      for (const auto& p : *platforms) {
        auto platform = platform_from_ibm(p);
        if (!platform) return bad_request("target.platforms: '" + p + "' is not one of A, G, W, WEB");
        char letter = ibm_platform_letter(*platform);
        if (std::find(letters.begin(), letters.end(), letter) == letters.end()) letters.push_back(letter);
      }
      m.platforms = std::move(letters);
    }
    if (tag_names)
      for (const auto& tag : *tag_names)
        if (auto e = check_ibm_tag_name(tag)) return *e;
    m.device_ids = std::move(device_ids);
    m.user_ids = std::move(user_ids);
    m.tag_names = std::move(tag_names);
  }

  if (const json::value* settings = o.if_contains("settings"); settings && !settings->is_null()) {
    if (!settings->is_object()) return bad_request("settings must be an object");
    const auto& s = settings->get_object();
    if (auto e = append_payload(s, "apns", m.data)) return *e;
    if (auto e = append_payload(s, "gcm", m.data)) return *e;
    if (const json::value* apns = s.if_contains("apns"); apns && apns->is_object()) {
      HERALD_IBM_TRY(title, string_member(apns->get_object(), "title", max_device_text_size, "settings.apns"));
      HERALD_IBM_TRY(type, string_member(apns->get_object(), "type", 16, "settings.apns"));
      if (title) m.title = *title;
      if (type) {
        if (*type == "SILENT") m.silent = true;
        else if (*type != "DEFAULT" && *type != "MIXED")
          return bad_request("settings.apns.type must be DEFAULT, MIXED or SILENT");
      }
    }
    if (const json::value* gcm = s.if_contains("gcm"); gcm && gcm->is_object()) {
      const auto& g = gcm->get_object();
      if (const json::value* style = g.if_contains("style"); m.title.empty() && style && style->is_object()) {
        HERALD_IBM_TRY(title, string_member(style->get_object(), "title", max_device_text_size, "settings.gcm.style"));
        if (title) m.title = *title;
      }
      if (const json::value* ttl = g.if_contains("timeToLive"); ttl && !ttl->is_null()) {
        // FCM's limit: 4 weeks.
        if (!ttl->is_number()) return bad_request("settings.gcm.timeToLive must be a number of seconds");
        boost::system::error_code ec;
        auto seconds = ttl->to_number<std::int64_t>(ec);
        if (ec || seconds < 0 || seconds > 2'419'200)
          return bad_request("settings.gcm.timeToLive must be 0..2419200 seconds");
        m.time_to_live_s = static_cast<int>(seconds);
      }
    }
  }
  return m;
}

push_message to_push_message(const ibm_message_request& m, const std::string& app_id,
                             const std::vector<std::string>& extra_device_ids) {
  push_message p;
  if (m.user_ids)
    for (const auto& u : *m.user_ids)
      if (auto a = associate_from_user_id(u)) p.associate_ids.push_back(*a);
  if (m.device_ids) p.device_identifiers = *m.device_ids;
  for (const auto& d : extra_device_ids)
    if (std::find(p.device_identifiers.begin(), p.device_identifiers.end(), d) == p.device_identifiers.end())
      p.device_identifiers.push_back(d);
  if (m.platforms)
    for (char letter : *m.platforms)
      for (auto& name : platform_names_for_ibm(letter))
        if (std::find(p.platforms.begin(), p.platforms.end(), name) == p.platforms.end())
          p.platforms.push_back(std::move(name));
  if (m.tag_names) p.tags = *m.tag_names;
  p.app_id = app_id;
  p.title = m.title;
  p.body = m.alert;
  p.url = m.url;
  p.silent = m.silent;
  p.time_to_live_s = m.time_to_live_s;
  p.data = m.data;
  p.event = "Message";
  return p;
}

decoded<std::pair<std::size_t, std::size_t>> decode_ibm_paging(const std::optional<std::string>& offset,
                                                               const std::optional<std::string>& size) {
  HERALD_IBM_TRY(off, parse_count(offset, "offset"));
  HERALD_IBM_TRY(sz, parse_count(size, "size"));
  if (sz && *sz == 0) return bad_request("size must be at least 1");
  std::size_t page = std::min(sz.value_or(ibm_default_page_size), ibm_max_page_size);
  // Bound the offset so offset + size cannot overflow in the index ranges.
  if (off && *off > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    return bad_request("offset is too large");
  return std::pair<std::size_t, std::size_t>{off.value_or(0), page};
}

decoded<ibm_device_query> decode_ibm_device_query(const std::optional<std::string>& filter,
                                                  const std::optional<std::string>& user_id,
                                                  const std::optional<std::string>& offset,
                                                  const std::optional<std::string>& size) {
  ibm_device_query q;
  HERALD_IBM_TRY(paging, decode_ibm_paging(offset, size));
  q.offset = paging.first;
  q.size = paging.second;
  if (user_id && !user_id->empty()) {
    if (auto e = check_user_id(user_id)) return *e;
    q.user_id = *user_id;
  }
  if (filter && !trim(*filter).empty()) {
    // Terms `field==value` joined by ';' (AND). Fields: platform, userId.
    std::string_view rest = *filter;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto term = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      if (term.empty()) continue;
      auto eq = term.find("==");
      if (eq == std::string_view::npos)
        return bad_request("filter term '" + std::string(term) + "' is not field==value (fields: platform, userId)");
      auto field = trim(term.substr(0, eq));
      auto value = trim(term.substr(eq + 2));
      if (field == "platform") {
        auto platform = platform_from_ibm(value);
        if (!platform)
          return bad_request("filter platform==" + std::string(value) + ": platform is one of A, G, W, WEB");
        q.platform = ibm_platform_letter(*platform);
      } else if (field == "userId") {
        std::optional<std::string> u{std::string(value)};
        if (auto e = check_user_id(u)) return *e;
        if (q.user_id && *q.user_id != *u) return bad_request("filter userId differs from the userId parameter");
        q.user_id = std::move(u);
      } else {
        return bad_request("filter field '" + std::string(field) + "' is not supported (platform, userId)");
      }
    }
  }
  return q;
}

std::string format_iso8601_utc(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

namespace {
json::object registration_object(const device_info& d) {
  json::object o;
  o["createdMode"] = "API";
  o["createdTime"] = format_iso8601_utc(d.created_at_ms ? d.created_at_ms : d.registered_at_ms);
  o["deviceId"] = d.device_identifier;
  o["lastUpdatedTime"] = format_iso8601_utc(d.registered_at_ms);
  o["phoneNumber"] = d.phone_number;
  o["platform"] = ibm_platform_value(d.platform);
  o["token"] = d.pns_handle;
  o["userId"] = d.user_id;
  o["userAgent"] = d.user_agent;
  return o;
}

json::object page_object(const ibm_page_info& page) {
  json::object p;
  p["count"] = page.count;
  p["next"] = page.next;
  p["previous"] = page.previous;
  p["totalCount"] = page.total_count;
  return p;
}

json::object subscription_object(const ibm_subscription_view& s) {
  json::object o;
  o["deviceId"] = s.device_id;
  o["tagName"] = s.tag_name;
  o["userId"] = s.user_id;
  return o;
}

std::string page_link(std::string_view path, const std::vector<std::pair<std::string, std::string>>& params,
                      std::size_t offset, std::size_t size) {
  boost::urls::url u;
  u.set_path(path);
  for (const auto& [k, v] : params) u.params().append({k, v});
  u.params().append({"offset", std::to_string(offset)});
  u.params().append({"size", std::to_string(size)});
  return std::string(u.buffer());
}
}  // namespace

std::string encode_ibm_registration(const device_info& device) { return json::serialize(registration_object(device)); }

ibm_page_info make_ibm_page_info(std::string_view path, const std::vector<std::pair<std::string, std::string>>& params,
                                 std::size_t offset, std::size_t size, std::size_t count, std::size_t total_count) {
  ibm_page_info page;
  page.count = count;
  page.total_count = total_count;
  if (offset + size < total_count) page.next = page_link(path, params, offset + size, size);
  if (offset > 0) page.previous = page_link(path, params, offset > size ? offset - size : 0, size);
  return page;
}

std::string encode_ibm_device_list(const std::vector<device_info>& devices, const ibm_page_info& page) {
  json::array list;
  for (const auto& d : devices) list.emplace_back(registration_object(d));
  json::object o;
  o["devices"] = std::move(list);
  o["pageInfo"] = page_object(page);
  return json::serialize(o);
}

std::string encode_ibm_subscription(const ibm_subscription_view& s) { return json::serialize(subscription_object(s)); }

std::string encode_ibm_subscription_list(const std::vector<ibm_subscription_view>& subs, const ibm_page_info& page) {
  json::array list;
  for (const auto& s : subs) list.emplace_back(subscription_object(s));
  json::object o;
  o["subscriptions"] = std::move(list);
  o["pageInfo"] = page_object(page);
  return json::serialize(o);
}

std::string encode_ibm_message_accepted(const std::string& message_json, const std::string& message_id) {
  json::object o;
  boost::system::error_code ec;
  json::value m = json::parse(message_json, ec);
  o["message"] = ec ? json::value(json::object{}) : std::move(m);
  o["messageId"] = message_id;
  return json::serialize(o);
}

std::string encode_ibm_error(const api_error& error) {
  json::object o;
  o["code"] = error.type;
  o["message"] = error.message;
  return json::serialize(o);
}

#undef HERALD_IBM_TRY

}  // namespace herald
