-- Batch jobs. A job's input is split once into chunks (each chunk's rows are an artifact of its
-- own); any worker on any replica then claims a chunk with FOR UPDATE SKIP LOCKED under a lease,
-- writes its output and errors as artifacts, and commits the chunk with the job's counters in one
-- transaction. A killed worker's lease expires and the chunk is taken again from its input: no row
-- is lost and none is counted twice. The split itself is leased too, and deterministic, so a split
-- cut short is read again from the start and the chunks already recorded are kept as they are.

-- Files uploaded to be the input of jobs (POST /api/v1/files, and OpenAI's /v1/files).
create table job_files (
    id           text        primary key,
    owner_id     bigint      not null references users (id),
    filename     text        not null,
    purpose      text        not null,
    bytes        bigint      not null,
    sha256       text        not null,
    artifact_key text        not null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz
);
create index job_files_by_owner on job_files (owner_id, created_at desc);

create table jobs (
    id            text        primary key,
    owner_id      bigint      not null references users (id),
    -- Who submitted it, as the worker calls the model on its behalf: user, role, scopes, API key.
    caller        jsonb       not null,
    -- The job's request as accepted: target, formats, columns, rows per call (see JobSpec).
    spec          jsonb       not null,
    -- The accepted binding of columns to the model's inputs, fixed at submission.
    binding       jsonb       not null,
    input_key     text        not null,
    input_file_id text,
    status        text        not null check (status in ('queued', 'running', 'completed', 'failed', 'cancelling',
                                                        'cancelled')),
    priority      int         not null default 0,
    rows_total    bigint,
    rows_done     bigint      not null default 0,
    rows_failed   bigint      not null default 0,
    chunks_total  int,
    split_owner   text,
    split_until   timestamptz,
    error         jsonb,
    -- Bumped on every change: the event stream's ids, and what a poll compares.
    revision      bigint      not null default 1,
    created_at    timestamptz not null default now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    expires_at    timestamptz,
    updated_at    timestamptz not null default now()
);
create index jobs_by_owner on jobs (owner_id, created_at desc);
-- What workers look for: jobs to split, in priority order.
create index jobs_active on jobs (priority desc, created_at) where status in ('queued', 'running', 'cancelling');
create index jobs_expiring on jobs (expires_at) where expires_at is not null;

create table job_chunks (
    job_id      text        not null references jobs (id) on delete cascade,
    index       int         not null,
    first_line  bigint      not null,
    rows        int         not null,
    input_key   text        not null,
    state       text        not null check (state in ('pending', 'running', 'done')),
    lease_owner text,
    lease_until timestamptz,
    attempts    int         not null default 0,
    rows_done   int,
    rows_failed int,
    output_key  text,
    errors_key  text,
    primary key (job_id, index)
);
create index job_chunks_open on job_chunks (job_id, index) where state <> 'done';
