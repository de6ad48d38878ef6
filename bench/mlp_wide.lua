-- wrk script: POST one 256-float row of mlp_wide.onnx as {"features": [...]}.
-- The row is made here (a fixed linear congruential sequence), so every run sends the same body.
local seed = 12345
local function next_float()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed / 2147483648) * 2 - 1
end
local values = {}
for i = 1, 256 do values[i] = string.format("%.5f", next_float()) end
wrk.method = "POST"
wrk.body   = '{"features":[' .. table.concat(values, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
