-- wrk script for one request shape, repeated. Configured by environment variables:
--   WRK_METHOD (GET|POST), WRK_BODY (x-www-form-urlencoded body), WRK_AUTH (Authorization)
-- The same request and output as the peers' script, so results compare one to one.
-- Prints one machine-readable line:  RESULT {json}
local method = os.getenv("WRK_METHOD") or "GET"
local body   = os.getenv("WRK_BODY") or ""
local auth   = os.getenv("WRK_AUTH") or ""

wrk.method = method
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.2f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,' ..
    '"max_ms":%.2f,"mean_ms":%.2f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
