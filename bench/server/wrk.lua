-- wrk script of the server benchmark (bench/server/run.sh): cycles through the request files that
-- bench/server/make-bodies.js wrote (first line the path, second the body), POST with
-- Content-Type: application/json, over wrk's keep-alive connections; counts the statuses and prints
-- one JSON line at the end.
--
--   wrk -t T -c C -d S --latency -s bench/server/wrk.lua http://127.0.0.1:PORT -- \
--       dir=bench/out/server list=valid threads=T [unique=1] [nonce=ABCDE] [rate=R] [expect=201] [count=1] \
--       [label=NAME] [path=/v1/messages] [header='Name: value']...
--
--   dir, list   the request files: DIR/LIST.list names them, one a line, relative to DIR
--   threads=T   wrk's -t again (a thread cannot see it; pacing needs it)
--   unique=1    every request sent gets its own senderUniqueReferences: the 16-character marker
--               "FGREF" + 11 digits that make-bodies.js left in each reference is replaced by
--               nonce (5) + thread (2 digits) + counter (9 digits), so a server that detects
--               repeated references sees none, across threads and (with a fresh nonce) across
--               runs against the same server process. unique=0 sends the files as they are.
--   nonce       5 alphanumeric characters; default: from the clock (base 36 of the time)
--   rate=R      pace the whole run at about R requests/s: every thread hands out send slots
--               1/(R/T) s apart on its own monotonic clock and delay() holds each connection until
--               its slot (whole milliseconds, wrk's resolution); a server slower than that simply
--               gets the closed-loop rate. wrk measures latency from send to response, so the
--               hold is not counted. 0 (default) = as fast as the connections go.
--   expect=S    the status expected of every response (201 or 400): the first 3 responses of any
--               other status are kept per thread, and printed at the end on stderr as
--               "sample STATUS PATH: BODY" (body cut at 600 bytes)
--   label       copied into the JSON line
--   path=P      send every request to P instead of the path in its file's first line (e.g.
--               /v1/messages, which takes the same DIPMessageArray bodies: bench/routing/run.sh)
--
-- The JSON line (stdout, prefixed "wrkjson "):
--   {"label":..,"requests":N,"duration_s":..,"rps":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,
--    "p999_ms":..,"max_ms":..,"mean_ms":..,"status":{"201":N,"400":N,...},"other":N,
--    "errors":{"connect":..,"read":..,"write":..,"timeout":..},"rate_target":R,"threads":T}
-- "other" = responses neither 201, 202 nor 400; "over_399" = wrk's own count of statuses > 399;
-- "counted" = false with count=0 (then "status" is empty). wrk's own --latency table is printed
-- above the line as usual.
--   count=0     no response() callback: wrk then does not hand headers and bodies to Lua, which
--               saves load-generator CPU; only "over_399" tells the statuses apart

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } fg_timespec;
  int clock_gettime(int clk_id, fg_timespec *tp);
]]
local ts = ffi.new("fg_timespec")
local function now_s()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- setup/done side (main thread) ------------------------------------------------------------------
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- thread side --------------------------------------------------------------------------------------
thread_id = 0
local reqs = {}        -- { path=, parts={...} } (unique) or prebuilt request strings
local n_reqs = 0
local pos = 0
local unique = true
local prefix = ""      -- nonce .. thread
local counter = 0
local interval = 0     -- seconds between send slots of this thread; 0 = no pacing
local last_slot = 0
local expect = nil
local headers = { ["Content-Type"] = "application/json" }
status_counts = {}
samples = {}
local sample_count = {}
opts = {}

local function read_all(file)
  local f = assert(io.open(file, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function base36(n, width)
  local digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  local s = ""
  repeat
    local d = n % 36
    s = digits:sub(d + 1, d + 1) .. s
    n = math.floor(n / 36)
  until n == 0
  while #s < width do s = "0" .. s end
  return s:sub(-width)
end

local pace  -- defined below
local MARK = "FGREF%d%d%d%d%d%d%d%d%d%d%d"

function init(args)
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if not k then error("wrk.lua: argument " .. a .. " is not key=value") end
    if k == "header" then
      local hn, hv = v:match("^([^:]+):%s*(.*)$")
      if not hn then error("wrk.lua: header=" .. v .. " is not 'Name: value'") end
      headers[hn] = hv
    else
      opts[k] = v
    end
  end
  local dir = opts.dir or "bench/out/server"
  local list = opts.list or "valid"
  unique = (opts.unique or "1") ~= "0"
  expect = tonumber(opts.expect)
  local threads_n = tonumber(opts.threads) or 1
  local rate = tonumber(opts.rate) or 0
  if rate > 0 then
    interval = threads_n / rate
    delay = pace
  end
  -- count=0: no response() (wrk then skips handing headers and bodies to Lua): statuses are not
  -- counted, only wrk's own count of statuses > 399.
  if (opts.count or "1") == "0" then response = nil end
  local nonce = opts.nonce or base36(math.floor(os.time()) % (36 ^ 5), 5)
  if not nonce:match("^%w%w%w%w%w$") then error("wrk.lua: nonce must be 5 alphanumeric characters") end
  prefix = nonce .. string.format("%02d", thread_id % 100)

  for name in read_all(dir .. "/" .. list .. ".list"):gmatch("[^\n]+") do
    local text = read_all(dir .. "/" .. name)
    local path, body = text:match("^([^\n]+)\n([^\n]*)")
    if not path then error("wrk.lua: " .. name .. " is not PATH\\nBODY") end
    -- The whole request (request line, headers, body) is built once; with unique=1 it is kept cut
    -- at the markers, and request() only joins the pieces around fresh tokens of the same length
    -- (16 characters), so Content-Length stays right.
    local full = wrk.format("POST", opts.path or path, headers, body)
    if unique then
      local parts, at = {}, 1
      while true do
        local s, e = full:find(MARK, at)
        if not s then break end
        table.insert(parts, full:sub(at, s - 1))
        at = e + 1
      end
      table.insert(parts, full:sub(at))
      if #parts < 2 then error("wrk.lua: " .. name .. " has no FGREF marker to make unique (unique=0 sends it as is)") end
      table.insert(reqs, { path = path, parts = parts, n = #parts })
    else
      table.insert(reqs, full)
    end
  end
  n_reqs = #reqs
  if n_reqs == 0 then error("wrk.lua: no request files in " .. dir .. "/" .. list .. ".list") end
  -- Threads start at different places of the cycle.
  pos = (thread_id * 37) % n_reqs
end

-- The path of each recent request, by its counter (a ring), so that a response of an unexpected
-- status can be traced back to its request file through the reference the server echoes.
local RING = 8192
local ring = {}

function request()
  pos = pos + 1
  if pos > n_reqs then pos = 1 end
  local r = reqs[pos]
  if not unique then return r end
  local parts = r.parts
  if r.n == 2 then  -- one message per request: the common case, without a table
    counter = counter + 1
    ring[counter % RING] = r.path
    return parts[1] .. prefix .. string.format("%09d", counter % 1000000000) .. parts[2]
  end
  local out = { parts[1] }
  for i = 2, r.n do
    counter = counter + 1
    out[#out + 1] = prefix .. string.format("%09d", counter % 1000000000)
    out[#out + 1] = parts[i]
  end
  ring[counter % RING] = r.path
  return table.concat(out)
end

function response(status, hdrs, body)
  local k = tostring(status)
  status_counts[k] = (status_counts[k] or 0) + 1
  if expect and status ~= expect then
    local c = sample_count[k] or 0
    if c < 3 then
      sample_count[k] = c + 1
      local p = "?"
      if unique and body then
        local n = body:match(prefix .. "(%d%d%d%d%d%d%d%d%d)")
        if n then p = ring[tonumber(n) % RING] or "?" end
      end
      table.insert(samples, k .. " " .. p .. ": " .. (body or ""):sub(1, 600))
    end
  end
end

-- Pacing (rate=R): installed as the global delay() by init() only when asked for, since wrk
-- routes every request through a timer once a delay() exists (it checks after init()).
pace = function()
  local t = now_s()
  local slot = last_slot + interval
  if slot < t then slot = t end
  last_slot = slot
  return math.floor((slot - t) * 1000 + 0.5)
end

function done(summary, latency, requests)
  local merged, other, expected = {}, 0, 0
  local all_samples = {}
  local rate_target = 0
  for _, t in ipairs(threads) do
    local sc = t:get("status_counts") or {}
    for k, v in pairs(sc) do merged[k] = (merged[k] or 0) + v end
    local sm = t:get("samples") or {}
    for _, s in ipairs(sm) do table.insert(all_samples, s) end
    local o = t:get("opts") or {}
    rate_target = tonumber(o.rate) or 0
  end
  local keys = {}
  for k, v in pairs(merged) do
    table.insert(keys, k)
    if k ~= "201" and k ~= "202" and k ~= "400" then other = other + v end
  end
  table.sort(keys)
  local st = {}
  for _, k in ipairs(keys) do table.insert(st, string.format('"%s":%d', k, merged[k])) end
  local o1 = threads[1] and threads[1]:get("opts") or {}
  local dur = summary.duration / 1e6
  local line = string.format(
    '{"label":"%s","requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"p999_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"status":{%s},"other":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"rate_target":%s,"threads":%d,"bytes":%d,"over_399":%d,"counted":%s}',
    (o1.label or ""):gsub('[\\"]', ""), summary.requests, dur, summary.requests / dur,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    table.concat(st, ","), other,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    tostring(rate_target), #threads, summary.bytes, summary.errors.status, ((o1.count or "1") ~= "0") and "true" or "false")
  io.write("wrkjson " .. line .. "\n")
  for _, s in ipairs(all_samples) do
    io.stderr:write("sample " .. s:gsub("\n", " ") .. "\n")
  end
end
