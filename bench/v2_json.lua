-- wrk script: V2 infer with one iris row as a JSON tensor.
wrk.method = "POST"
wrk.body   = '{"inputs":[{"name":"X","shape":[1,4],"datatype":"FP32","data":[5.9,3.2,4.8,1.8]}]}'
wrk.headers["Content-Type"] = "application/json"
