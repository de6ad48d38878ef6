-- wrk script: V2 infer with the binary tensor data extension: a JSON header, then one iris row
-- as 16 raw little-endian FP32 bytes; outputs asked back in binary too.
local header = '{"inputs":[{"name":"X","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}],"parameters":{"binary_data_output":true}}'
wrk.method = "POST"
wrk.body   = header .. "\205\204\188\64\205\204\76\64\154\153\153\64\102\102\230\63"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
