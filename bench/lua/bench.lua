-- wrk script for `make bench` (bench/run.py drives it; see docs/benchmarks.md).
--
-- Two modes, chosen by environment variables:
--   BENCH_BODIES=<prefix>  POST pre-signed bodies: thread N reads "<prefix>.N", one request per
--                          line ("<X-Hub-Signature-256>\t<body>"), each body sent once (unique
--                          wamids); running out is reported, never papered over by reuse
--                          (unless BENCH_REUSE=1: the bare view, where bodies do not matter).
--   BENCH_PATHS=<file>     GET the paths listed in the file (one per line), round robin, with
--                          BENCH_COOKIE (a signed-in session) as the Cookie header.
-- BENCH_PATH is the URL path to POST to. BENCH_OUT names the JSON file written at the end:
-- wrk's own counts and latency percentiles (microseconds, client side), the HTTP status codes
-- seen, and every response's server time (ms) from the Server-Timing header bench/wsgi.py adds.

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  times = {}
  exhausted = 0
  i = 0
  local prefix = os.getenv("BENCH_BODIES")
  if prefix then
    mode = "post"
    post_path = os.getenv("BENCH_PATH")
    reuse = os.getenv("BENCH_REUSE") == "1"
    signatures, bodies = {}, {}
    for line in io.lines(prefix .. "." .. id) do
      local tab = line:find("\t", 1, true)
      signatures[#signatures + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
  else
    mode = "get"
    paths = {}
    for line in io.lines(os.getenv("BENCH_PATHS")) do
      if #line > 0 then paths[#paths + 1] = line end
    end
    i = id  -- threads start at different paths
    get_headers = {["Cookie"] = os.getenv("BENCH_COOKIE") or ""}
  end
end

function request()
  i = i + 1
  if mode == "post" then
    if i > #bodies and reuse then
      i = 1
    elseif i > #bodies then
      -- Out of unique bodies: stop this thread and say so (run.py repeats the run with more).
      exhausted = 1
      wrk.thread:stop()
      i = #bodies
    end
    return wrk.format("POST", post_path, {
      ["Content-Type"] = "application/json",
      ["X-Hub-Signature-256"] = signatures[i],
    }, bodies[i])
  end
  return wrk.format("GET", paths[(i - 1) % #paths + 1], get_headers)
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
  local timing = headers["Server-Timing"] or headers["server-timing"]
  if timing then
    local duration = timing:match("dur=([%d%.]+)")
    if duration then times[#times + 1] = tonumber(duration) end
  end
end

function done(summary, latency, requests)
  local all_codes, all_times, ran_out = {}, {}, 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("codes")) do
      all_codes[code] = (all_codes[code] or 0) + count
    end
    for _, value in ipairs(thread:get("times")) do all_times[#all_times + 1] = value end
    if thread:get("exhausted") == 1 then ran_out = 1 end
  end
  local parts = {}
  for code, count in pairs(all_codes) do parts[#parts + 1] = string.format('"%d": %d', code, count) end
  local timings = {}
  for n, value in ipairs(all_times) do timings[n] = string.format("%.3f", value) end
  local errors = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "exhausted": %s, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}, '
      .. '"codes": {%s}, "server_ms": [%s]}',
    summary.requests, summary.duration, summary.bytes, ran_out == 1 and "true" or "false",
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99),
    table.concat(parts, ", "), table.concat(timings, ",")))
  out:close()
end
