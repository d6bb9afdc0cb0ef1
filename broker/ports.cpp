#include "broker/ports.hpp"

namespace herald {

boost::asio::awaitable<boost::system::result<bool>> delivery_records_port::finish_delivery(const std::string& delivery_id,
                                                                                           const std::string& state) {
  const std::vector<std::string> one{delivery_id};
  auto r = co_await finish_deliveries(one, state);
  if (!r) co_return boost::system::result<bool>(boost::system::in_place_error, r.error());
  co_return !r->empty() && r->front();
}

}  // namespace herald
