// IBM MobileFirst push: /imfpush/v1/apps/{applicationId}/{devices,subscriptions,messages}
// (IBM MobileFirst Foundation's push REST API as Herald re-implements it: docs/IBM-PUSH.md).
//
// Order of checks on every request: route (404), method (405 + Allow),
// Accept (406), credentials (401), operation scope and
// push.application.<applicationId> (403), applicationId (400), Content-Type
// of POST/PUT (405, as IBM documents it), body (400), then the store (404,
// 500). Errors are {"code":...,"message":...}; a store failure, Redis down
// included, is a 500 as in IBM's table.
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

#include "api/authorization.hpp"
#include "api/http_helpers.hpp"
#include "api/ibm_codec.hpp"
#include "api/route_module.hpp"
#include "model/text.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/ibm_store.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// The registry's check names Pocket's field (DeviceInfo.PNSHandle); an IBM
// client sent it as `token`.
api_error device_refused(std::string problem) {
  constexpr std::string_view pocket_field = "DeviceInfo.PNSHandle";
  if (problem.starts_with(pocket_field)) problem.replace(0, pocket_field.size(), "token");
  return api_error{400, "BadRequest", std::move(problem)};
}

constexpr std::string_view ibm_path_prefix = "/imfpush/v1/apps/";
// Devices read per request when a list cannot be paged in Redis (a filter on
// both userId and platform, subscriptions, a userId or broadcast message target).
constexpr std::size_t ibm_max_scan = 10'000;

constexpr std::string_view json_type = "application/json; charset=utf-8";

http_response ibm_error(const api_error& e) {
  auto res = make_response(static_cast<http::status>(e.status), encode_ibm_error(e), json_type);
  if (e.status == 401) res.set(http::field::www_authenticate, "Bearer realm=\"imfpush\"");
  return res;
}

http_response ibm_json(http::status status, std::string body) { return make_response(status, std::move(body), json_type); }

api_error not_found(std::string message) { return api_error{404, "NotFound", std::move(message)}; }
api_error internal(const boost::system::error_code& ec) {
  return api_error{500, "InternalError", "store error: " + ec.message()};
}

// The resource a request names.
enum class ibm_resource { devices, device, subscriptions, messages };

struct ibm_target {
  ibm_resource resource = ibm_resource::devices;
  std::string app;
  std::string device_id;  // ibm_resource::device
};

// Parses the raw (percent-decoded, case-preserving) path; nullopt if it
// names no IBM resource.
std::optional<ibm_target> parse_target(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.emplace_back(s);
  if (!segs.empty() && segs.back().empty()) segs.pop_back();
  if (segs.size() < 5 || segs.size() > 6) return std::nullopt;
  ibm_target t;
  t.app = segs[3];
  auto resource = to_lower(segs[4]);
  if (resource == "devices") {
    t.resource = segs.size() == 6 ? ibm_resource::device : ibm_resource::devices;
    if (segs.size() == 6) t.device_id = segs[5];
    return t;
  }
  if (segs.size() == 6) return std::nullopt;
  if (resource == "subscriptions") t.resource = ibm_resource::subscriptions;
  else if (resource == "messages") t.resource = ibm_resource::messages;
  else return std::nullopt;
  return t;
}

// A device belongs to `app` when registered through it, or when it was
// registered through the Pocket agent only (no app): the IBM routes can read,
// update and delete those too (DELETE is how Pocket devices are unregistered).
bool visible_in(const device_info& d, const std::string& app) { return d.app_id.empty() || d.app_id == app; }

// What `who` may see of `app` on these routes: the app's devices (and
// Pocket-only ones) that it acts for; everything else is unknown.
bool visible_to(const principal& who, const device_info& d, const std::string& app) {
  return visible_in(d, app) && authz::visibility_of(who, d.associate_id) == authz::visibility::visible;
}

api_error registered_elsewhere(const std::string& device_id) {
  return api_error{409, "Conflict", "device '" + device_id +
                                        "' is registered to another user: moving it needs its current token or a service credential"};
}

class ibm_routes final : public route_module {
 public:
  explicit ibm_routes(api_context& ctx)
      : ctx_(ctx),
        store_(ctx.redis, ctx.key_prefix, ctx.devices),
        registrations_(ctx.metrics.get_counter("herald_ibm_registrations_total", "IBM device registrations and updates")),
        messages_(ctx.metrics.get_counter("herald_ibm_messages_total", "IBM messages accepted for delivery")) {}

  asio::awaitable<std::optional<http_response>> handle(http_request& req, const std::string& path,
                                                       std::string& route_name) override {
    if (path.rfind(ibm_path_prefix, 0) != 0) co_return std::nullopt;
    auto target = parse_target(target_path(req.target()));
    if (!target) {
      route_name = "ibm.unmatched";
      co_return ibm_error(not_found("no such resource: " + std::string(target_path(req.target()))));
    }
    auto verb = req.method();
    std::string_view allow;
    std::string_view scope;
    switch (target->resource) {
      case ibm_resource::devices:
        route_name = "ibm.devices";
        allow = "GET, POST";
        if (verb == http::verb::get) scope = "devices.read";
        else if (verb == http::verb::post) scope = "devices.write";
        break;
      case ibm_resource::device:
        route_name = "ibm.device";
        allow = "GET, PUT, DELETE";
        if (verb == http::verb::get) scope = "devices.read";
        else if (verb == http::verb::put || verb == http::verb::delete_) scope = "devices.write";
        break;
      case ibm_resource::subscriptions:
        route_name = "ibm.subscriptions";
        allow = "GET, POST, DELETE";
        if (verb == http::verb::get) scope = "subscriptions.read";
        else if (verb == http::verb::post || verb == http::verb::delete_) scope = "subscriptions.write";
        break;
      case ibm_resource::messages:
        route_name = "ibm.messages";
        allow = "POST";
        if (verb == http::verb::post) scope = "messages.write";
        break;
    }
    if (scope.empty()) {
      auto res = ibm_error({405, "MethodNotAllowed", "use " + std::string(allow)});
      res.set(http::field::allow, allow);
      co_return res;
    }
    if (!ibm_accepts_json(req[http::field::accept]))
      co_return ibm_error({406, "UnsupportedAcceptType", "Accept '" + std::string(req[http::field::accept]) +
                                                             "' does not allow application/json"});
    auto who = authorize(ctx_.auth, req, scope);
    if (auto* e = std::get_if<api_error>(&who))
      co_return ibm_error({e->status, e->status == 401 ? "Unauthorized" : "Forbidden", e->message});
    const auto& p = std::get<principal>(who);
    std::string app_scope = "push.application." + target->app;
    if (!p.has_scope(app_scope))
      co_return ibm_error({403, "Forbidden", "credential '" + p.name + "' lacks scope " + app_scope});
    if (!valid_ibm_app_id(target->app))
      co_return ibm_error({400, "BadRequest", "applicationId must be 1..128 of A-Z a-z 0-9 . _ -"});
    if ((verb == http::verb::post || verb == http::verb::put) &&
        !ibm_is_json_content_type(req[http::field::content_type]))
      co_return ibm_error({405, "UnsupportedContentType", "Content-Type '" + std::string(req[http::field::content_type]) +
                                                              "' is not application/json"});
    if (target->resource == ibm_resource::device) {
      if (auto e = check_ibm_device_id(target->device_id)) co_return ibm_error(*e);
    }

    switch (target->resource) {
      case ibm_resource::devices:
        if (verb == http::verb::post) co_return co_await post_device(req, target->app, p);
        co_return co_await list_devices(req, target->app, p);
      case ibm_resource::device:
        if (verb == http::verb::get) co_return co_await get_device(target->app, target->device_id, p);
        if (verb == http::verb::put) co_return co_await put_device(req, target->app, target->device_id, p);
        co_return co_await delete_device(target->app, target->device_id, p);
      case ibm_resource::subscriptions:
        if (verb == http::verb::post) co_return co_await post_subscription(req, target->app, p);
        if (verb == http::verb::delete_) co_return co_await delete_subscription(req, target->app, p);
        co_return co_await list_subscriptions(req, target->app, p);
      case ibm_resource::messages: co_return co_await post_message(req, target->app, p);
    }
    co_return std::nullopt;
  }

 private:
  // The owner (associate) of a device written through IBM:
  // - a userId that is a positive integer is the associate id (a credential
  //   bound to another associate gets 403);
  // - otherwise a credential bound to an associate registers for it;
  // - otherwise an existing device keeps its owner, a new one gets 0 (none).
  static decoded<std::int64_t> resolve_owner(const principal& p, const std::optional<std::string>& user_id,
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

  // Looks a device up for `app` as `who` sees it: nullopt (404) when unknown,
  // another app's or another associate's.
  asio::awaitable<boost::system::result<std::optional<device_info>>> find(const std::string& app,
                                                                          const std::string& device_id,
                                                                          const principal& who) {
    auto res = co_await ctx_.devices.get(device_id);
    if (!res) co_return res;
    if (*res && !visible_to(who, **res, app)) co_return std::optional<device_info>{};
    co_return res;
  }

  // Writes the device and its indexes; nullopt on success.
  // `guard`: the owner a bound credential's registration requires (authz::registration_guard).
  asio::awaitable<std::optional<api_error>> save(const device_info& d, const std::optional<device_info>& previous,
                                                 std::optional<std::int64_t> guard = std::nullopt) {
    auto up = co_await ctx_.devices.upsert(d, guard);
    if (!up) {
      if (up.error() == boost::system::errc::operation_not_permitted) co_return registered_elsewhere(d.device_identifier);
      ctx_.log.warning("ibm.device_write_failed").kv("device", shorten_token(d.device_identifier)).kv("error", up.error().message());
      if (up.error() == boost::system::errc::invalid_argument)
        co_return api_error{400, "BadRequest", "the registration breaks a field bound"};
      co_return internal(up.error());
    }
    auto ix = co_await store_.index(d, previous);
    if (!ix) {
      // The device is written; only listing by app may miss it until the next write.
      ctx_.log.warning("ibm.index_failed").kv("device", shorten_token(d.device_identifier)).kv("error", ix.error().message());
      co_return internal(ix.error());
    }
    co_return std::nullopt;
  }

  asio::awaitable<http_response> post_device(http_request& req, const std::string& app, const principal& p) {
    auto dec = decode_ibm_device_registration(req.body());
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    auto& reg = std::get<ibm_device_registration>(dec);
    auto existing = co_await ctx_.devices.get(reg.device_id);
    if (!existing) co_return ibm_error(internal(existing.error()));
    const std::optional<device_info>& prev = *existing;
    auto owner = resolve_owner(p, reg.user_id, prev);
    if (auto* e = std::get_if<api_error>(&owner)) co_return ibm_error(*e);
    std::optional<authz::stored_registration> stored;
    if (prev) stored = authz::stored_registration{prev->associate_id, prev->pns_handle};
    const auto new_owner = std::get<std::int64_t>(owner);
    if (authz::decide_registration(p, new_owner, stored, reg.token) == authz::registration_verdict::refuse) {
      ctx_.log.warning("ibm.device_move_refused").kv("app", app).kv("device", shorten_token(reg.device_id)).kv("credential", p.name);
      co_return ibm_error(registered_elsewhere(reg.device_id));
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
    if (ctx_.check_device)
      if (auto problem = ctx_.check_device(d); !problem.empty()) co_return ibm_error(device_refused(problem));
    if (auto e = co_await save(d, prev, authz::registration_guard(p, new_owner))) co_return ibm_error(*e);
    registrations_.inc();
    ctx_.log.info("ibm.device_registered")
        .kv("app", app)
        .kv("device", shorten_token(d.device_identifier))
        .kv("associate", static_cast<long long>(d.associate_id))
        .kv("platform", to_string(d.platform))
        .kv("existed", prev.has_value())
        .kv("credential", p.name);
    co_return ibm_json(http::status::created, encode_ibm_registration(d));
  }

  asio::awaitable<http_response> get_device(const std::string& app, const std::string& device_id, const principal& p) {
    auto res = co_await find(app, device_id, p);
    if (!res) co_return ibm_error(internal(res.error()));
    if (!*res) co_return ibm_error(not_found("device '" + device_id + "' is not registered in application '" + app + "'"));
    co_return ibm_json(http::status::ok, encode_ibm_registration(**res));
  }

  asio::awaitable<http_response> put_device(http_request& req, const std::string& app, const std::string& device_id,
                                            const principal& p) {
    auto dec = decode_ibm_device_update(req.body(), device_id);
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    auto& u = std::get<ibm_device_update>(dec);
    auto res = co_await find(app, device_id, p);
    if (!res) co_return ibm_error(internal(res.error()));
    if (!*res) co_return ibm_error(not_found("device '" + device_id + "' is not registered in application '" + app + "'"));
    const std::optional<device_info>& prev = *res;
    device_info d = *prev;
    if (u.user_id) {
      auto owner = resolve_owner(p, u.user_id, prev);
      if (auto* e = std::get_if<api_error>(&owner)) co_return ibm_error(*e);
      d.associate_id = std::get<std::int64_t>(owner);
      d.user_id = *u.user_id;
    }
    if (u.token) d.pns_handle = *u.token;
    if (u.phone_number) d.phone_number = *u.phone_number;
    if (u.platform && ibm_platform_letter(*u.platform) != ibm_platform_letter(d.platform)) d.platform = *u.platform;
    d.app_id = app;
    if (!d.created_at_ms) d.created_at_ms = d.registered_at_ms;
    d.registered_at_ms = unix_ms_now();
    if (ctx_.check_device)
      if (auto problem = ctx_.check_device(d); !problem.empty()) co_return ibm_error(device_refused(problem));
    if (auto e = co_await save(d, prev, authz::registration_guard(p, d.associate_id))) co_return ibm_error(*e);
    registrations_.inc();
    ctx_.log.info("ibm.device_updated").kv("app", app).kv("device", shorten_token(device_id)).kv("credential", p.name);
    co_return ibm_json(http::status::ok, encode_ibm_registration(d));
  }

  asio::awaitable<http_response> delete_device(const std::string& app, const std::string& device_id, const principal& p) {
    auto res = co_await find(app, device_id, p);
    if (!res) co_return ibm_error(internal(res.error()));
    if (!*res) co_return ibm_error(not_found("device '" + device_id + "' is not registered in application '" + app + "'"));
    auto removed = co_await ctx_.devices.remove(device_id);
    if (!removed) co_return ibm_error(internal(removed.error()));
    if (!*removed) co_return ibm_error(not_found("device '" + device_id + "' is not registered in application '" + app + "'"));
    // Stale index members would be dropped on read anyway; this keeps them small.
    if (auto ix = co_await store_.unindex(**res); !ix)
      ctx_.log.warning("ibm.unindex_failed").kv("device", shorten_token(device_id)).kv("error", ix.error().message());
    ctx_.log.info("ibm.device_deleted").kv("app", app).kv("device", shorten_token(device_id)).kv("credential", p.name);
    co_return make_response(http::status::no_content, {}, {});
  }

  // The verified records of an index's members [offset, offset + count);
  // members whose record no longer matches are dropped from the index.
  struct checked_page {
    std::vector<device_info> devices;
    std::size_t total = 0;
  };
  template <typename Match>
  asio::awaitable<boost::system::result<checked_page>> read_index(const std::string& key, std::size_t offset,
                                                                  std::size_t count, Match match) {
    auto page = co_await store_.range(key, offset, count);
    if (!page) co_return boost::system::result<checked_page>(boost::system::in_place_error, page.error());
    auto records = co_await store_.fetch(page->ids);
    if (!records) co_return boost::system::result<checked_page>(boost::system::in_place_error, records.error());
    checked_page out;
    out.total = page->total;
    std::vector<std::string> stale;
    for (std::size_t i = 0; i < page->ids.size() && i < records->size(); ++i) {
      auto& r = (*records)[i];
      if (r && match(*r)) out.devices.push_back(std::move(*r));
      else stale.push_back(page->ids[i]);
    }
    if (!stale.empty()) {
      out.total -= std::min(out.total, stale.size());
      if (auto f = co_await store_.forget(key, stale); !f)
        ctx_.log.warning("ibm.index_cleanup_failed").kv("error", f.error().message());
    }
    co_return out;
  }

  asio::awaitable<http_response> list_devices(http_request& req, const std::string& app, const principal& p) {
    auto filter = query_parameter(req.target(), "filter");
    auto user = query_parameter(req.target(), "userId");
    auto dec = decode_ibm_device_query(filter, user, query_parameter(req.target(), "offset"),
                                       query_parameter(req.target(), "size"));
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    const auto& q = std::get<ibm_device_query>(dec);
    // `match` is what membership of the index read means; a member that
    // fails it is stale (and dropped from that index).
    auto match = [&](const device_info& d) {
      return d.app_id == app && (!q.user_id || d.user_id == *q.user_id) &&
             (!q.platform || ibm_platform_letter(d.platform) == *q.platform);
    };
    checked_page page;
    if (authz::kind_of(p) == authz::credential_kind::bound) {
      // A bound credential lists only its associate's devices (few): read
      // them and filter and page here.
      auto own = co_await ctx_.devices.list_by_associate(*p.associate_id);
      if (!own) co_return ibm_error(internal(own.error()));
      std::vector<device_info> filtered;
      for (auto& d : *own)
        if (match(d)) filtered.push_back(std::move(d));
      page.total = filtered.size();
      for (std::size_t i = q.offset; i < filtered.size() && page.devices.size() < q.size; ++i)
        page.devices.push_back(std::move(filtered[i]));
    } else if (q.user_id && q.platform) {
      // Both filters: read the user's devices (few) and filter by platform here.
      auto in_user_index = [&](const device_info& d) { return d.app_id == app && d.user_id == *q.user_id; };
      auto all = co_await read_index(store_.user_key(app, *q.user_id), 0, ibm_max_scan, in_user_index);
      if (!all) co_return ibm_error(internal(all.error()));
      std::vector<device_info> filtered;
      for (auto& d : all->devices)
        if (ibm_platform_letter(d.platform) == *q.platform) filtered.push_back(std::move(d));
      page.total = filtered.size();
      for (std::size_t i = q.offset; i < filtered.size() && page.devices.size() < q.size; ++i)
        page.devices.push_back(std::move(filtered[i]));
    } else {
      auto key = q.user_id ? store_.user_key(app, *q.user_id)
                           : q.platform ? store_.platform_key(app, *q.platform) : store_.app_key(app);
      auto res = co_await read_index(key, q.offset, q.size, match);
      if (!res) co_return ibm_error(internal(res.error()));
      page = std::move(*res);
    }
    std::vector<std::pair<std::string, std::string>> params;
    if (filter) params.emplace_back("filter", *filter);
    if (user) params.emplace_back("userId", *user);
    auto info = make_ibm_page_info("/imfpush/v1/apps/" + app + "/devices", params, q.offset, q.size,
                                   page.devices.size(), page.total);
    co_return ibm_json(http::status::ok, encode_ibm_device_list(page.devices, info));
  }

  // Writes the indexes after a subscription change of the record; nullopt on success.
  asio::awaitable<std::optional<api_error>> reindex(const device_update& u) {
    auto ix = co_await store_.index(*u.after, u.before);
    if (ix) co_return std::nullopt;
    // The record is written; only listing by tag may miss it until the next write.
    ctx_.log.warning("ibm.index_failed").kv("device", shorten_token(u.after->device_identifier)).kv("error", ix.error().message());
    co_return internal(ix.error());
  }

  // Subscriptions are one atomic change of the device record each
  // (device_registry::update, a compare-and-set): concurrent subscriptions
  // and re-registrations of the same device are never lost.
  asio::awaitable<http_response> post_subscription(http_request& req, const std::string& app, const principal& p) {
    auto dec = decode_ibm_subscription(req.body());
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    const auto& s = std::get<ibm_subscription>(dec);
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
    auto r = co_await ctx_.devices.update(s.device_id, change);
    if (!r) co_return ibm_error(internal(r.error()));
    if (full)
      co_return ibm_error({400, "BadRequest", "device '" + s.device_id + "' already has " + std::to_string(max_device_tags) + " subscriptions"});
    if (!r->before || r->step == update_step::abort)
      co_return ibm_error(not_found("device '" + s.device_id + "' is not registered in application '" + app + "'"));
    if (auto e = co_await reindex(*r)) co_return ibm_error(*e);  // also heals a lost index write when nothing changed
    ctx_.log.info("ibm.subscribed").kv("app", app).kv("device", shorten_token(s.device_id)).kv("tag", s.tag_name);
    co_return ibm_json(http::status::created, encode_ibm_subscription({s.device_id, s.tag_name, r->after->user_id}));
  }

  asio::awaitable<http_response> delete_subscription(http_request& req, const std::string& app, const principal& p) {
    auto device_id = query_parameter(req.target(), "deviceId");
    auto tag = query_parameter(req.target(), "tagName");
    if (auto e = check_ibm_device_id(device_id.value_or(""))) co_return ibm_error(*e);
    if (auto e = check_ibm_tag_name(tag.value_or(""))) co_return ibm_error(*e);
    auto change = [&](device_info& d) {
      if (!visible_to(p, d, app)) return update_step::abort;
      auto it = std::find(d.subscriptions.begin(), d.subscriptions.end(), *tag);
      if (it == d.subscriptions.end()) return update_step::abort;
      d.subscriptions.erase(it);
      return update_step::write;
    };
    auto r = co_await ctx_.devices.update(*device_id, change);
    if (!r) co_return ibm_error(internal(r.error()));
    if (r->step != update_step::write)
      co_return ibm_error(not_found("device '" + *device_id + "' has no subscription to '" + *tag + "' in application '" + app + "'"));
    if (auto e = co_await reindex(*r)) co_return ibm_error(*e);
    ctx_.log.info("ibm.unsubscribed").kv("app", app).kv("device", shorten_token(*device_id)).kv("tag", *tag);
    co_return make_response(http::status::no_content, {}, {});
  }

  asio::awaitable<http_response> list_subscriptions(http_request& req, const std::string& app, const principal& p) {
    auto device_id = query_parameter(req.target(), "deviceId");
    auto tag = query_parameter(req.target(), "tagName");
    auto user = query_parameter(req.target(), "userId");
    if (device_id && device_id->empty()) device_id.reset();
    if (tag && tag->empty()) tag.reset();
    if (user && user->empty()) user.reset();
    auto paging = decode_ibm_paging(query_parameter(req.target(), "offset"), query_parameter(req.target(), "size"));
    if (auto* e = std::get_if<api_error>(&paging)) co_return ibm_error(*e);
    auto [offset, size] = std::get<std::pair<std::size_t, std::size_t>>(paging);

    std::vector<device_info> devices;
    if (device_id) {
      auto res = co_await find(app, *device_id, p);
      if (!res) co_return ibm_error(internal(res.error()));
      if (*res) devices.push_back(std::move(**res));
    } else {
      auto key = tag ? store_.tag_key(app, *tag) : user ? store_.user_key(app, *user) : store_.app_key(app);
      // Membership of the index read (the other filters are applied below).
      auto match = [&](const device_info& d) {
        if (d.app_id != app) return false;
        if (authz::visibility_of(p, d.associate_id) == authz::visibility::hidden) return true;  // kept in the index, not shown
        if (tag) return std::find(d.subscriptions.begin(), d.subscriptions.end(), *tag) != d.subscriptions.end();
        if (user) return d.user_id == *user;
        return true;
      };
      auto res = co_await read_index(key, 0, ibm_max_scan, match);
      if (!res) co_return ibm_error(internal(res.error()));
      devices = std::move(res->devices);
    }
    std::vector<ibm_subscription_view> subs;
    for (const auto& d : devices) {
      if (authz::visibility_of(p, d.associate_id) == authz::visibility::hidden) continue;
      if (user && d.user_id != *user) continue;
      for (const auto& t : d.subscriptions)
        if (!tag || t == *tag) subs.push_back({d.device_identifier, t, d.user_id});
    }
    std::vector<ibm_subscription_view> page;
    for (std::size_t i = offset; i < subs.size() && page.size() < size; ++i) page.push_back(std::move(subs[i]));
    std::vector<std::pair<std::string, std::string>> params;
    if (device_id) params.emplace_back("deviceId", *device_id);
    if (tag) params.emplace_back("tagName", *tag);
    if (user) params.emplace_back("userId", *user);
    auto info = make_ibm_page_info("/imfpush/v1/apps/" + app + "/subscriptions", params, offset, size, page.size(),
                                   subs.size());
    co_return ibm_json(http::status::ok, encode_ibm_subscription_list(page, info));
  }

  // Appends the identifiers of an index's matching devices to `out`.
  template <typename Match>
  asio::awaitable<std::optional<api_error>> collect(const std::string& key, Match match, std::vector<std::string>& out) {
    auto res = co_await read_index(key, 0, ibm_max_scan, std::move(match));
    if (!res) co_return internal(res.error());
    for (const auto& d : res->devices) out.push_back(d.device_identifier);
    co_return std::nullopt;
  }

  // Without messages.any a bound credential reaches only its associate: a
  // numeric userId of another associate is refused (403) and every other
  // target is narrowed to its own devices, others' counting as unknown ids.
  asio::awaitable<std::optional<api_error>> restrict_to_owner(const principal& p, push_message& msg) {
    if (authz::may_message_anyone(p)) co_return std::nullopt;
    if (!authz::may_message(p, msg.associate_ids))
      co_return api_error{403, "Forbidden", "credential '" + p.name + "' acts as associate " + std::to_string(*p.associate_id) +
                                                " and may only message its own userId (scope " +
                                                std::string(authz::scope::messages_any) + " reaches others)"};
    std::vector<std::string> own;
    for (auto& id : msg.device_identifiers) {
      auto d = co_await ctx_.devices.get(id);
      if (!d) co_return internal(d.error());
      if (*d && authz::visibility_of(p, (*d)->associate_id) == authz::visibility::visible) own.push_back(std::move(id));
    }
    msg.device_identifiers = std::move(own);
    co_return std::nullopt;
  }

  asio::awaitable<http_response> post_message(http_request& req, const std::string& app, const principal& p) {
    auto dec = decode_ibm_message(req.body());
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    const auto& m = std::get<ibm_message_request>(dec);
    // Devices the broker cannot find by itself: userIds that name no
    // associate (through this app's userId index) and, without deviceIds or
    // userIds, every device of the app (platforms and tagNames then restrict).
    std::vector<std::string> resolved;
    if (m.user_ids) {
      for (const auto& u : *m.user_ids) {
        if (associate_from_user_id(u)) continue;
        auto match = [&](const device_info& d) { return d.app_id == app && d.user_id == u; };
        if (auto e = co_await collect(store_.user_key(app, u), match, resolved)) co_return ibm_error(*e);
      }
    } else if (!m.device_ids) {
      auto match = [&](const device_info& d) { return d.app_id == app; };
      if (auto e = co_await collect(store_.app_key(app), match, resolved)) co_return ibm_error(*e);
    }
    if (!ctx_.submit_push)
      co_return ibm_error({500, "InternalError",
                           "message delivery is not available in this build: the broker's fan-out is not wired"});
    auto msg = to_push_message(m, app, resolved);
    if (auto e = co_await restrict_to_owner(p, msg)) co_return ibm_error(*e);
    auto id = co_await ctx_.submit_push(std::move(msg));
    if (!id) {
      ctx_.log.warning("ibm.message_rejected").kv("app", app).kv("error", id.error().message());
      co_return ibm_error({500, "InternalError", "the message could not be accepted: " + id.error().message()});
    }
    messages_.inc();
    ctx_.log.info("ibm.message_accepted")
        .kv("app", app)
        .kv("message_id", *id)
        .kv("resolved_devices", resolved.size())
        .kv("credential", p.name);
    co_return ibm_json(http::status::accepted, encode_ibm_message_accepted(m.message_json, *id));
  }

  api_context& ctx_;
  ibm_store store_;
  counter& registrations_;
  counter& messages_;
};

}  // namespace

std::unique_ptr<route_module> make_ibm_routes(api_context& ctx) { return std::make_unique<ibm_routes>(ctx); }

}  // namespace herald
