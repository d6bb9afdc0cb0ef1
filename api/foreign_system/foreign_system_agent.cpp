#include "api/foreign_system/foreign_system_agent.hpp"

#include "api/server/api_service.hpp"
#include "api/access/authorization.hpp"
#include "api/foreign_system/foreign_system_codec.hpp"
#include "api/server/http_helpers.hpp"
#include "api/pocket/pocket_agent.hpp"
#include "runtime/log.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

using result = decoded<std::optional<agent_value>>;

// Creating or writing a device identifier that another associate holds.
api_error not_owner(const principal& p, const foreign_device_ref& ref) {
  return api_error{409, "SoConflictException", "credential '" + p.name + "' acts as associate " + std::to_string(*p.associate_id) +
                                                   " and device '" + ref.device_identifier + "' of application '" +
                                                   ref.application + "' is registered to another associate"};
}

// Another associate's device: reads and deletes answer as for an unknown one.
bool foreign_to(const principal& p, const foreign_device& d) {
  return authz::visibility_of(p, d.associate_id) == authz::visibility::hidden;
}

std::optional<api_error> write_error(foreign_write w, const principal& p, const foreign_device_ref& ref) {
  switch (w) {
    case foreign_write::done: return std::nullopt;
    case foreign_write::not_owner: return not_owner(p, ref);
    case foreign_write::no_device:
      return api_error{404, "SoNotFoundException", "no device '" + ref.device_identifier + "' in application '" + ref.application + "'"};
    case foreign_write::full:
      return api_error{400, "ArgumentException", "limit reached: at most " + std::to_string(max_foreign_keys_per_device) +
                                                     " keys per device and " + std::to_string(max_foreign_devices_per_app) +
                                                     " devices per application"};
  }
  return std::nullopt;
}

template <typename T>
const T* value_or(decoded<T>& d, result& err) {
  if (auto* e = std::get_if<api_error>(&d)) {
    err = *e;
    return nullptr;
  }
  return &std::get<T>(d);
}

}  // namespace

foreign_system_agent::foreign_system_agent(logger& log, std::shared_ptr<redis_client> redis, std::string key_prefix)
    : log_(log), store_(std::move(redis), std::move(key_prefix)) {}

asio::awaitable<result> foreign_system_agent::call(std::string_view op, const principal& p, const std::string& params) {
  result err = std::optional<agent_value>{};
  bool reads = op.starts_with("Get");
  if (auto e = require_scope(p, reads ? authz::scope::devices_read : authz::scope::devices_write)) co_return *e;
  std::string now = iso8601_utc(unix_ms_now());

  if (op == "GetApplicationDevices") {
    auto d = decode_application_request(params);
    auto* app = value_or(d, err);
    if (!app) co_return err;
    auto res = co_await store_.application_devices(*app);
    if (!res) co_return store_error(res.error());
    std::vector<foreign_device> visible;
    for (auto& dev : *res)
      if (!foreign_to(p, dev)) visible.push_back(std::move(dev));
    co_return std::optional<agent_value>{foreign_devices_value(visible)};
  }

  if (op == "GetKeyOnDeviceIdentifier" || op == "GetKeyValueOnDeviceIdentifier" || op == "DeleteForeignKeyOnName") {
    auto d = decode_foreign_key_request(params);
    auto* r = value_or(d, err);
    if (!r) co_return err;
    auto dev = co_await store_.get_device(r->device);
    if (!dev) co_return store_error(dev.error());
    if (*dev && foreign_to(p, **dev)) dev->reset();
    if (op == "DeleteForeignKeyOnName") {
      if (!*dev) co_return std::optional<agent_value>{};
      auto res = co_await store_.delete_key(r->device, r->key_name, r->table_name, r->record_id, p.associate_id);
      if (!res) co_return store_error(res.error());
      if (*res != foreign_write::no_device && *res != foreign_write::not_owner)
        if (auto e = write_error(*res, p, r->device)) co_return *e;
      log_.info("foreign.key_deleted").kv("application", r->device.application).kv("key", r->key_name).kv("credential", p.name);
      co_return std::optional<agent_value>{};
    }
    foreign_key key;  // empty unless stored
    if (*dev) {
      auto res = co_await store_.get_key(r->device, r->key_name, r->table_name, r->record_id);
      if (!res) co_return store_error(res.error());
      if (*res) key = std::move(**res);
    }
    if (op == "GetKeyValueOnDeviceIdentifier") co_return std::optional<agent_value>{agent_value::string(key.value)};
    co_return std::optional<agent_value>{foreign_key_value(key)};
  }

  if (op == "SaveForeignKey") {
    auto d = decode_save_foreign_key(params);
    auto* r = value_or(d, err);
    if (!r) co_return err;
    foreign_key key = r->key;
    key.created_date = key.updated_date = now;
    key.created_by = key.updated_by = p.name;
    // The device is created on first use (owned by the caller); a device
    // deleted between the two steps is created again, once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto dev = co_await store_.add_device(r->device, p.associate_id.value_or(0), p.name, now);
      if (!dev) co_return store_error(dev.error());
      if (auto e = write_error(dev->outcome, p, r->device)) co_return *e;
      if (foreign_to(p, dev->value)) co_return not_owner(p, r->device);
      auto res = co_await store_.save_key(r->device, key, p.associate_id);
      if (!res) co_return store_error(res.error());
      if (res->outcome == foreign_write::no_device && attempt == 0) continue;
      if (auto e = write_error(res->outcome, p, r->device)) co_return *e;
      log_.info("foreign.key_saved").kv("application", r->device.application).kv("key", key.key).kv("credential", p.name);
      co_return std::optional<agent_value>{foreign_key_value(res->value)};
    }
    co_return api_error{409, "ConcurrencyException", "the device was deleted while the key was saved; try again"};
  }

  if (op == "GetDeviceKeysOnDeviceIdentifier" || op == "AddDeviceByIdentifier" || op == "GetDeviceByIdentifier" ||
      op == "DeleteDeviceByIdentifier") {
    auto d = decode_foreign_device_request(params);
    auto* r = value_or(d, err);
    if (!r) co_return err;
    if (op == "AddDeviceByIdentifier") {
      auto dev = co_await store_.add_device(*r, p.associate_id.value_or(0), p.name, now);
      if (!dev) co_return store_error(dev.error());
      if (auto e = write_error(dev->outcome, p, *r)) co_return *e;
      if (foreign_to(p, dev->value)) co_return not_owner(p, *r);
      co_return std::optional<agent_value>{foreign_device_value(dev->value)};
    }
    if (op == "DeleteDeviceByIdentifier") {
      auto res = co_await store_.delete_device(*r, p.associate_id);
      if (!res) co_return store_error(res.error());
      if (*res != foreign_write::no_device && *res != foreign_write::not_owner)
        if (auto e = write_error(*res, p, *r)) co_return *e;
      log_.info("foreign.device_deleted").kv("application", r->application).kv("credential", p.name);
      co_return std::optional<agent_value>{};
    }
    auto dev = co_await store_.get_device(*r);
    if (!dev) co_return store_error(dev.error());
    if (*dev && foreign_to(p, **dev)) dev->reset();
    if (op == "GetDeviceByIdentifier") co_return std::optional<agent_value>{foreign_device_value(dev->value_or(foreign_device{}))};
    std::vector<foreign_key> keys;
    if (*dev) {
      auto res = co_await store_.device_keys(*r);
      if (!res) co_return store_error(res.error());
      keys = std::move(*res);
    }
    co_return std::optional<agent_value>{foreign_keys_value(keys)};
  }
  co_return api_error{404, "SoNotFoundException", "the ForeignSystem agent has no method " + std::string(op)};
}

}  // namespace herald
