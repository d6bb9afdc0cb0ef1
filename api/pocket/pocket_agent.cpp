#include "api/pocket/pocket_agent.hpp"

#include "api/server/broker_gateway.hpp"
#include "api/access/authorization.hpp"
#include "api/server/http_helpers.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"

namespace herald {

namespace asio = boost::asio;

std::optional<api_error> require_scope(const principal& who, std::string_view scope) {
  if (who.has_scope(scope)) return std::nullopt;
  return api_error{403, "SoAccessDeniedException", "credential '" + who.name + "' lacks scope " + std::string(scope)};
}

namespace {
// Another associate's device and an unknown one get this same answer.
api_error unknown_device(const std::string& device) {
  return api_error{404, "SoNotFoundException", "no device is registered with DeviceIdentifier '" + device + "'"};
}
api_error not_wired(std::string_view what) {
  return api_error{503, "ServiceUnavailable", std::string(what) + " is not available in this daemon"};
}
api_error registered_elsewhere(const std::string& device) {
  return api_error{409, "SoConflictException",
                   "DeviceIdentifier '" + device +
                       "' is registered to another associate: moving it needs its current PNSHandle or a service credential"};
}
// The associate a request acts for (authz::target_associate) as an error, or the id.
decoded<std::int64_t> acting_associate(const principal& p, std::optional<std::int64_t> requested, std::string_view what) {
  auto t = authz::target_associate(p, requested);
  switch (t.verdict) {
    case authz::target_verdict::ok: return t.associate;
    case authz::target_verdict::missing:
      return api_error{400, "ArgumentException", "AssociateId is required: this credential acts for no associate"};
    case authz::target_verdict::foreign: break;
  }
  return api_error{403, "SoAccessDeniedException", "credential '" + p.name + "' acts as associate " +
                                                       std::to_string(*p.associate_id) + " and cannot " + std::string(what) +
                                                       " for another"};
}
}  // namespace

pocket_agent::pocket_agent(dependencies deps)
    : deps_(std::move(deps)),
      devices_registered_(deps_.metrics.get_counter("herald_devices_registered_total", "Successful device registrations")),
      devices_moved_(deps_.metrics.get_counter("herald_devices_moved_total", "Registrations that moved a device to another associate")),
      tags_set_(deps_.metrics.get_counter("herald_device_tags_set_total", "Devices whose push notification tags were replaced")) {}

asio::awaitable<decoded<done>> pocket_agent::register_device(const principal& p, register_device_request r) {
  if (auto e = require_scope(p, authz::scope::devices_write)) co_return *e;
  auto owner = acting_associate(p, r.associate_id, "register a device");
  if (auto* e = std::get_if<api_error>(&owner)) co_return *e;
  r.device.associate_id = std::get<std::int64_t>(owner);
  r.device.registered_at_ms = unix_ms_now();
  r.device.tags.reset();  // a re-registration keeps the stored tags (device_registry::upsert)
  // A re-registration also keeps what the Pocket API does not carry: the IBM
  // registration fields and the first registration time. (Read, then write:
  // a concurrent IBM update of the same device in between can be lost.)
  auto existing = co_await deps_.devices.get(r.device.device_identifier);
  if (!existing) co_return store_error(existing.error());
  std::optional<authz::stored_registration> stored;
  if (*existing) {
    const device_info& old = **existing;
    stored = authz::stored_registration{old.associate_id, old.pns_handle};
    r.device.user_id = old.user_id;
    r.device.phone_number = old.phone_number;
    r.device.app_id = old.app_id;
    r.device.user_agent = old.user_agent;
    r.device.created_at_ms = old.created_at_ms ? old.created_at_ms : old.registered_at_ms;
  }
  if (deps_.check_device)
    if (auto problem = deps_.check_device(r.device); !problem.empty())
      co_return api_error{400, "ArgumentException", std::move(problem)};
  auto verdict = authz::decide_registration(p, r.device.associate_id, stored, r.device.pns_handle);
  if (verdict == authz::registration_verdict::refuse) {
    deps_.log.warning("device.move_refused")
        .kv("device", shorten_token(r.device.device_identifier))
        .kv("to_associate", static_cast<long long>(r.device.associate_id))
        .kv("credential", p.name);
    co_return registered_elsewhere(r.device.device_identifier);
  }
  // The store checks the same rule again atomically with the write.
  auto res = co_await deps_.devices.upsert(r.device, authz::registration_guard(p, r.device.associate_id));
  if (!res) {
    if (res.error() == boost::system::errc::operation_not_permitted) co_return registered_elsewhere(r.device.device_identifier);
    deps_.log.warning("device.register_failed").kv("device", shorten_token(r.device.device_identifier)).kv("error", res.error().message());
    co_return store_error(res.error());
  }
  devices_registered_.inc();
  auto previous = *res;
  if (previous && *previous != r.device.associate_id) {
    devices_moved_.inc();
    deps_.log.info("device.moved")
        .kv("device", shorten_token(r.device.device_identifier))
        .kv("from_associate", static_cast<long long>(*previous))
        .kv("to_associate", static_cast<long long>(r.device.associate_id))
        .kv("proof", verdict == authz::registration_verdict::move_with_proof ? "pns_handle" : "service_credential")
        .kv("credential", p.name);
  }
  deps_.log.info("device.registered")
      .kv("device", shorten_token(r.device.device_identifier))
      .kv("associate", static_cast<long long>(r.device.associate_id))
      .kv("platform", to_string(r.device.platform))
      .kv("credential", p.name);
  co_return done{};
}

asio::awaitable<decoded<std::vector<device_info>>> pocket_agent::registered_devices(const principal& p,
                                                                                   std::optional<std::int64_t> associate) {
  if (auto e = require_scope(p, authz::scope::devices_read)) co_return *e;
  auto target = acting_associate(p, associate, "list devices");
  if (auto* e = std::get_if<api_error>(&target)) co_return *e;
  auto res = co_await deps_.devices.list_by_associate(std::get<std::int64_t>(target));
  if (!res) co_return store_error(res.error());
  co_return std::move(*res);
}

asio::awaitable<decoded<done>> pocket_agent::set_device_tags(const principal& p, const device_tags_request& r) {
  if (auto e = require_scope(p, authz::scope::devices_write)) co_return *e;
  auto res = co_await deps_.devices.set_tags(r.device_identifier, r.tags, p.associate_id);
  if (!res) co_return store_error(res.error());
  switch (*res) {
    case set_tags_outcome::not_found:
    case set_tags_outcome::not_owner: co_return unknown_device(r.device_identifier);
    case set_tags_outcome::updated: break;
  }
  tags_set_.inc();
  deps_.log.info("device.tags_set")
      .kv("device", shorten_token(r.device_identifier))
      .kv("tags", join_tags(r.tags))
      .kv("credential", p.name);
  co_return done{};
}

asio::awaitable<decoded<done>> pocket_agent::set_user_tags(const principal& p, const user_tags_request& r) {
  if (auto e = require_scope(p, authz::scope::devices_write)) co_return *e;
  auto target = acting_associate(p, r.associate_id, "change devices");
  if (auto* e = std::get_if<api_error>(&target)) co_return *e;
  auto associate = std::get<std::int64_t>(target);
  auto list = co_await deps_.devices.list_by_associate(associate);
  if (!list) co_return store_error(list.error());
  // Each device is updated atomically; a device that moved to another
  // associate in the meantime is left alone (not_owner).
  std::size_t updated = 0;
  for (const auto& d : *list) {
    auto res = co_await deps_.devices.set_tags(d.device_identifier, r.tags, associate);
    if (!res) co_return store_error(res.error());
    if (*res == set_tags_outcome::updated) ++updated;
  }
  tags_set_.inc(updated);
  deps_.log.info("associate.tags_set")
      .kv("associate", static_cast<long long>(associate))
      .kv("devices", static_cast<unsigned long long>(updated))
      .kv("tags", join_tags(r.tags))
      .kv("credential", p.name);
  co_return done{};
}

asio::awaitable<decoded<std::string>> pocket_agent::device_tags(const principal& p, const std::string& device_identifier) {
  if (auto e = require_scope(p, authz::scope::devices_read)) co_return *e;
  auto res = co_await deps_.devices.get(device_identifier);
  if (!res) co_return store_error(res.error());
  if (!*res || authz::visibility_of(p, (*res)->associate_id) == authz::visibility::hidden)
    co_return unknown_device(device_identifier);
  co_return join_tags((*res)->tags);
}

asio::awaitable<decoded<done>> pocket_agent::send_push(const principal& p, push_message msg) {
  if (auto e = require_scope(p, authz::scope::messages_write)) co_return *e;
  if (!authz::may_message(p, msg.associate_ids))
    co_return api_error{403, "SoAccessDeniedException", "credential '" + p.name + "' acts as associate " +
                                                            std::to_string(*p.associate_id) + " and may only message it (scope " +
                                                            std::string(authz::scope::messages_any) + " reaches others)"};
  if (!deps_.broker) co_return not_wired("SendPushNotification (the notification fan-out)");
  auto count = msg.associate_ids.size();
  auto res = co_await deps_.broker->submit(std::move(msg));
  if (!res) {
    deps_.log.warning("push.submit_failed").kv("error", res.error().message()).kv("credential", p.name);
    co_return store_error(res.error());
  }
  deps_.log.info("push.submitted").kv("message", *res).kv("associates", static_cast<unsigned long long>(count)).kv("credential", p.name);
  co_return done{};
}

asio::awaitable<decoded<done>> pocket_agent::run_alarm_broker(const principal& p) {
  if (auto e = require_scope(p, authz::scope::broker_run)) co_return *e;
  if (!deps_.broker) co_return not_wired("RunAppointmentAlarmBroker (the appointment-alarm broker)");
  auto ec = co_await deps_.broker->run_once();
  if (ec) {
    deps_.log.warning("broker.run_failed").kv("error", ec.message()).kv("credential", p.name);
    co_return store_error(ec);
  }
  deps_.log.info("broker.run_on_demand").kv("credential", p.name);
  co_return done{};
}

asio::awaitable<decoded<std::optional<agent_value>>> pocket_agent::call(std::string_view op, const principal& p,
                                                                     const std::string& params) {
  using result = decoded<std::optional<agent_value>>;
  auto finish = [](decoded<done>&& d) -> result {
    if (auto* e = std::get_if<api_error>(&d)) return *e;
    return std::optional<agent_value>{};
  };
  if (op == "RegisterDeviceForPushNotification") {
    auto r = decode_register_device(params);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    co_return finish(co_await register_device(p, std::move(std::get<register_device_request>(r))));
  }
  if (op == "GetRegisteredDevices") {
    auto r = decode_associate_request(params);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await registered_devices(p, std::get<std::optional<std::int64_t>>(r));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return std::optional<agent_value>{devices_value(std::get<std::vector<device_info>>(res))};
  }
  if (op == "SetPushNotificationTagsForDevice") {
    auto r = decode_device_tags(params);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    co_return finish(co_await set_device_tags(p, std::get<device_tags_request>(r)));
  }
  if (op == "SetPushNotificationTagsForUser") {
    auto r = decode_user_tags(params);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    co_return finish(co_await set_user_tags(p, std::get<user_tags_request>(r)));
  }
  if (op == "GetPushNotificationTagsForDevice") {
    auto r = decode_device_identifier_request(params);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await device_tags(p, std::get<std::string>(r));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return std::optional<agent_value>{agent_value::string(std::get<std::string>(res))};
  }
  if (op == "SendPushNotification") {
    auto r = decode_send_push(params);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    co_return finish(co_await send_push(p, std::move(std::get<push_message>(r))));
  }
  if (op == "RunAppointmentAlarmBroker") co_return finish(co_await run_alarm_broker(p));
  co_return api_error{404, "SoNotFoundException", "the Pocket agent has no method " + std::string(op)};
}

}  // namespace herald
