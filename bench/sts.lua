-- wrk script for bench/sts.py: POSTs AssumeRoleWithSAML form bodies, a distinct one per request.
--
--   wrk ... -s bench/sts.lua URL -- BODIES RESERVE OFFSET:COUNT [OFFSET:COUNT ...]
--
-- BODIES holds one complete form body per line. Thread k (in the order wrk creates them) reads
-- only its own block of COUNT lines starting at byte OFFSET (the k-th OFFSET:COUNT), one line
-- per request, so no body is sent twice. A thread reads lazily: start-up costs only an open and a
-- seek, so no thread runs long before the others. When only RESERVE lines are left, the thread
-- stops (wrk.thread:stop()) and reports ran_out: connections of that thread that are ready in the
-- same event-loop pass can still ask for a body, so RESERVE must be at least the thread's
-- connections. A run that ran out measured a stopped thread and must be sized larger. (wrk calls
-- request() once on the first thread to check the script before the run; that line is not sent.)
--
-- Responses with status >= 300 are counted by status and each thread keeps the first three
-- bodies (so wrk parses every response for the script, which costs wrk a little CPU). done()
-- prints one `sts.lua thread ...` line per thread, then the kept bodies as `sts.lua sample ...`.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local file, left, reserve
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
taken, overrun, ran_out = 0, 0, false
statuses, samples = {}, {}

function init(args)
   -- args[0] is the URL; the script's arguments follow it.
   local offset, count = args[3 + id]:match("^(%d+):(%d+)$")
   file = assert(io.open(args[1], "rb"))
   file:seek("set", tonumber(offset))
   left, reserve = tonumber(count), tonumber(args[2])
end

function request()
   if left == 0 then
      -- Never reached when RESERVE covers the thread's connections; answered non-2xx if it is.
      overrun = overrun + 1
      return wrk.format("GET", "/sts.lua/out-of-bodies")
   end
   local body = file:read("*l")
   left, taken = left - 1, taken + 1
   if left <= reserve and not ran_out then
      ran_out = true
      wrk.thread:stop()
   end
   return wrk.format("POST", "/", headers, body)
end

function response(status, _, body)
   if status >= 300 then
      statuses[status] = (statuses[status] or 0) + 1
      if #samples < 3 then
         samples[#samples + 1] = status .. " " .. body:sub(1, 600):gsub("%s+", " ")
      end
   end
end

function done()
   for _, thread in ipairs(threads) do
      local codes = {}
      for status, n in pairs(thread:get("statuses")) do
         codes[#codes + 1] = status .. "=" .. n
      end
      io.write(string.format("sts.lua thread %d taken=%d overrun=%d ran_out=%s statuses=%s\n",
         thread:get("id"), thread:get("taken"), thread:get("overrun"), tostring(thread:get("ran_out")),
         table.concat(codes, ",")))
      for _, sample in ipairs(thread:get("samples")) do
         io.write(string.format("sts.lua sample %d %s\n", thread:get("id"), sample))
      end
   end
end
