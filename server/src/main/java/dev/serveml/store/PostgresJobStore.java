package dev.serveml.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.auth.Principal;
import dev.serveml.inference.Target;
import dev.serveml.jobs.Binding;
import dev.serveml.jobs.InputFormat;
import dev.serveml.jobs.Job;
import dev.serveml.jobs.JobFile;
import dev.serveml.jobs.JobProblem;
import dev.serveml.jobs.JobSpec;
import dev.serveml.jobs.JobStatus;
import dev.serveml.jobs.JobStore;
import dev.serveml.jobs.OutputFormat;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** {@link JobStore} on PostgreSQL with plain JDBC: the queue is {@code FOR UPDATE SKIP LOCKED}. */
public final class PostgresJobStore implements JobStore {
    private static final String JOB_COLUMNS = "id, owner_id, caller, spec, binding, input_key, input_file_id, status, "
            + "rows_total, rows_done, rows_failed, chunks_total, error, revision, created_at, started_at, finished_at, "
            + "expires_at, updated_at";
    /** Whether a chunk of this job is being scored under a live lease (a cancel waits for it). */
    private static final String SCORING = "exists (select 1 from job_chunks k where k.job_id = jobs.id "
            + "and k.state = 'running' and k.lease_until > now())";

    private final DataSource dataSource;
    private final ObjectMapper json;

    public PostgresJobStore(DataSource dataSource, ObjectMapper json) {
        this.dataSource = dataSource;
        this.json = json;
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * One transaction. Its commit does not wait for the WAL to reach the disk: a commit that a crash
     * of PostgreSQL itself takes back (the last fraction of a second) takes back the chunk's state and
     * the job's counters together, as if that chunk had not been scored, and it is scored again into
     * new files; no row is lost or counted twice. A killed ServeML loses nothing either way. Waiting
     * for the disk on each of a job's thousands of chunks would cost more than scoring them. What a
     * caller was answered for (a job or file accepted, cancelled, deleted) waits: {@link #durably}.
     */
    private <T> T transaction(String what, Work<T> work) {
        return transaction(what, false, work);
    }

    private <T> T durably(String what, Work<T> work) {
        return transaction(what, true, work);
    }

    private <T> T transaction(String what, boolean durable, Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                if (!durable) {
                    try (java.sql.Statement s = c.createStatement()) {
                        s.execute("set local synchronous_commit = off");
                    }
                }
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw StoreException.of(what, e);
        }
    }

    @Override
    public void insert(Job job, long inputBytes) {
        durably("insert job", c -> {
            try (PreparedStatement s = c.prepareStatement("insert into jobs (id, owner_id, caller, spec, binding, "
                    + "input_key, input_file_id, status, priority, created_at, updated_at, kind, input_bytes) "
                    + "values (?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                s.setString(1, job.id());
                s.setLong(2, job.ownerId());
                s.setString(3, text(job.caller()));
                s.setString(4, specText(job.spec()));
                s.setString(5, text(job.binding()));
                s.setString(6, job.inputKey());
                s.setString(7, job.inputFileId());
                s.setString(8, job.status().value());
                s.setInt(9, job.spec().priority());
                s.setTimestamp(10, Timestamp.from(job.createdAt()));
                s.setTimestamp(11, Timestamp.from(job.createdAt()));
                s.setString(12, job.spec().lines() == null ? "rows" : "lines");
                s.setLong(13, inputBytes);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public long storedBytes(long ownerId) {
        return transaction("sum a tenant's job files", c -> {
            try (PreparedStatement s = c.prepareStatement("select coalesce((select sum(bytes) from job_files "
                    + "where owner_id = ?), 0) + coalesce((select sum(input_bytes) from jobs where owner_id = ?), 0)")) {
                s.setLong(1, ownerId);
                s.setLong(2, ownerId);
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    /** The job by its id, read in the transaction at hand. */
    private Optional<Job> select(Connection c, String id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select " + JOB_COLUMNS + " from jobs where id = ?")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(job(rs)) : Optional.empty();
            }
        }
    }

    @Override
    public Optional<Job> find(String id) {
        return transaction("find job", c -> {
            return select(c, id);
        });
    }

    @Override
    public Page list(Optional<Long> ownerId, Optional<JobStatus> status, int limit, int offset) {
        String where = " where (?::bigint is null or owner_id = ?) and (?::text is null or status = ?)";
        return transaction("list jobs", c -> {
            List<Job> jobs = new ArrayList<>();
            long total;
            try (PreparedStatement s = c.prepareStatement("select " + JOB_COLUMNS + " from jobs" + where
                    + " order by created_at desc, id limit ? offset ?")) {
                bindFilter(s, ownerId, status);
                s.setInt(5, limit);
                s.setInt(6, offset);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        jobs.add(job(rs));
                    }
                }
            }
            try (PreparedStatement s = c.prepareStatement("select count(*) from jobs" + where)) {
                bindFilter(s, ownerId, status);
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                }
            }
            return new Page(jobs, total);
        });
    }

    @Override
    public List<Job> listLines(long ownerId, Optional<String> after, int limit) {
        return transaction("list batches", c -> {
            List<Job> jobs = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select " + JOB_COLUMNS + " from jobs where owner_id = ? "
                    + "and kind = 'lines' and (?::text is null or not exists (select 1 from jobs a where a.id = ? "
                    + "and a.owner_id = jobs.owner_id) or (created_at, id) < (select a.created_at, a.id from jobs a "
                    + "where a.id = ?)) order by created_at desc, id desc limit ?")) {
                s.setLong(1, ownerId);
                s.setString(2, after.orElse(null));
                s.setString(3, after.orElse(null));
                s.setString(4, after.orElse(null));
                s.setInt(5, limit);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        jobs.add(job(rs));
                    }
                }
            }
            return jobs;
        });
    }

    private static void bindFilter(PreparedStatement s, Optional<Long> ownerId, Optional<JobStatus> status)
            throws SQLException {
        s.setObject(1, ownerId.orElse(null), java.sql.Types.BIGINT);
        s.setObject(2, ownerId.orElse(null), java.sql.Types.BIGINT);
        s.setString(3, status.map(JobStatus::value).orElse(null));
        s.setString(4, status.map(JobStatus::value).orElse(null));
    }

    @Override
    public Optional<Job> claimSplit(String lease, Duration ttl) {
        return transaction("claim a job to split", c -> {
            try (PreparedStatement s = c.prepareStatement("with next as (select id from jobs "
                    + "where status = 'queued' or (status = 'running' and chunks_total is null and split_until < now()) "
                    + "order by priority desc, created_at, id limit 1 for update skip locked) "
                    + "update jobs set status = 'running', started_at = coalesce(started_at, now()), split_owner = ?, "
                    + "split_until = now() + ? * interval '1 millisecond', revision = revision + 1, updated_at = now() "
                    + "from next where jobs.id = next.id returning " + qualified())) {
                s.setString(1, lease);
                s.setLong(2, ttl.toMillis());
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? Optional.of(job(rs)) : Optional.empty();
                }
            }
        });
    }

    private static String qualified() {
        return "jobs." + JOB_COLUMNS.replace(", ", ", jobs.");
    }

    @Override
    public Set<Integer> chunkIndexes(String jobId) {
        return transaction("list chunks", c -> {
            Set<Integer> indexes = new HashSet<>();
            try (PreparedStatement s = c.prepareStatement("select index from job_chunks where job_id = ?")) {
                s.setString(1, jobId);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        indexes.add(rs.getInt(1));
                    }
                }
            }
            return indexes;
        });
    }

    @Override
    public boolean addChunk(String jobId, String lease, Chunk chunk) {
        return transaction("record a chunk", c -> {
            try (PreparedStatement s = c.prepareStatement("insert into job_chunks (job_id, index, first_line, rows, "
                    + "input_key, state) select ?, ?, ?, ?, ?, 'pending' where exists (select 1 from jobs where id = ? "
                    + "and split_owner = ? and status in ('running', 'cancelling')) on conflict do nothing")) {
                s.setString(1, jobId);
                s.setInt(2, chunk.index());
                s.setLong(3, chunk.firstLine());
                s.setInt(4, chunk.rows());
                s.setString(5, chunk.inputKey());
                s.setString(6, jobId);
                s.setString(7, lease);
                s.executeUpdate();
            }
            return holdsSplit(c, jobId, lease);
        });
    }

    private static boolean holdsSplit(Connection c, String jobId, String lease) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select 1 from jobs where id = ? and split_owner = ? "
                + "and status = 'running'")) {
            s.setString(1, jobId);
            s.setString(2, lease);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next();
            }
        }
    }

    @Override
    public boolean finishSplit(String jobId, String lease, long rows, int chunks, Duration retention) {
        return transaction("finish a split", c -> {
            int n;
            try (PreparedStatement s = c.prepareStatement("update jobs set rows_total = ?, chunks_total = ?, "
                    + "split_owner = null, split_until = null, revision = revision + 1, updated_at = now() "
                    + "where id = ? and split_owner = ? and status in ('running', 'cancelling')")) {
                s.setLong(1, rows);
                s.setInt(2, chunks);
                s.setString(3, jobId);
                s.setString(4, lease);
                n = s.executeUpdate();
            }
            if (n == 1) {
                settle(c, jobId, retention);
            }
            return n == 1;
        });
    }

    /**
     * After a change to a job's chunks, with the job's row locked by that change: a running job whose
     * chunks are all done is completed; a cancelling one with none being scored is cancelled.
     */
    private static void settle(Connection c, String jobId, Duration retention) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("update jobs set status = case when status = 'running' "
                + "then 'completed' else 'cancelled' end, finished_at = now(), split_owner = null, "
                + "expires_at = now() + ? * interval '1 millisecond', revision = revision + 1, updated_at = now() "
                + "where id = ? and ((status = 'running' and chunks_total is not null and not exists (select 1 from "
                + "job_chunks k where k.job_id = jobs.id and k.state <> 'done')) or (status = 'cancelling' and not "
                + SCORING + " and (split_owner is null or split_until < now())))")) {
            s.setLong(1, retention.toMillis());
            s.setString(2, jobId);
            s.executeUpdate();
        }
    }

    @Override
    public Optional<Claimed> claimChunk(String lease, Duration ttl) {
        return transaction("claim a chunk", c -> {
            String jobId;
            Chunk chunk;
            int attempts;
            try (PreparedStatement s = c.prepareStatement("with next as (select k.job_id, k.index from job_chunks k "
                    + "join jobs j on j.id = k.job_id where j.status = 'running' and (k.state = 'pending' "
                    + "or (k.state = 'running' and k.lease_until < now())) "
                    + "order by j.priority desc, j.created_at, k.job_id, k.index limit 1 for update of k skip locked) "
                    + "update job_chunks k set state = 'running', lease_owner = ?, "
                    + "lease_until = now() + ? * interval '1 millisecond', attempts = k.attempts + 1 from next "
                    + "where k.job_id = next.job_id and k.index = next.index "
                    + "returning k.job_id, k.index, k.first_line, k.rows, k.input_key, k.attempts")) {
                s.setString(1, lease);
                s.setLong(2, ttl.toMillis());
                try (ResultSet rs = s.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    jobId = rs.getString(1);
                    chunk = new Chunk(rs.getInt(2), rs.getLong(3), rs.getInt(4), rs.getString(5));
                    attempts = rs.getInt(6);
                }
            }
            return Optional.of(new Claimed(select(c, jobId).orElseThrow(), chunk, lease, attempts));
        });
    }

    @Override
    public boolean commitChunk(String jobId, int index, String lease, int done, int failed, String outputKey,
                               String errorsKey, Duration retention) {
        return transaction("commit a chunk", c -> {
            lockJob(c, jobId);
            int n;
            try (PreparedStatement s = c.prepareStatement("update job_chunks set state = 'done', rows_done = ?, "
                    + "rows_failed = ?, output_key = ?, errors_key = ?, lease_owner = null, lease_until = null "
                    + "where job_id = ? and index = ? and lease_owner = ? and state = 'running'")) {
                s.setInt(1, done);
                s.setInt(2, failed);
                s.setString(3, outputKey);
                s.setString(4, errorsKey);
                s.setString(5, jobId);
                s.setInt(6, index);
                s.setString(7, lease);
                n = s.executeUpdate();
            }
            if (n != 1) {
                return false;
            }
            try (PreparedStatement s = c.prepareStatement("update jobs set rows_done = rows_done + ?, "
                    + "rows_failed = rows_failed + ?, revision = revision + 1, updated_at = now() where id = ?")) {
                s.setLong(1, done);
                s.setLong(2, failed);
                s.setString(3, jobId);
                s.executeUpdate();
            }
            settle(c, jobId, retention);
            return true;
        });
    }

    /** Serialises the changes to one job's chunks, so that the last commit sees every other one. */
    private static void lockJob(Connection c, String jobId) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select 1 from jobs where id = ? for update")) {
            s.setString(1, jobId);
            s.executeQuery().close();
        }
    }

    @Override
    public void releaseChunk(String jobId, int index, String lease) {
        transaction("release a chunk", c -> {
            lockJob(c, jobId);
            try (PreparedStatement s = c.prepareStatement("update job_chunks set state = 'pending', lease_owner = null, "
                    + "lease_until = null where job_id = ? and index = ? and lease_owner = ? and state = 'running'")) {
                s.setString(1, jobId);
                s.setInt(2, index);
                s.setString(3, lease);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void release(Set<String> leases) {
        if (leases.isEmpty()) {
            return;
        }
        transaction("release leases", c -> {
            java.sql.Array tokens = c.createArrayOf("text", leases.toArray());
            try (PreparedStatement s = c.prepareStatement("update jobs set split_until = now() - interval '1 second' "
                    + "where split_owner = any(?)")) {
                s.setArray(1, tokens);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("update job_chunks set state = 'pending', lease_owner = null, "
                    + "lease_until = null where state = 'running' and lease_owner = any(?)")) {
                s.setArray(1, tokens);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void renew(Set<String> leases, Duration ttl) {
        if (leases.isEmpty()) {
            return;
        }
        transaction("renew leases", c -> {
            java.sql.Array tokens = c.createArrayOf("text", leases.toArray());
            try (PreparedStatement s = c.prepareStatement("update jobs set split_until = now() + ? * interval "
                    + "'1 millisecond' where split_owner = any(?)")) {
                s.setLong(1, ttl.toMillis());
                s.setArray(2, tokens);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("update job_chunks set lease_until = now() + ? * interval "
                    + "'1 millisecond' where state = 'running' and lease_owner = any(?)")) {
                s.setLong(1, ttl.toMillis());
                s.setArray(2, tokens);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public boolean fail(String jobId, JobProblem problem, Duration retention) {
        return transaction("fail a job", c -> {
            try (PreparedStatement s = c.prepareStatement("update jobs set status = 'failed', error = ?::jsonb, "
                    + "finished_at = now(), split_owner = null, expires_at = now() + ? * interval '1 millisecond', "
                    + "revision = revision + 1, updated_at = now() "
                    + "where id = ? and status in ('queued', 'running', 'cancelling')")) {
                s.setString(1, text(problem));
                s.setLong(2, retention.toMillis());
                s.setString(3, jobId);
                return s.executeUpdate() == 1;
            }
        });
    }

    @Override
    public Optional<Job> cancel(String jobId, Duration retention) {
        return durably("cancel a job", c -> {
            lockJob(c, jobId);
            try (PreparedStatement s = c.prepareStatement("update jobs set status = 'cancelling', "
                    + "revision = revision + 1, updated_at = now() where id = ? and status in ('queued', 'running')")) {
                s.setString(1, jobId);
                s.executeUpdate();
            }
            settle(c, jobId, retention);
            return select(c, jobId);
        });
    }

    @Override
    public int settleCancelled(Duration retention) {
        return transaction("settle cancelled jobs", c -> {
            try (PreparedStatement s = c.prepareStatement("update jobs set status = 'cancelled', finished_at = now(), "
                    + "split_owner = null, expires_at = now() + ? * interval '1 millisecond', revision = revision + 1, "
                    + "updated_at = now() where status = 'cancelling' and not " + SCORING
                    + " and (split_owner is null or split_until < now())")) {
                s.setLong(1, retention.toMillis());
                return s.executeUpdate();
            }
        });
    }

    @Override
    public List<Part> parts(String jobId) {
        return transaction("list a job's parts", c -> {
            List<Part> parts = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select index, output_key, errors_key from job_chunks "
                    + "where job_id = ? and state = 'done' order by index")) {
                s.setString(1, jobId);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        parts.add(new Part(rs.getInt(1), rs.getString(2), rs.getString(3)));
                    }
                }
            }
            return parts;
        });
    }

    @Override
    public boolean delete(String jobId) {
        return durably("delete a job", c -> {
            try (PreparedStatement s = c.prepareStatement("delete from jobs where id = ?")) {
                s.setString(1, jobId);
                return s.executeUpdate() == 1;
            }
        });
    }

    @Override
    public List<String> expired(Instant now, int limit) {
        return transaction("list expired jobs", c -> {
            List<String> ids = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select id from jobs where expires_at < ? "
                    + "and status in ('completed', 'failed', 'cancelled') order by expires_at limit ?")) {
                s.setTimestamp(1, Timestamp.from(now));
                s.setInt(2, limit);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        ids.add(rs.getString(1));
                    }
                }
            }
            return ids;
        });
    }

    @Override
    public Map<JobStatus, Long> countByStatus() {
        return transaction("count jobs", c -> {
            Map<JobStatus, Long> counts = new EnumMap<>(JobStatus.class);
            for (JobStatus s : JobStatus.values()) {
                counts.put(s, 0L);
            }
            try (PreparedStatement s = c.prepareStatement("select status, count(*) from jobs group by status");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    JobStatus.named(rs.getString(1)).ifPresent(st -> {
                        try {
                            counts.put(st, rs.getLong(2));
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                }
            }
            return counts;
        });
    }

    @Override
    public long openChunks() {
        return transaction("count open chunks", c -> {
            try (PreparedStatement s = c.prepareStatement("select count(*) from job_chunks k join jobs j "
                    + "on j.id = k.job_id where j.status = 'running' and k.state <> 'done'");
                 ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    @Override
    public Optional<String> callerRevoked(Job job) {
        return transaction("check a job's submitter", c -> {
            try (PreparedStatement s = c.prepareStatement("select u.deleted_at is not null, "
                    + "k.id is not null and (k.revoked_at is not null or k.expires_at < now()) "
                    + "from users u left join api_keys k on k.id = ? and k.user_id = u.id where u.id = ?")) {
                s.setLong(1, job.caller().apiKeyId());
                s.setLong(2, job.ownerId());
                try (ResultSet rs = s.executeQuery()) {
                    if (!rs.next() || rs.getBoolean(1)) {
                        return Optional.of("the account that submitted the job was deleted");
                    }
                    if (job.caller().apiKeyId() > 0 && rs.getBoolean(2)) {
                        return Optional.of("the API key the job was submitted with was revoked or has expired");
                    }
                    return Optional.empty();
                }
            }
        });
    }

    @Override
    public void insertFile(JobFile f) {
        durably("insert a file", c -> {
            try (PreparedStatement s = c.prepareStatement("insert into job_files (id, owner_id, filename, purpose, bytes, "
                    + "sha256, artifact_key, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                s.setString(1, f.id());
                s.setLong(2, f.ownerId());
                s.setString(3, f.filename());
                s.setString(4, f.purpose());
                s.setLong(5, f.bytes());
                s.setString(6, f.sha256());
                s.setString(7, f.artifactKey());
                s.setTimestamp(8, Timestamp.from(f.createdAt()));
                s.setTimestamp(9, f.expiresAt() == null ? null : Timestamp.from(f.expiresAt()));
                s.executeUpdate();
            }
            return null;
        });
    }

    private static final String FILE_COLUMNS = "id, owner_id, filename, purpose, bytes, sha256, artifact_key, "
            + "created_at, expires_at";

    @Override
    public Optional<JobFile> findFile(String id) {
        return transaction("find a file", c -> {
            try (PreparedStatement s = c.prepareStatement("select " + FILE_COLUMNS + " from job_files where id = ?")) {
                s.setString(1, id);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? Optional.of(file(rs)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public List<JobFile> listFiles(long ownerId) {
        return transaction("list files", c -> {
            List<JobFile> files = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select " + FILE_COLUMNS + " from job_files "
                    + "where owner_id = ? order by created_at desc, id limit 1000")) {
                s.setLong(1, ownerId);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        files.add(file(rs));
                    }
                }
            }
            return files;
        });
    }

    @Override
    public boolean deleteFile(String id) {
        return durably("delete a file", c -> {
            try (PreparedStatement s = c.prepareStatement("delete from job_files where id = ?")) {
                s.setString(1, id);
                return s.executeUpdate() == 1;
            }
        });
    }

    @Override
    public boolean fileInUse(String id) {
        return transaction("check a file's use", c -> {
            try (PreparedStatement s = c.prepareStatement("select 1 from jobs where input_file_id = ? "
                    + "and status in ('queued', 'running', 'cancelling') limit 1")) {
                s.setString(1, id);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next();
                }
            }
        });
    }

    @Override
    public List<JobFile> expiredFiles(Instant now, int limit) {
        return transaction("list expired files", c -> {
            List<JobFile> files = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select " + FILE_COLUMNS + " from job_files f "
                    + "where expires_at < ? and not exists (select 1 from jobs j where j.input_file_id = f.id "
                    + "and j.status in ('queued', 'running', 'cancelling')) order by expires_at limit ?")) {
                s.setTimestamp(1, Timestamp.from(now));
                s.setInt(2, limit);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        files.add(file(rs));
                    }
                }
            }
            return files;
        });
    }

    private static JobFile file(ResultSet rs) throws SQLException {
        return new JobFile(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getLong(5),
                rs.getString(6), rs.getString(7), instant(rs.getTimestamp(8)), instant(rs.getTimestamp(9)));
    }

    private Job job(ResultSet rs) throws SQLException {
        try {
            Principal caller = json.readValue(rs.getString("caller"), Principal.class);
            JobSpec spec = spec(json.readTree(rs.getString("spec")));
            Binding binding = json.readValue(rs.getString("binding"), Binding.class);
            String error = rs.getString("error");
            long total = rs.getLong("rows_total");
            Long rowsTotal = rs.wasNull() ? null : total;
            int chunks = rs.getInt("chunks_total");
            Integer chunksTotal = rs.wasNull() ? null : chunks;
            return new Job(rs.getString("id"), rs.getLong("owner_id"), caller, spec, binding, rs.getString("input_key"),
                    rs.getString("input_file_id"), JobStatus.named(rs.getString("status")).orElseThrow(), rowsTotal,
                    rs.getLong("rows_done"), rs.getLong("rows_failed"), chunksTotal,
                    error == null ? null : json.readValue(error, JobProblem.class), rs.getLong("revision"),
                    instant(rs.getTimestamp("created_at")), instant(rs.getTimestamp("started_at")),
                    instant(rs.getTimestamp("finished_at")), instant(rs.getTimestamp("expires_at")),
                    instant(rs.getTimestamp("updated_at")));
        } catch (JsonProcessingException e) {
            throw new SQLException("a job's stored JSON cannot be read: " + e.getOriginalMessage(), e);
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private String text(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    private String specText(JobSpec spec) {
        ObjectNode o = json.createObjectNode();
        switch (spec.target()) {
            case null -> {
                ObjectNode lines = o.putObject("lines");
                lines.put("endpoint", spec.lines().endpoint());
                lines.put("completion_window", spec.lines().completionWindow());
                ObjectNode metadata = lines.putObject("metadata");
                spec.lines().metadata().forEach(metadata::put);
            }
            case Target.Model m -> {
                o.put("model", m.name());
                m.version().ifPresent(v -> o.put("version", v));
            }
            case Target.Deployment d -> o.put("deployment", d.name());
            case Target.Named n -> throw new IllegalArgumentException("a job names a model or a deployment");
        }
        o.put("input", spec.input().name());
        o.put("output", spec.output().name());
        spec.features().forEach(o.putArray("features")::add);
        o.putArray("passthrough");
        spec.passthrough().forEach(((com.fasterxml.jackson.databind.node.ArrayNode) o.get("passthrough"))::add);
        o.put("rows_per_call", spec.rowsPerCall());
        o.put("priority", spec.priority());
        return o.toString();
    }

    private static JobSpec spec(JsonNode o) {
        JobSpec.Lines lines = null;
        if (o.has("lines")) {
            JsonNode l = o.get("lines");
            Map<String, String> metadata = new java.util.LinkedHashMap<>();
            l.get("metadata").fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().textValue()));
            lines = new JobSpec.Lines(l.get("endpoint").textValue(), l.get("completion_window").textValue(), metadata);
        }
        Target target = lines != null ? null : o.has("deployment") ? new Target.Deployment(o.get("deployment").textValue())
                : new Target.Model(o.get("model").textValue(),
                o.has("version") ? Optional.of(o.get("version").intValue()) : Optional.empty());
        List<String> features = new ArrayList<>();
        if (o.has("features")) {
            o.get("features").forEach(f -> features.add(f.textValue()));
        }
        List<String> passthrough = new ArrayList<>();
        o.get("passthrough").forEach(f -> passthrough.add(f.textValue()));
        return new JobSpec(target, InputFormat.valueOf(o.get("input").textValue()),
                OutputFormat.valueOf(o.get("output").textValue()), features, passthrough,
                o.get("rows_per_call").intValue(), o.get("priority").intValue(), lines);
    }
}
