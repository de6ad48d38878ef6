-- Hub imports: a version registered from the Hugging Face Hub, with its progress. The state column
-- holds the whole import as the API shows it (phase, percent, bytes, commit, problem); every change
-- is also an event row holding the state as it was, which the event stream replays to late
-- subscribers. No token is ever stored here.
create table model_imports (
    id         text        primary key,
    model_name text        not null,
    owner_id   bigint references users (id),
    phase      text        not null check (phase in ('validating', 'downloading', 'loading', 'pipeline', 'ready', 'failed')),
    state      jsonb       not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index model_imports_by_model on model_imports (model_name, created_at desc);
-- What a start looks for: imports a stopped server left running.
create index model_imports_unfinished on model_imports (phase) where phase not in ('ready', 'failed');

create table model_import_events (
    id        bigserial primary key,
    import_id text        not null references model_imports (id),
    at        timestamptz not null default now(),
    phase     text        not null,
    state     jsonb       not null
);
create index model_import_events_by_import on model_import_events (import_id, id);
