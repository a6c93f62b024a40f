-- issue.lua — wrk script of `make bench`: every request a fresh serial.
--
--   wrk -t T -c C -d D -s issue.lua URL -- BODIES MODE TOKEN T [MAX]
--
-- BODIES holds one POST /v1/certificates body a line (tests/bench/gencsr.c);
-- the first MAX lines (all when absent) are used, wrk thread i taking lines
-- i, i+T, i+2T, ... so no two threads send the same serial. MODE is
-- "thingca" (POST /v1/certificates with the bearer TOKEN) or "cfssl" (POST
-- /api/v1/cfssl/sign with {"certificate_request": PEM}, the same CSRs).
--
-- A thread that runs out of bodies starts over: thingcad answers a repeat
-- 200 (a retry, no signature), so only 201 counts as an issuance (cfssl's
-- sign endpoint answers 200 for each new certificate). done() prints one
-- machine-readable line, "BENCH key=value ...", that bench.sh parses.

local threads = {}
local nthreads_seen = 0

function setup(thread)
   thread:set("tid", nthreads_seen)
   nthreads_seen = nthreads_seen + 1
   table.insert(threads, thread)
end

function init(args)
   local file, mode, token = args[1], args[2], args[3]
   local nthreads = tonumber(args[4])
   local max = tonumber(args[5] or "") or math.huge
   local i = 0
   bodies = {}
   for line in io.lines(file) do
      if i >= max then break end
      if i % nthreads == tid then
         if mode == "cfssl" then
            line = line:gsub('^{"serial":"[^"]*","csr":',
                             '{"certificate_request":', 1)
         end
         bodies[#bodies + 1] = line
      end
      i = i + 1
   end
   nbodies = #bodies
   if nbodies == 0 then
      error("no request bodies for thread " .. tid .. " in " .. file)
   end
   idx = 0
   wrapped = 0
   c201, c200, cother = 0, 0, 0
   -- an issuance: thingcad answers 201 (200 is a retry); cfssl answers 200
   ok_status = mode == "cfssl" and 200 or 201
   firsterr = ""
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if mode == "cfssl" then
      path = "/api/v1/cfssl/sign"
   else
      path = "/v1/certificates"
      wrk.headers["Authorization"] = "Bearer " .. token
   end
end

function request()
   idx = idx + 1
   if idx > nbodies then
      idx = 1
      wrapped = wrapped + 1
   end
   return wrk.format(nil, path, nil, bodies[idx])
end

function response(status, headers, body)
   if status == ok_status then
      c201 = c201 + 1
   elseif status == 200 or status == 201 then
      c200 = c200 + 1
   else
      cother = cother + 1
      if firsterr == "" then
         firsterr = status .. ":" .. string.gsub(body:sub(1, 160), "%s", "_")
      end
   end
end

function done(summary, latency, requests)
   local s201, s200, sother, swrap, err = 0, 0, 0, 0, ""
   for _, t in ipairs(threads) do
      s201 = s201 + t:get("c201")
      s200 = s200 + t:get("c200")
      sother = sother + t:get("cother")
      swrap = swrap + t:get("wrapped")
      if err == "" then err = t:get("firsterr") end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH duration_us=%d requests=%d issued=%d retried=%d failed=%d " ..
      "wrapped=%d sock_errors=%d p50_us=%d p90_us=%d p99_us=%d " ..
      "max_us=%d firsterr=%s\n",
      summary.duration, summary.requests, s201, s200, sother, swrap,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max,
      err ~= "" and err or "-"))
end
