-- wrk script: POST {"inputs": [TEXT_BATCH texts]} to a text-classification route, cycling through
-- 64 bodies made once from the texts files in TEXT_FILES ("file:weight,file:weight", one text a
-- line; weights interleave them: "short.txt:3,long.txt:1" sends three short texts to one long).
-- Every run sends the same bodies in the same order per connection.
local batch = tonumber(os.getenv("TEXT_BATCH") or "1")
local pool = {}
local sources = {}
for spec in string.gmatch(os.getenv("TEXT_FILES") or "", "[^,]+") do
  local file, weight = string.match(spec, "^(.-):(%d+)$")
  if not file then file, weight = spec, "1" end
  local lines = {}
  for line in io.lines(file) do
    lines[#lines + 1] = '"' .. line:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
  end
  sources[#sources + 1] = {lines = lines, weight = tonumber(weight)}
end
assert(#sources > 0, "set TEXT_FILES")
for i = 1, 64 do
  for _, s in ipairs(sources) do
    for w = 1, s.weight do pool[#pool + 1] = s.lines[((i - 1) * s.weight + w - 1) % #s.lines + 1] end
  end
end
local bodies = {}
for b = 1, 64 do
  local texts = {}
  for j = 1, batch do texts[j] = pool[((b - 1) * batch + j - 1) % #pool + 1] end
  bodies[b] = '{"inputs": [' .. table.concat(texts, ",") .. ']}'
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n - 1) % #bodies + 1])
end
