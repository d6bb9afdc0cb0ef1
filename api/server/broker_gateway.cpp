#include "api/server/broker_gateway.hpp"

#include "broker/alarm_broker.hpp"

namespace herald {

namespace {

class alarm_broker_gateway final : public broker_gateway {
 public:
  explicit alarm_broker_gateway(alarm_broker& broker) : broker_(broker) {}

  boost::asio::awaitable<boost::system::result<std::string>> submit(push_message m) override {
    co_return co_await broker_.submit(std::move(m));
  }
  boost::asio::awaitable<boost::system::error_code> run_once() override { co_return co_await broker_.run_once(); }
  boost::asio::awaitable<boost::system::result<appointment_written>> put_appointment(const appointment& a) override {
    auto r = co_await broker_.put_appointment(a);
    if (!r) co_return r.error();
    co_return appointment_written{r->revision, r->created, r->rearmed};
  }
  boost::asio::awaitable<boost::system::result<std::optional<appointment>>> get_appointment(const std::string& id) override {
    co_return co_await broker_.get_appointment(id);
  }
  boost::asio::awaitable<boost::system::result<bool>> delete_appointment(const std::string& id) override {
    co_return co_await broker_.delete_appointment(id);
  }

 private:
  alarm_broker& broker_;
};

}  // namespace

std::unique_ptr<broker_gateway> make_broker_gateway(alarm_broker& broker) {
  return std::make_unique<alarm_broker_gateway>(broker);
}

}  // namespace herald
