-- Issue 17: the prediction log. One row per logged prediction (a deployment's or model's
-- `logging` rule samples them), written in batches off the request path. Partitioned by UTC day
-- on `at`: the writer creates each day's partition before its first row, and retention drops whole
-- partitions (SERVEML_PREDICTION_LOG_RETENTION), never deletes rows.
--
-- request_id is the answer's X-Request-Id: a client may choose its own, so it is not unique and
-- is only ever looked up together with who may see the row (the caller, user_id, or the model's
-- owner through model_id). model_id 0 / version 0: refused before a version answered.
-- No foreign keys: the log outlives deleted models, keys and users, and a write never waits on
-- their rows' locks.
create sequence prediction_log_seq;

create table prediction_log (
    at          timestamptz not null,
    seq         bigint      not null default nextval('prediction_log_seq'),
    request_id  text        not null,
    model_id    bigint      not null,
    model       text        not null,
    version     integer     not null,
    deployment  text,
    role        text        not null check (role in ('served', 'shadow')),
    lane        text        not null check (lane in ('online', 'batch')),
    user_id     bigint      not null,
    key_id      bigint      not null,
    latency_us  bigint      not null,
    cache       text        not null,
    status      smallint    not null,
    error_code  text,
    rows        integer     not null,
    -- per row, the predicted label or value (what feedback is joined against); null when not kept
    predicted   jsonb,
    -- the payloads as V2-style tensors, when payloads were on and sampled; cut to max_payload_bytes
    inputs      jsonb,
    outputs     jsonb,
    truncated   boolean     not null default false
) partition by range (at);

create index prediction_log_request on prediction_log (request_id);
create index prediction_log_model_at on prediction_log (model_id, at, seq);
create index prediction_log_user_at on prediction_log (user_id, at, seq);
