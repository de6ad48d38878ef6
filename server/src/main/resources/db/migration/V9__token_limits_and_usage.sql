-- Issue 15: API keys may limit the model tokens (prompt and completion) their answers take, per
-- minute and per UTC day, as they limit requests; a child key never allows more than its parent.
alter table api_keys
    add column tokens_per_minute integer check (tokens_per_minute > 0),
    add column tokens_per_day    integer check (tokens_per_day > 0);

-- What each key spent on each model per UTC day, added to by a batching writer off the request
-- path. key_id 0: a session token (no key). No foreign keys: usage stays readable for accounting
-- after a key or user is gone, and a write never waits on their rows' locks.
create table usage_daily (
    day               date   not null,
    user_id           bigint not null,
    key_id            bigint not null,
    model             text   not null,
    requests          bigint not null default 0,
    prompt_tokens     bigint not null default 0,
    completion_tokens bigint not null default 0,
    primary key (user_id, day, key_id, model)
);
create index usage_daily_day on usage_daily (day);
