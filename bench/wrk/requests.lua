-- wrk script for every bench run. Environment:
--   BENCH_REQUESTS  a file of request lines "<path>\t<json body or nothing>", sent in turn
--   BENCH_METHOD    GET (default) or POST; a POST gets a fresh Idempotency-Key every time
--   BENCH_AUTH      an Authorization header value, optional
--   BENCH_RUN_ID    makes this run's idempotency keys unique across runs
--   BENCH_HEADER    one more header, "Name: value", optional (If-None-Match for revalidation)
-- done() prints one JSON line with the figures bench/run.py reads (non_2xx: 4xx/5xx answers).
local lines, index, counter = {}, 0, 0
local method = os.getenv("BENCH_METHOD") or "GET"
local auth = os.getenv("BENCH_AUTH")
local run_id = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local extra_name, extra_value = (os.getenv("BENCH_HEADER") or ""):match("^([^:]+):%s*(.*)$")

for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local path, body = line:match("^([^\t]*)\t?(.*)$")
  lines[#lines + 1] = {path = path, body = body ~= "" and body or nil}
end

function request()
  index = index % #lines + 1
  counter = counter + 1
  local headers = {}
  if auth then headers["Authorization"] = auth end
  if extra_name then headers[extra_name] = extra_value end
  local entry = lines[index]
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = run_id .. "-" .. counter
  end
  return wrk.format(method, entry.path, headers, entry.body)
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
