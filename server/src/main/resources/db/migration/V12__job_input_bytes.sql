-- The size of each job's input as it was sent with the job (0 for one read from an uploaded file,
-- which job_files counts): a tenant's files for jobs are held to their storage quota.
alter table jobs add column input_bytes bigint not null default 0;
