-- wrk script of bench/scale: one wrk thread per client and one connection per thread (-t N -c N),
-- so that each client is one annotator with its own API token and its own place in the cycle a
-- person labeling goes through: GET /api/projects/P/next (which locks the task for that user),
-- GET the task, POST an annotation on it (which releases the lock), GET a page of the task
-- list. wrk cannot tell a thread's connections apart, hence one connection per thread.
--
-- Environment (read in setup, the main thread): BENCH_TOKENS a file of tokens, one a line;
-- BENCH_TOKEN_FIRST the 0-based line of this process's first thread; BENCH_PROJECT the project.
-- done() prints one RESULT line and one HIST line (the latency histogram, "us:count" pairs) so
-- that the driver can merge the histograms of two wrk processes into one p99.

local threads = {}

function setup(thread)
  if not tokens then
    tokens = {}
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
      tokens[#tokens + 1] = line
    end
    first = tonumber(os.getenv("BENCH_TOKEN_FIRST"))
  end
  local token = tokens[first + #threads + 1]
  assert(token, "fewer tokens than wrk threads")
  thread:set("token", token)
  thread:set("project", os.getenv("BENCH_PROJECT"))
  threads[#threads + 1] = thread
end

local RESULT = '{"result":[{"id":"b1","type":"rectanglelabels","from_name":"label",' ..
  '"to_name":"image","original_width":640,"original_height":480,"value":{"x":%d,"y":%d,' ..
  '"width":20,"height":25,"rotation":0,"rectanglelabels":["face"]}}],"lead_time":%d}'

function init(args)
  step, task = 0, nil
  ok, non2xx, posted, mismatch = 0, 0, 0, 0
  codes = {}
  headers = {["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json"}
  local seed = os.time()
  for i = 1, #token do seed = (seed * 31 + token:byte(i)) % 2147483647 end
  math.randomseed(seed)
end

function request()
  if step == 0 then
    return wrk.format("GET", "/api/projects/" .. project .. "/next", headers)
  elseif step == 1 then
    return wrk.format("GET", "/api/tasks/" .. task, headers)
  elseif step == 2 then
    return wrk.format("POST", "/api/tasks/" .. task .. "/annotations", headers,
      string.format(RESULT, math.random(0, 70), math.random(0, 70), math.random(5, 60)))
  end
  -- annotators look at the first pages of the Data Manager, not at page 30,000
  return wrk.format("GET", "/api/tasks?project=" .. project .. "&page=" .. math.random(1, 20) ..
    "&page_size=30", headers)
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    codes[status] = (codes[status] or 0) + 1
  end
  if step == 0 then
    -- a failed /next is asked again; the task is the answer's first "id" (the task's own)
    task = status == 200 and body:match('^{"id":(%d+)') or nil
    if task then step = 1 end
  elseif step == 1 then
    if status == 200 and not body:match('^{"id":' .. task .. '[,}]') then
      mismatch = mismatch + 1
    end
    step = 2
  elseif step == 2 then
    if status == 201 then posted = posted + 1 end
    step = 3
  else
    step = 0
  end
end

function done(summary, latency, requests)
  local t_ok, t_non2xx, t_posted, t_mismatch, t_codes = 0, 0, 0, 0, {}
  for _, t in ipairs(threads) do
    t_ok = t_ok + t:get("ok")
    t_non2xx = t_non2xx + t:get("non2xx")
    t_posted = t_posted + t:get("posted")
    t_mismatch = t_mismatch + t:get("mismatch")
    for code, n in pairs(t:get("codes")) do t_codes[code] = (t_codes[code] or 0) + n end
  end
  local e = summary.errors
  local codes = ""
  for code, n in pairs(t_codes) do codes = codes .. code .. ":" .. n .. "," end
  io.write(string.format("RESULT requests=%d ok=%d non2xx=%d connect=%d read=%d write=%d " ..
    "timeout=%d seconds=%f posted=%d mismatch=%d p50_us=%d p99_us=%d codes=%s\n",
    summary.requests, t_ok, t_non2xx, e.connect, e.read, e.write, e.timeout,
    summary.duration / 1e6, t_posted, t_mismatch, latency:percentile(50),
    latency:percentile(99), codes))
  local parts = {}
  for i = 1, #latency do
    local v, n = latency(i)
    parts[#parts + 1] = string.format("%d:%d", v, n)
  end
  io.write("HIST " .. table.concat(parts, " ") .. "\n")
end
