-- wrk script: GetRegisteredDevices for a random associate among 1..ASSOCIATES.
local associates = tonumber(os.getenv("ASSOCIATES") or "10000")
local token = os.getenv("TOKEN") or "bench-token"
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
request = function()
  local body = '{"AssociateId":' .. math.random(1, associates) .. '}'
  return wrk.format(nil, "/api/v1/Agents/Pocket/GetRegisteredDevices", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("requests=%d errors_status=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f req_per_s=%.0f\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests / (summary.duration / 1e6)))
end
