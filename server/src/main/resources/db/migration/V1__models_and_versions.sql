-- Models and their immutable versions. Rows are soft-deleted (deleted_at) so that a deletion
-- can be undone; version numbers are never reused, deleted or not.
create table models (
    id          bigserial primary key,
    name        text        not null unique,
    description text        not null default '',
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    deleted_at  timestamptz
);

create table model_versions (
    id           bigserial primary key,
    model_id     bigint      not null references models (id),
    version      integer     not null check (version > 0),
    format       text        not null,
    runtime      text        not null,
    sha256       char(64)    not null,
    size_bytes   bigint      not null check (size_bytes > 0),
    artifact_key text        not null,
    file_name    text        not null,
    signature    jsonb       not null,
    state        text        not null default 'active' check (state in ('active', 'deprecated', 'archived')),
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    deleted_at   timestamptz,
    unique (model_id, version)
);

create index model_versions_artifact_key on model_versions (artifact_key);
