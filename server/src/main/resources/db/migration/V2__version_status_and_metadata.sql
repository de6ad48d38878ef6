-- A version can exist but be unusable (its Python environment failed to build, its workers
-- crash): status says so, status_message says why in the tool's own words. requirements holds
-- a requirements.txt sent beside the model; metadata what the runtime reported when loading.
alter table model_versions
    add column status         text  not null default 'ready' check (status in ('ready', 'failed')),
    add column status_message text  not null default '',
    add column requirements   text,
    add column metadata       jsonb not null default '{}'::jsonb;
