-- wrk script: one iris row per request, never the same twice (cache misses): a counter and a
-- per-run random base make the features unique within and across runs.
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local base = math.random(0, 999999)
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- wrk.format with nil headers keeps wrk.headers, including the -H credential.
request = function()
  n = n + 1
  local body = string.format('{"features":[%.6f,%.6f,4.8,1.8]}', 4 + ((base + n) % 1000000) / 1000000,
                             2 + math.random() * 2)
  return wrk.format(nil, nil, nil, body)
end
