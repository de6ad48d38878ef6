package dev.serveml.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where jobs, their chunks and their input files are kept: the durable queue. Every method is one
 * transaction; blocking; thread-safe. A lease is a token: whoever claimed with it may renew it and
 * commit under it, until it lapses and someone else claims the work.
 */
public interface JobStore {
    /** A chunk of a job's input, as the split records it. */
    record Chunk(int index, long firstLine, int rows, String inputKey) {
    }

    /** A chunk claimed to be scored. */
    record Claimed(Job job, Chunk chunk, String lease, int attempts) {
    }

    /** A chunk's committed part of the result. */
    record Part(int index, String outputKey, String errorsKey) {
    }

    /** A page of a caller's jobs, newest first, and how many there are in all. */
    record Page(List<Job> jobs, long total) {
    }

    /** @param inputBytes the size of an input sent with the job (0 for an uploaded file's, counted with it) */
    void insert(Job job, long inputBytes);

    /**
     * What one owner's jobs hold on disk: their uploaded files and the inputs sent with jobs not yet
     * removed by retention (or deletion).
     */
    long storedBytes(long ownerId);

    Optional<Job> find(String id);

    /** The jobs of one owner (every owner's when {@code ownerId} is empty), newest first. */
    Page list(Optional<Long> ownerId, Optional<JobStatus> status, int limit, int offset);

    /**
     * One owner's jobs of request lines ({@link JobSpec.Lines}), newest first, starting after the job
     * {@code after} when given (a cursor: an unknown id starts at the newest).
     */
    List<Job> listLines(long ownerId, Optional<String> after, int limit);

    /** Takes a queued job (or one whose split's lease lapsed) to split, highest priority first. */
    Optional<Job> claimSplit(String lease, Duration ttl);

    /** The chunks already recorded for a job (a split that starts again keeps them). */
    Set<Integer> chunkIndexes(String jobId);

    /** Records a chunk, unless this lease no longer holds the job's split (then false). */
    boolean addChunk(String jobId, String lease, Chunk chunk);

    /**
     * The split has read the whole input: records the totals and, when every chunk is done already,
     * completes the job. False if the lease no longer holds the split.
     */
    boolean finishSplit(String jobId, String lease, long rows, int chunks, Duration retention);

    /** Takes a chunk of a running job: pending, or whose lease lapsed; highest priority, lowest index first. */
    Optional<Claimed> claimChunk(String lease, Duration ttl);

    /**
     * Commits a scored chunk with its counts and parts, and the job's counters, in one transaction;
     * completes (or, cancelling, cancels) the job when it was the last. False, and nothing changed,
     * if the lease no longer holds the chunk.
     */
    boolean commitChunk(String jobId, int index, String lease, int done, int failed, String outputKey,
                        String errorsKey, Duration retention);

    /** Gives a claimed chunk back, to be taken again. */
    void releaseChunk(String jobId, int index, String lease);

    /** Gives these leases up: their chunks are pending again, their splits free to be taken. */
    void release(Set<String> leases);

    /** Extends these leases (splits and chunks) by {@code ttl} from now. */
    void renew(Set<String> leases, Duration ttl);

    /** Fails an unfinished job with this problem; false if it had finished already. */
    boolean fail(String jobId, JobProblem problem, Duration retention);

    /**
     * Cancels a job: a queued one at once, a running one once no chunk is being scored (until then it
     * is cancelling). Empty if there is no such job; the job unchanged if it had finished.
     */
    Optional<Job> cancel(String jobId, Duration retention);

    /** Moves cancelling jobs whose chunks' leases have all lapsed to cancelled. */
    int settleCancelled(Duration retention);

    /** The committed parts of a job's result, in input order. */
    List<Part> parts(String jobId);

    /** Removes a job and its chunks' rows (its files are the caller's to remove). */
    boolean delete(String jobId);

    /** Finished jobs whose retention has run out. */
    List<String> expired(Instant now, int limit);

    /** Jobs by status (every status, 0 where none). */
    Map<JobStatus, Long> countByStatus();

    /** Chunks of running jobs not done yet. */
    long openChunks();

    /**
     * Why a job's submitter may no longer have it run: their account deleted, or the API key it was
     * submitted with revoked or expired; empty while it may.
     */
    Optional<String> callerRevoked(Job job);

    void insertFile(JobFile file);

    Optional<JobFile> findFile(String id);

    List<JobFile> listFiles(long ownerId);

    boolean deleteFile(String id);

    /** Whether an unfinished job reads this file. */
    boolean fileInUse(String id);

    /** Files whose retention has run out and that no unfinished job reads. */
    List<JobFile> expiredFiles(Instant now, int limit);
}
