-- Users, their refresh-token families, API keys, per-model access settings and the audit log.
-- Secrets (refresh tokens, API keys) are stored only as SHA-256 hashes.
create table users (
    id            bigserial primary key,
    username      text        not null unique,
    password_hash text        not null,
    role          text        not null check (role in ('admin', 'user')),
    created_at    timestamptz not null default now(),
    deleted_at    timestamptz
);

create table refresh_tokens (
    id          bigserial primary key,
    user_id     bigint      not null references users (id),
    family      uuid        not null,
    token_hash  char(64)    not null unique,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    revoked_at  timestamptz
);
create index refresh_tokens_family on refresh_tokens (family);

create table api_keys (
    id                   bigserial primary key,
    user_id              bigint      not null references users (id),
    name                 text        not null,
    prefix               text        not null unique,
    key_hash             char(64)    not null,
    scopes               text[]      not null,
    rate_limit_per_minute integer    check (rate_limit_per_minute > 0),
    daily_quota          integer     check (daily_quota > 0),
    created_at           timestamptz not null default now(),
    expires_at           timestamptz,
    revoked_at           timestamptz
);
create index api_keys_user on api_keys (user_id);

alter table models
    add column owner_id              bigint references users (id),
    add column public                boolean not null default false,
    add column rate_limit_per_minute integer check (rate_limit_per_minute > 0);

create table audit_log (
    id        bigserial primary key,
    at        timestamptz not null default now(),
    actor_id  bigint,
    actor     text        not null,
    ip        text        not null,
    action    text        not null,
    target    text        not null,
    outcome   text        not null check (outcome in ('success', 'failure')),
    detail    jsonb       not null default '{}'::jsonb
);
create index audit_log_actor on audit_log (actor_id, at desc);
create index audit_log_action on audit_log (action, at desc);
