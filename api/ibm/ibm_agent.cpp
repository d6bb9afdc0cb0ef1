#include "api/ibm/ibm_agent.hpp"

#include <algorithm>

#include "api/access/authorization.hpp"
#include "api/server/broker_gateway.hpp"
#include "api/server/http_helpers.hpp"
#include "model/text.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

// Devices read per request when a list cannot be paged in Redis (a filter on
// both userId and platform, subscriptions, a userId or broadcast message target).
constexpr std::size_t ibm_max_scan = 10'000;

api_error not_found(std::string message) { return api_error{404, "NotFound", std::move(message)}; }
api_error not_in_app(const std::string& device_id, const std::string& app) {
  return not_found("device '" + device_id + "' is not registered in application '" + app + "'");
}
api_error internal(const boost::system::error_code& ec) {
  return api_error{500, "InternalError", "store error: " + ec.message()};
}
api_error registered_elsewhere(const std::string& device_id) {
  return api_error{409, "Conflict", "device '" + device_id +
                                        "' is registered to another user: moving it needs its current token or a service credential"};
}

// A device belongs to `app` when registered through it, or when it was
// registered through the Pocket agent only (no app): the IBM routes can read,
// update and delete those too (DELETE is how Pocket devices are unregistered).
bool visible_in(const device_info& d, const std::string& app) { return d.app_id.empty() || d.app_id == app; }

// What `who` may see of `app`: the app's devices (and Pocket-only ones) that
// it acts for; everything else is unknown.
bool visible_to(const principal& who, const device_info& d, const std::string& app) {
  return visible_in(d, app) && authz::visibility_of(who, d.associate_id) == authz::visibility::visible;
}

// The owner (associate) of a device written through IBM:
// - a userId that is a positive integer is the associate id (a credential
//   bound to another associate gets 403);
// - otherwise a credential bound to an associate registers for it;
// - otherwise an existing device keeps its owner, a new one gets 0 (none).
decoded<std::int64_t> resolve_owner(const principal& p, const std::optional<std::string>& user_id,
                                    const std::optional<device_info>& existing) {
  if (user_id) {
    if (auto a = associate_from_user_id(*user_id)) {
      if (p.associate_id && *p.associate_id != *a)
        return api_error{403, "Forbidden", "credential '" + p.name + "' acts as associate " +
                                               std::to_string(*p.associate_id) + " and cannot register for userId " + *user_id};
      return *a;
    }
  }
  if (p.associate_id) return *p.associate_id;
  return existing ? existing->associate_id : 0;
}

template <typename T>
void take_page(std::vector<T>& all, std::size_t offset, std::size_t size, ibm_page<T>& page) {
  page.total = all.size();
  for (std::size_t i = offset; i < all.size() && page.items.size() < size; ++i) page.items.push_back(std::move(all[i]));
}

}  // namespace

ibm_agent::ibm_agent(dependencies deps)
    : deps_(std::move(deps)),
      store_(deps_.redis, deps_.key_prefix, deps_.devices),
      registrations_(deps_.metrics.get_counter("herald_ibm_registrations_total", "IBM device registrations and updates")),
      messages_(deps_.metrics.get_counter("herald_ibm_messages_total", "IBM messages accepted for delivery")) {}

// The registry's check names Pocket's field (DeviceInfo.PNSHandle); an IBM
// client sent it as `token`.
std::optional<api_error> ibm_agent::refused_device(const device_info& d) const {
  if (!deps_.check_device) return std::nullopt;
  auto problem = deps_.check_device(d);
  if (problem.empty()) return std::nullopt;
  constexpr std::string_view pocket_field = "DeviceInfo.PNSHandle";
  if (problem.starts_with(pocket_field)) problem.replace(0, pocket_field.size(), "token");
  return api_error{400, "BadRequest", std::move(problem)};
}

// Looks a device up for `app` as `who` sees it: nullopt (404) when unknown,
// another app's or another associate's.
asio::awaitable<boost::system::result<std::optional<device_info>>> ibm_agent::find(const std::string& app,
                                                                                   const std::string& device_id,
                                                                                   const principal& who) {
  auto res = co_await deps_.devices.get(device_id);
  if (!res) co_return res;
  if (*res && !visible_to(who, **res, app)) co_return std::optional<device_info>{};
  co_return res;
}

// Writes the device and its indexes; nullopt on success.
// `guard`: the owner a bound credential's registration requires (authz::registration_guard).
asio::awaitable<std::optional<api_error>> ibm_agent::save(const device_info& d, const std::optional<device_info>& previous,
                                                          std::optional<std::int64_t> guard) {
  auto up = co_await deps_.devices.upsert(d, guard);
  if (!up) {
    if (up.error() == boost::system::errc::operation_not_permitted) co_return registered_elsewhere(d.device_identifier);
    deps_.log.warning("ibm.device_write_failed").kv("device", shorten_token(d.device_identifier)).kv("error", up.error().message());
    if (up.error() == boost::system::errc::invalid_argument)
      co_return api_error{400, "BadRequest", "the registration breaks a field bound"};
    co_return internal(up.error());
  }
  auto ix = co_await store_.index(d, previous);
  if (!ix) {
    // The device is written; only listing by app may miss it until the next write.
    deps_.log.warning("ibm.index_failed").kv("device", shorten_token(d.device_identifier)).kv("error", ix.error().message());
    co_return internal(ix.error());
  }
  co_return std::nullopt;
}

asio::awaitable<decoded<device_info>> ibm_agent::register_device(const std::string& app, const principal& p,
                                                                 const ibm_device_registration& reg, bool& existed) {
  auto existing = co_await deps_.devices.get(reg.device_id);
  if (!existing) co_return internal(existing.error());
  const std::optional<device_info>& prev = *existing;
  existed = prev.has_value();
  auto owner = resolve_owner(p, reg.user_id, prev);
  if (auto* e = std::get_if<api_error>(&owner)) co_return *e;
  std::optional<authz::stored_registration> stored;
  if (prev) stored = authz::stored_registration{prev->associate_id, prev->pns_handle};
  const auto new_owner = std::get<std::int64_t>(owner);
  if (authz::decide_registration(p, new_owner, stored, reg.token) == authz::registration_verdict::refuse) {
    deps_.log.warning("ibm.device_move_refused").kv("app", app).kv("device", shorten_token(reg.device_id)).kv("credential", p.name);
    co_return registered_elsewhere(reg.device_id);
  }

  // One device: an existing registration (Pocket or another app) keeps its
  // Pocket fields (name, language, time zone, tags) and its creation time.
  device_info d = prev ? *prev : device_info{};
  auto now = unix_ms_now();
  d.device_identifier = reg.device_id;
  d.pns_handle = reg.token;
  // A Pocket AppleDeveloper/AppleAdHoc/GoogleDeveloper device registered
  // again as A/G keeps its variant (it selects the APNs environment).
  if (!prev || ibm_platform_letter(prev->platform) != ibm_platform_letter(reg.platform)) d.platform = reg.platform;
  d.phone_number = reg.phone_number;
  d.user_agent = reg.user_agent;
  d.user_id = reg.user_id.value_or("");
  d.app_id = app;
  d.associate_id = new_owner;
  d.created_at_ms = prev ? (prev->created_at_ms ? prev->created_at_ms : prev->registered_at_ms) : now;
  d.registered_at_ms = now;
  if (auto e = refused_device(d)) co_return *e;
  if (auto e = co_await save(d, prev, authz::registration_guard(p, new_owner))) co_return *e;
  registrations_.inc();
  deps_.log.info("ibm.device_registered")
      .kv("app", app)
      .kv("device", shorten_token(d.device_identifier))
      .kv("associate", static_cast<long long>(d.associate_id))
      .kv("platform", to_string(d.platform))
      .kv("existed", existed)
      .kv("credential", p.name);
  co_return d;
}

asio::awaitable<decoded<device_info>> ibm_agent::get_device(const std::string& app, const std::string& device_id,
                                                            const principal& p) {
  auto res = co_await find(app, device_id, p);
  if (!res) co_return internal(res.error());
  if (!*res) co_return not_in_app(device_id, app);
  co_return std::move(**res);
}

asio::awaitable<decoded<device_info>> ibm_agent::update_device(const std::string& app, const std::string& device_id,
                                                               const principal& p, const ibm_device_update& u) {
  auto res = co_await find(app, device_id, p);
  if (!res) co_return internal(res.error());
  if (!*res) co_return not_in_app(device_id, app);
  const std::optional<device_info>& prev = *res;
  device_info d = *prev;
  if (u.user_id) {
    auto owner = resolve_owner(p, u.user_id, prev);
    if (auto* e = std::get_if<api_error>(&owner)) co_return *e;
    d.associate_id = std::get<std::int64_t>(owner);
    d.user_id = *u.user_id;
  }
  if (u.token) d.pns_handle = *u.token;
  if (u.phone_number) d.phone_number = *u.phone_number;
  if (u.platform && ibm_platform_letter(*u.platform) != ibm_platform_letter(d.platform)) d.platform = *u.platform;
  d.app_id = app;
  if (!d.created_at_ms) d.created_at_ms = d.registered_at_ms;
  d.registered_at_ms = unix_ms_now();
  if (auto e = refused_device(d)) co_return *e;
  if (auto e = co_await save(d, prev, authz::registration_guard(p, d.associate_id))) co_return *e;
  registrations_.inc();
  deps_.log.info("ibm.device_updated").kv("app", app).kv("device", shorten_token(device_id)).kv("credential", p.name);
  co_return d;
}

asio::awaitable<decoded<done>> ibm_agent::delete_device(const std::string& app, const std::string& device_id,
                                                        const principal& p) {
  auto res = co_await find(app, device_id, p);
  if (!res) co_return internal(res.error());
  if (!*res) co_return not_in_app(device_id, app);
  auto removed = co_await deps_.devices.remove(device_id);
  if (!removed) co_return internal(removed.error());
  if (!*removed) co_return not_in_app(device_id, app);
  // Stale index members would be dropped on read anyway; this keeps them small.
  if (auto ix = co_await store_.unindex(**res); !ix)
    deps_.log.warning("ibm.unindex_failed").kv("device", shorten_token(device_id)).kv("error", ix.error().message());
  deps_.log.info("ibm.device_deleted").kv("app", app).kv("device", shorten_token(device_id)).kv("credential", p.name);
  co_return done{};
}

// The verified records of an index's members [offset, offset + count);
// members whose record no longer matches are dropped from the index.
template <typename Match>
asio::awaitable<boost::system::result<ibm_page<device_info>>> ibm_agent::read_index(const std::string& key,
                                                                                   std::size_t offset,
                                                                                   std::size_t count, Match match) {
  using result = boost::system::result<ibm_page<device_info>>;
  auto page = co_await store_.range(key, offset, count);
  if (!page) co_return result(boost::system::in_place_error, page.error());
  auto records = co_await store_.fetch(page->ids);
  if (!records) co_return result(boost::system::in_place_error, records.error());
  ibm_page<device_info> out;
  out.total = page->total;
  std::vector<std::string> stale;
  for (std::size_t i = 0; i < page->ids.size() && i < records->size(); ++i) {
    auto& r = (*records)[i];
    if (r && match(*r)) out.items.push_back(std::move(*r));
    else stale.push_back(page->ids[i]);
  }
  if (!stale.empty()) {
    out.total -= std::min(out.total, stale.size());
    if (auto f = co_await store_.forget(key, stale); !f)
      deps_.log.warning("ibm.index_cleanup_failed").kv("error", f.error().message());
  }
  co_return out;
}

asio::awaitable<decoded<ibm_page<device_info>>> ibm_agent::list_devices(const std::string& app, const principal& p,
                                                                       const ibm_device_query& q) {
  // `match` is what membership of the index read means; a member that
  // fails it is stale (and dropped from that index).
  auto match = [&](const device_info& d) {
    return d.app_id == app && (!q.user_id || d.user_id == *q.user_id) &&
           (!q.platform || ibm_platform_letter(d.platform) == *q.platform);
  };
  ibm_page<device_info> page;
  if (authz::kind_of(p) == authz::credential_kind::bound) {
    // A bound credential lists only its associate's devices (few): read
    // them and filter and page here.
    auto own = co_await deps_.devices.list_by_associate(*p.associate_id);
    if (!own) co_return internal(own.error());
    std::vector<device_info> filtered;
    for (auto& d : *own)
      if (match(d)) filtered.push_back(std::move(d));
    take_page(filtered, q.offset, q.size, page);
  } else if (q.user_id && q.platform) {
    // Both filters: read the user's devices (few) and filter by platform here.
    auto in_user_index = [&](const device_info& d) { return d.app_id == app && d.user_id == *q.user_id; };
    auto all = co_await read_index(store_.user_key(app, *q.user_id), 0, ibm_max_scan, in_user_index);
    if (!all) co_return internal(all.error());
    std::vector<device_info> filtered;
    for (auto& d : all->items)
      if (ibm_platform_letter(d.platform) == *q.platform) filtered.push_back(std::move(d));
    take_page(filtered, q.offset, q.size, page);
  } else {
    auto key = q.user_id ? store_.user_key(app, *q.user_id)
                         : q.platform ? store_.platform_key(app, *q.platform) : store_.app_key(app);
    auto res = co_await read_index(key, q.offset, q.size, match);
    if (!res) co_return internal(res.error());
    page = std::move(*res);
  }
  co_return page;
}

// Writes the indexes after a subscription change of the record; nullopt on success.
asio::awaitable<std::optional<api_error>> ibm_agent::reindex(const device_update& u) {
  auto ix = co_await store_.index(*u.after, u.before);
  if (ix) co_return std::nullopt;
  // The record is written; only listing by tag may miss it until the next write.
  deps_.log.warning("ibm.index_failed").kv("device", shorten_token(u.after->device_identifier)).kv("error", ix.error().message());
  co_return internal(ix.error());
}

// Subscriptions are one atomic change of the device record each
// (device_registry::update, a compare-and-set): concurrent subscriptions
// and re-registrations of the same device are never lost.
asio::awaitable<decoded<ibm_subscription_view>> ibm_agent::subscribe(const std::string& app, const principal& p,
                                                                     const ibm_subscription& s) {
  bool full = false;
  auto change = [&](device_info& d) {
    full = false;
    if (!visible_to(p, d, app)) return update_step::abort;
    const bool has = std::find(d.subscriptions.begin(), d.subscriptions.end(), s.tag_name) != d.subscriptions.end();
    if (has && d.app_id == app) return update_step::keep;  // idempotent
    if (!has) {
      if (d.subscriptions.size() >= max_device_tags) {
        full = true;
        return update_step::abort;
      }
      d.subscriptions.push_back(s.tag_name);
    }
    d.app_id = app;  // a subscription makes a Pocket device part of the application
    return update_step::write;
  };
  auto r = co_await deps_.devices.update(s.device_id, change);
  if (!r) co_return internal(r.error());
  if (full)
    co_return api_error{400, "BadRequest",
                        "device '" + s.device_id + "' already has " + std::to_string(max_device_tags) + " subscriptions"};
  if (!r->before || r->step == update_step::abort) co_return not_in_app(s.device_id, app);
  if (auto e = co_await reindex(*r)) co_return *e;  // also heals a lost index write when nothing changed
  deps_.log.info("ibm.subscribed").kv("app", app).kv("device", shorten_token(s.device_id)).kv("tag", s.tag_name);
  co_return ibm_subscription_view{s.device_id, s.tag_name, r->after->user_id};
}

asio::awaitable<decoded<done>> ibm_agent::unsubscribe(const std::string& app, const principal& p,
                                                      const std::string& device_id, const std::string& tag) {
  auto change = [&](device_info& d) {
    if (!visible_to(p, d, app)) return update_step::abort;
    auto it = std::find(d.subscriptions.begin(), d.subscriptions.end(), tag);
    if (it == d.subscriptions.end()) return update_step::abort;
    d.subscriptions.erase(it);
    return update_step::write;
  };
  auto r = co_await deps_.devices.update(device_id, change);
  if (!r) co_return internal(r.error());
  if (r->step != update_step::write)
    co_return not_found("device '" + device_id + "' has no subscription to '" + tag + "' in application '" + app + "'");
  if (auto e = co_await reindex(*r)) co_return *e;
  deps_.log.info("ibm.unsubscribed").kv("app", app).kv("device", shorten_token(device_id)).kv("tag", tag);
  co_return done{};
}

asio::awaitable<decoded<ibm_page<ibm_subscription_view>>> ibm_agent::list_subscriptions(
    const std::string& app, const principal& p, const ibm_subscription_filter& f, std::size_t offset, std::size_t size) {
  std::vector<device_info> devices;
  if (f.device_id) {
    auto res = co_await find(app, *f.device_id, p);
    if (!res) co_return internal(res.error());
    if (*res) devices.push_back(std::move(**res));
  } else {
    auto key = f.tag ? store_.tag_key(app, *f.tag) : f.user_id ? store_.user_key(app, *f.user_id) : store_.app_key(app);
    // Membership of the index read (the other filters are applied below).
    auto match = [&](const device_info& d) {
      if (d.app_id != app) return false;
      if (authz::visibility_of(p, d.associate_id) == authz::visibility::hidden) return true;  // kept in the index, not shown
      if (f.tag) return std::find(d.subscriptions.begin(), d.subscriptions.end(), *f.tag) != d.subscriptions.end();
      if (f.user_id) return d.user_id == *f.user_id;
      return true;
    };
    auto res = co_await read_index(key, 0, ibm_max_scan, match);
    if (!res) co_return internal(res.error());
    devices = std::move(res->items);
  }
  std::vector<ibm_subscription_view> subs;
  for (const auto& d : devices) {
    if (authz::visibility_of(p, d.associate_id) == authz::visibility::hidden) continue;
    if (f.user_id && d.user_id != *f.user_id) continue;
    for (const auto& t : d.subscriptions)
      if (!f.tag || t == *f.tag) subs.push_back({d.device_identifier, t, d.user_id});
  }
  ibm_page<ibm_subscription_view> page;
  take_page(subs, offset, size, page);
  co_return page;
}

// Without messages.any a bound credential reaches only its associate: a
// numeric userId of another associate is refused (403) and every other
// target is narrowed to its own devices, others' counting as unknown ids.
asio::awaitable<std::optional<api_error>> ibm_agent::restrict_to_owner(const principal& p, push_message& msg) {
  if (authz::may_message_anyone(p)) co_return std::nullopt;
  if (!authz::may_message(p, msg.associate_ids))
    co_return api_error{403, "Forbidden", "credential '" + p.name + "' acts as associate " + std::to_string(*p.associate_id) +
                                              " and may only message its own userId (scope " +
                                              std::string(authz::scope::messages_any) + " reaches others)"};
  std::vector<std::string> own;
  for (auto& id : msg.device_identifiers) {
    auto d = co_await deps_.devices.get(id);
    if (!d) co_return internal(d.error());
    if (*d && authz::visibility_of(p, (*d)->associate_id) == authz::visibility::visible) own.push_back(std::move(id));
  }
  msg.device_identifiers = std::move(own);
  co_return std::nullopt;
}

asio::awaitable<decoded<std::string>> ibm_agent::send_message(const std::string& app, const principal& p,
                                                              const ibm_message_request& m) {
  // Devices the broker cannot find by itself: userIds that name no
  // associate (through this app's userId index) and, without deviceIds or
  // userIds, every device of the app (platforms and tagNames then restrict).
  std::vector<std::string> resolved;
  auto collect = [&](const ibm_page<device_info>& found) {
    for (const auto& d : found.items) resolved.push_back(d.device_identifier);
  };
  if (m.user_ids) {
    for (const auto& u : *m.user_ids) {
      if (associate_from_user_id(u)) continue;
      auto match = [&](const device_info& d) { return d.app_id == app && d.user_id == u; };
      auto found = co_await read_index(store_.user_key(app, u), 0, ibm_max_scan, match);
      if (!found) co_return internal(found.error());
      collect(*found);
    }
  } else if (!m.device_ids) {
    auto match = [&](const device_info& d) { return d.app_id == app; };
    auto found = co_await read_index(store_.app_key(app), 0, ibm_max_scan, match);
    if (!found) co_return internal(found.error());
    collect(*found);
  }
  if (!deps_.broker)
    co_return api_error{500, "InternalError",
                        "message delivery is not available in this build: the broker's fan-out is not wired"};
  auto msg = to_push_message(m, app, resolved);
  if (auto e = co_await restrict_to_owner(p, msg)) co_return *e;
  auto id = co_await deps_.broker->submit(std::move(msg));
  if (!id) {
    deps_.log.warning("ibm.message_rejected").kv("app", app).kv("error", id.error().message());
    co_return api_error{500, "InternalError", "the message could not be accepted: " + id.error().message()};
  }
  messages_.inc();
  deps_.log.info("ibm.message_accepted")
      .kv("app", app)
      .kv("message_id", *id)
      .kv("resolved_devices", resolved.size())
      .kv("credential", p.name);
  co_return std::move(*id);
}

}  // namespace herald
