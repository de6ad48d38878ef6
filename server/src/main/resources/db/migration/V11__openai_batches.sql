-- OpenAI's Batch API on the jobs engine: a batch is a job whose rows are whole requests (one JSON
-- line each, {custom_id, method, url, body}) instead of feature columns; the same chunks, leases and
-- commits. Its spec (jsonb) holds what the batch was asked (endpoint, window, metadata); the kind is
-- a column so that GET /v1/batches lists a caller's batches without reading every job's spec.
alter table jobs add column kind text not null default 'rows' check (kind in ('rows', 'lines'));
create index jobs_lines_by_owner on jobs (owner_id, created_at desc, id desc) where kind = 'lines';
