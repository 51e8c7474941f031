-- wrk script of the benchmark (tests/benchmarks/wrk.py starts wrk with it).
--
--   wrk -s load.lua URL -- get PATH ANSWERS MARKERS THREADS
--   wrk -s load.lua URL -- book DAY SLOTS RUN ANSWERS MARKERS THREADS   (SLOTS: 0900,...)
--   wrk -s load.lua URL -- scan BODIES_FILE TOKEN ANSWERS MARKERS THREADS
--
-- "book" sends a booking for a new, valid visitor with every request: resident ID numbers
-- with a correct check character, unique across threads and runs (address codes differ per
-- thread and per RUN number). "scan" sends each body of BODIES_FILE (one JSON body a line)
-- once, spread over the threads. ANSWERS > 0: each thread, once it has had its share of
-- answers, leaves a file in the MARKERS folder and stops. At the end one line
-- "RESULT {json}" says how many answers of each kind came back and the latency.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

local mode, limit, answered, markers = nil, 0, 0, nil
-- a global, so that done() can read each thread's copy
outcomes = {}
local area
local bodies, next_body = {}, 1
local path, day, slots, token

local WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local CHECK = "10X98765432"

local function resident_id(area, serial)
   -- a birth date from 1950 on, one day per thousand serials, and a 3-digit sequence
   local born = os.time{year = 1950, month = 1, day = 1, hour = 12} + math.floor(serial / 1000) * 86400
   local first17 = area .. os.date("%Y%m%d", born) .. string.format("%03d", serial % 1000)
   local total = 0
   for i = 1, 17 do
      total = total + tonumber(first17:sub(i, i)) * WEIGHTS[i]
   end
   local r = total % 11
   return first17 .. CHECK:sub(r + 1, r + 1)
end

function init(args)
   mode = args[1]
   local index = wrk.thread:get("index")
   -- the last argument: how many threads wrk runs (setup() fills "threads" in wrk's own
   -- Lua state, not in this thread's)
   local count = tonumber(args[#args])
   if mode == "get" then
      path = args[2]
      limit, markers = tonumber(args[3]) or 0, args[4]
   elseif mode == "book" then
      day = args[2]
      slots = {}
      for slot in string.gmatch(args[3], "[^,]+") do table.insert(slots, slot) end
      -- address codes 41xxxx (Henan) differ per thread and per run
      area = string.format("41%04d", (tonumber(args[4]) or 0) * 16 + index + 100)
      limit, markers = tonumber(args[5]) or 0, args[6]
      wrk.method = "POST"
      wrk.path = "/api/v1/bookings"
      wrk.headers["Content-Type"] = "application/json"
   elseif mode == "scan" then
      local all = {}
      for line in io.lines(args[2]) do table.insert(all, line) end
      -- this thread's share: every count-th body
      for i = index + 1, #all, count do table.insert(bodies, all[i]) end
      token = args[3]
      limit, markers = tonumber(args[4]) or 0, args[5]
      if index == 0 then
         -- wrk calls request() once on its first thread before any connection, only to see
         -- how many requests it returns, and sends nothing of it: that call gets a filler
         -- (bodies[0] is nil), so that no ticket is lost with it
         next_body = 0
      end
      wrk.method = "POST"
      wrk.path = "/api/v1/gate/scan"
      wrk.headers["Content-Type"] = "application/json"
      wrk.headers["Authorization"] = "Bearer " .. token
   end
   if limit > 0 then
      limit = mode == "scan" and #bodies or math.ceil(limit / count)
   end
end

function request()
   if mode == "book" then
      counter = counter + 1
      local slot = slots[(counter % #slots) + 1]
      local body = string.format(
         '{"date":"%s","slot_id":"%s","phone":"138%08d","consent":true,' ..
         '"visitors":[{"name":"张三","id_type":"resident_id","id_number":"%s"}]}',
         day, slot, counter % 100000000, resident_id(area, counter))
      return wrk.format(nil, nil, nil, body)
   elseif mode == "scan" then
      local body = bodies[next_body]
      next_body = next_body + 1
      if body == nil then
         -- every ticket sent: until the last answers are in, keep the connection busy with
         -- something that scans nothing
         return wrk.format("GET", "/health", {})
      end
      return wrk.format(nil, nil, nil, body)
   end
   return wrk.format("GET", path)
end

function delay()
   -- every ticket sent: a filler now and then, until the last answers are in
   if mode == "scan" and next_body > #bodies then
      return 500
   end
   return 0
end

function response(status, headers, body)
   local kind = tostring(status)
   if status >= 400 then
      local code = body:match('"code"%s*:%s*"([%w_]+)"')
      if code then kind = kind .. " " .. code end
   elseif mode == "scan" then
      if body:match('"status"%s*:%s*"ok"') then
         kind = "filler (/health)"
      elseif body:match('"admitted"%s*:%s*true') then
         kind = "admitted"
      else
         kind = "refused " .. (body:match('"reason"%s*:%s*"([%w_]+)"') or "?")
      end
   end
   outcomes[kind] = (outcomes[kind] or 0) + 1
   -- fillers do not count towards the thread's share: every scan must have its answer
   -- before the thread stops
   if kind ~= "filler (/health)" then
      answered = answered + 1
   end
   if limit > 0 and answered == limit then
      local marker = io.open(markers .. "/done-" .. wrk.thread:get("index"), "w")
      if marker then marker:close() end
      wrk.thread:stop()
   end
end

local function encode(tbl)
   local parts = {}
   for key, value in pairs(tbl) do
      table.insert(parts, string.format('"%s":%d', key, value))
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      for key, value in pairs(thread:get("outcomes") or {}) do
         merged[key] = (merged[key] or 0) + value
      end
   end
   io.write(string.format(
      'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"socket_errors":%d,"outcomes":%s}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout, encode(merged)))
end
