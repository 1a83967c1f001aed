-- wrk script for benches/proxy-bench.sh: sends the request mix of
-- benches/proxy-mix.tsv (path in $MIX) in a fixed weighted round-robin,
-- counts responses by status, and prints one machine-readable line:
--   MIX requests=N rps=R p50_us=A p99_us=B s2xx=.. s403=.. sother=.. socket_errors=..
-- Every request carries the same browser-like headers.
local mix = os.getenv("MIX") or "benches/proxy-mix.tsv"
local common = {
   ["Host"] = "shop.example",
   ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
   ["Accept"] = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
   ["Accept-Language"] = "en-US,en;q=0.5",
   ["Cookie"] = "session=0123456789abcdef; theme=dark",
}

local function split(line)
   local out = {}
   for field in (line .. "\t"):gmatch("([^\t]*)\t") do out[#out + 1] = field end
   return out
end

local reqs = {}
local f = assert(io.open(mix, "r"), "cannot open request mix " .. mix)
for line in f:lines() do
   if line ~= "" and line:sub(1, 1) ~= "#" then
      local r = split(line)
      assert(#r == 6, "bad mix line: " .. line)
      local headers = {}
      for k, v in pairs(common) do headers[k] = v end
      local body = nil
      if r[5] ~= "-" then headers["Content-Type"] = r[5] end
      if r[6] ~= "-" then body = r[6] end
      local raw = wrk.format(r[3], r[4], headers, body)
      for _ = 1, tonumber(r[1]) do reqs[#reqs + 1] = raw end
   end
end
f:close()
assert(#reqs > 0, "empty request mix " .. mix)

-- Spread the attacks: a fixed stride through the cycle (coprime with its length).
local stride = 7
while #reqs % stride == 0 do stride = stride + 2 end
local order = {}
for i = 0, #reqs - 1 do order[i + 1] = reqs[(i * stride) % #reqs + 1] end
reqs = order

local threads = {}
function setup(thread)
   thread:set("tid", #threads)
   threads[#threads + 1] = thread
end

local n = 0
counts = {}
function init(args)
   n = (tid or 0) * 13
end

function request()
   n = n + 1
   return reqs[(n % #reqs) + 1]
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, t in ipairs(threads) do
      local c = t:get("counts")
      if c then
         for s, k in pairs(c) do total[s] = (total[s] or 0) + k end
      end
   end
   local s2xx, s403, other, detail = 0, 0, 0, {}
   for s, k in pairs(total) do
      if s >= 200 and s < 300 then
         s2xx = s2xx + k
      elseif s == 403 then
         s403 = s403 + k
      else
         other = other + k
         detail[#detail + 1] = s .. ":" .. k
      end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "MIX requests=%d rps=%.0f p50_us=%d p99_us=%d s2xx=%d s403=%d sother=%d other_detail=%s socket_errors=%d\n",
      summary.requests, summary.requests / secs, latency:percentile(50), latency:percentile(99),
      s2xx, s403, other, (#detail > 0) and table.concat(detail, ",") or "-",
      e.connect + e.read + e.write + e.timeout))
end
