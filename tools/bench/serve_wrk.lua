-- wrk script for tools/bench/serve: POSTs the JSON bodies of $WRK_BODIES (one per line) in turn
-- to $WRK_PATH, with $WRK_TOKEN as a bearer key when set, and prints one JSON line at the end.
local bodies = {}
for line in io.lines(os.getenv("WRK_BODIES")) do
  if #line > 0 then table.insert(bodies, line) end
end
local path = os.getenv("WRK_PATH")
local token = os.getenv("WRK_TOKEN") or ""
local i = math.random(#bodies)

request = function()
  i = i % #bodies + 1
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", path, headers, bodies[i])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
