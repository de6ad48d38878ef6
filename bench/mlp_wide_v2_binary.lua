-- wrk script: V2 infer of mlp_wide.onnx with the binary tensor data extension: a JSON header,
-- then one 256-float row as raw little-endian FP32 bytes (the same values as mlp_wide.lua),
-- outputs asked back in binary. Needs wrk's LuaJIT (string.pack is not there: bytes made by hand).
local seed = 12345
local function next_float()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed / 2147483648) * 2 - 1
end
local function fp32(x) -- IEEE 754 single, little-endian; inputs are in (-1, 1) and not tiny
  if x == 0 then return string.char(0, 0, 0, 0) end
  local sign = 0
  if x < 0 then sign = 1; x = -x end
  local exponent = math.floor(math.log(x) / math.log(2))
  local mantissa = x / 2 ^ exponent - 1
  if mantissa < 0 then exponent = exponent - 1; mantissa = x / 2 ^ exponent - 1 end
  if mantissa >= 1 then exponent = exponent + 1; mantissa = x / 2 ^ exponent - 1 end
  local m = math.floor(mantissa * 2 ^ 23 + 0.5)
  if m >= 2 ^ 23 then m = 0; exponent = exponent + 1 end
  local e = exponent + 127
  local b0 = m % 256
  local b1 = math.floor(m / 256) % 256
  local b2 = math.floor(m / 65536) % 128 + (e % 2) * 128
  local b3 = math.floor(e / 2) + sign * 128
  return string.char(b0, b1, b2, b3)
end
local bytes = {}
for i = 1, 256 do bytes[i] = fp32(tonumber(string.format("%.5f", next_float()))) end
local header = '{"inputs":[{"name":"X","shape":[1,256],"datatype":"FP32","parameters":{"binary_data_size":1024}}],'
  .. '"parameters":{"binary_data_output":true}}'
wrk.method = "POST"
wrk.body   = header .. table.concat(bytes)
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
