-- Deployments: a name clients call, pointing at one model with a traffic policy over its
-- versions and a serving config. previous_policy is what rollback goes back to. Every status
-- change is also an event row, which the event stream replays to late subscribers.
create table deployments (
    id              bigserial primary key,
    name            text        not null,
    owner_id        bigint references users (id),
    model_id        bigint      not null references models (id),
    policy          jsonb       not null,
    previous_policy jsonb,
    config          jsonb       not null,
    status          text        not null check (status in ('pending', 'building', 'loading', 'active', 'failed')),
    status_message  text        not null default '',
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    deleted_at      timestamptz
);
-- Names are unique among live deployments, so a deleted deployment's name can be used again.
create unique index deployments_live_name on deployments (name) where deleted_at is null;

create table deployment_events (
    id            bigserial primary key,
    deployment_id bigint      not null references deployments (id),
    at            timestamptz not null default now(),
    step          text        not null,
    percent       integer     not null check (percent between 0 and 100),
    message       text        not null,
    status        text        not null
);
create index deployment_events_by_deployment on deployment_events (deployment_id, id);
