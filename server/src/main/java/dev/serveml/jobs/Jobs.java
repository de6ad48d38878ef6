package dev.serveml.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.artifacts.ArtifactStore;
import dev.serveml.artifacts.StagedUpload;
import dev.serveml.auth.Principal;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.Deployments;
import dev.serveml.deployments.TrafficPolicy;
import dev.serveml.inference.Target;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.tensor.Signature;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * Batch jobs as their callers see them: files, submission (the file checked against the model's
 * signature before the job is accepted), reads, cancel, delete, and the parts of a result. A caller
 * sees only its own files and jobs; another's answer as not found. Blocking (JDBC, files): call it
 * off the event loop. The work itself is {@link JobRunner}'s.
 */
public final class Jobs {
    /** The longest row read from an input file. */
    static final int MAX_ROW_CHARS = 1 << 20;
    /** How many rows the header check reads, at most, for a first row that can be read (JSON formats). */
    private static final int HEADER_ROWS = 1000;
    public static final String PURPOSE_JOBS = "jobs";
    /** The purpose of a file of request lines (OpenAI's batch input). */
    public static final String PURPOSE_BATCH = "batch";
    /** Request lines per chunk: each is its own call, so a chunk is a few seconds of work, not minutes. */
    static final int LINES_PER_CHUNK = 64;

    private final JobStore store;
    private final ArtifactStore artifacts;
    private final ModelRegistry registry;
    private final Deployments deployments;
    private final ObjectMapper json;
    private final Duration retention;
    private final InstantSource clock;
    private final Runnable wake;
    private final long quotaBytesPerUser;

    /**
     * @param quotaBytesPerUser what one non-admin tenant's job files (uploaded files and inputs sent
     *                          with jobs) may hold on disk at once, apart from their models' quota
     * @param wake              tells the workers that there is work (a job was accepted)
     */
    public Jobs(JobStore store, ArtifactStore artifacts, ModelRegistry registry, Deployments deployments,
                ObjectMapper json, Duration retention, long quotaBytesPerUser, InstantSource clock, Runnable wake) {
        this.quotaBytesPerUser = quotaBytesPerUser;
        this.store = store;
        this.artifacts = artifacts;
        this.registry = registry;
        this.deployments = deployments;
        this.json = json;
        this.retention = retention;
        this.clock = clock;
        this.wake = wake;
    }

    /** Keeps an uploaded file to be jobs' input; the staged file is moved in or deleted. */
    public JobFile addFile(Principal caller, StagedUpload staged, String purpose) {
        try {
            if (staged.size() == 0) {
                throw new ProblemException(ProblemType.INVALID_JOB, "the file is empty");
            }
            requireRoom(caller, staged.size());
            String id = "file-" + UUID.randomUUID();
            String key = "files/" + id + staged.extension();
            artifacts.put(key, staged.file());
            Instant now = clock.instant();
            JobFile file = new JobFile(id, caller.userId(), staged.fileName(), purpose, staged.size(), staged.sha256(),
                    key, now, now.plus(retention));
            try {
                store.insertFile(file);
            } catch (RuntimeException e) {
                artifacts.delete(key);
                throw e;
            }
            return file;
        } finally {
            deleteQuietly(staged.file());
        }
    }

    /**
     * Refuses a file that would take a tenant's job files past their quota (administrators have none).
     * Two uploads at once may both pass: a tenant has at most SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER.
     */
    private void requireRoom(Principal caller, long bytes) {
        if (caller.admin()) {
            return;
        }
        long held = store.storedBytes(caller.userId());
        if (held + bytes > quotaBytesPerUser) {
            throw new ProblemException(ProblemType.STORAGE_QUOTA_EXCEEDED, "your jobs' files hold " + held
                    + " bytes; this one of " + bytes + " would pass the " + quotaBytesPerUser + "-byte quota "
                    + "(SERVEML_STORAGE_QUOTA_PER_USER, counted apart from your models); delete finished jobs or "
                    + "uploaded files, or wait for their retention to remove them");
        }
    }

    public JobFile requireFile(Principal caller, String id) {
        return store.findFile(id).filter(f -> caller.canSee(f.ownerId()))
                .orElseThrow(() -> new ProblemException(ProblemType.FILE_NOT_FOUND, "no file '" + id + "'"));
    }

    public List<JobFile> listFiles(Principal caller) {
        return store.listFiles(caller.userId());
    }

    /** Where a file's bytes can be read (a local copy for a remote store). */
    public Path fileContent(JobFile file) {
        return artifacts.localPath(file.artifactKey());
    }

    public void deleteFile(Principal caller, String id) {
        JobFile file = requireFile(caller, id);
        if (store.fileInUse(id)) {
            throw new ProblemException(ProblemType.FILE_IN_USE, "file '" + id + "' is the input of a job that has not "
                    + "finished; cancel the job or wait for it, then delete the file");
        }
        if (store.deleteFile(id)) {
            artifacts.delete(file.artifactKey());
        }
    }

    /**
     * Checks a job against its file and model and accepts it, queued. The file's columns are bound
     * to the model's inputs now, so a job that cannot run is refused here rather than failing later.
     */
    public Job submit(Principal caller, JobRequest request) {
        Optional<Path> staged = request.upload().map(StagedUpload::file);
        try {
            String id = "job-" + UUID.randomUUID();
            Path input;
            String fileName;
            long size;
            Optional<JobFile> file = Optional.empty();
            if (request.upload().isPresent()) {
                StagedUpload upload = request.upload().get();
                input = upload.file();
                fileName = upload.fileName();
                size = upload.size();
            } else {
                JobFile f = requireFile(caller, request.fileId().orElseThrow());
                file = Optional.of(f);
                input = artifacts.localPath(f.artifactKey());
                fileName = f.filename();
                size = f.bytes();
            }
            if (size == 0) {
                throw new ProblemException(ProblemType.INVALID_JOB, "the file is empty");
            }
            if (file.isEmpty()) {
                requireRoom(caller, size);
            }
            InputFormat format = request.input().or(() -> formatOf(fileName)).orElseThrow(() -> new ProblemException(
                    ProblemType.INVALID_JOB, "say the file's format: \"input_format\" is csv, jsonl or json (the file "
                    + "name '" + fileName + "' does not end in .csv, .jsonl, .ndjson or .json)"));
            Signature signature = signature(caller, request.target());
            List<String> header = header(input, format);
            Binding binding = Binding.of(signature, header, request.features(), request.passthrough());
            OutputFormat output = request.output().orElse(format == InputFormat.CSV ? OutputFormat.CSV : OutputFormat.JSONL);
            JobSpec spec = new JobSpec(request.target(), format, output, request.features(), request.passthrough(),
                    request.rowsPerCall(), request.priority());
            String inputKey;
            if (file.isPresent()) {
                inputKey = file.get().artifactKey();
            } else {
                inputKey = Job.prefix(id) + "input." + format.name().toLowerCase(Locale.ROOT);
                artifacts.put(inputKey, input);
            }
            Job job = new Job(id, caller.userId(), caller.withIp("job"), spec, binding, inputKey,
                    file.map(JobFile::id).orElse(null), JobStatus.QUEUED, null, 0, 0, null, null, 1, clock.instant(),
                    null, null, null, clock.instant());
            try {
                store.insert(job, file.isPresent() ? 0 : size);
            } catch (RuntimeException e) {
                if (file.isEmpty()) {
                    artifacts.deleteAll(Job.prefix(id));
                }
                throw e;
            }
            wake.run();
            return job;
        } finally {
            staged.ifPresent(Jobs::deleteQuietly);
        }
    }

    static Optional<InputFormat> formatOf(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        int dot = lower.lastIndexOf('.');
        return dot < 0 ? Optional.empty() : InputFormat.named(lower.substring(dot + 1));
    }

    /** The signature of what the job calls: the model's version, or the deployment's main version's. */
    private Signature signature(Principal caller, Target target) {
        return switch (target) {
            case Target.Model m -> registry.resolveServable(caller, m.name(), m.version()).signature();
            case Target.Deployment named -> {
                Deployment d = deployments.require(caller, named.name());
                int version = d.policy().versions().stream().max(Comparator.comparingInt(TrafficPolicy.Split::weight))
                        .map(TrafficPolicy.Split::version).orElseThrow();
                yield registry.resolveServable(caller, d.modelName(), Optional.of(version)).signature();
            }
            case Target.Named n -> throw new IllegalArgumentException("a job names a model or a deployment");
        };
    }

    /** The file's columns: a CSV header, or the JSON formats' first readable row's fields. */
    private List<String> header(Path input, InputFormat format) {
        try (InputStream in = Files.newInputStream(input);
             RowReader reader = RowReader.open(format, in, json, MAX_ROW_CHARS)) {
            if (reader.headerProblem().isPresent()) {
                throw new ProblemException(ProblemType.INVALID_JOB, "the header cannot be read ("
                        + reader.headerProblem().get() + ")");
            }
            if (format == InputFormat.CSV && reader.header().isEmpty()) {
                throw new ProblemException(ProblemType.INVALID_JOB, "the file has no header: a CSV job's first line "
                        + "names its columns");
            }
            String firstProblem = null;
            for (int i = 0; i < HEADER_ROWS; i++) {
                Optional<InputRow> row = reader.next();
                if (row.isEmpty()) {
                    break;
                }
                if (row.get() instanceof InputRow.Values v) {
                    return format == InputFormat.CSV ? reader.header() : new ArrayList<>(v.fields().keySet());
                }
                if (firstProblem == null) {
                    firstProblem = "line " + row.get().line() + ": " + ((InputRow.Bad) row.get()).detail();
                }
            }
            throw new ProblemException(ProblemType.INVALID_JOB, firstProblem != null
                    ? "no row of the file could be read (" + firstProblem + ")"
                    : format == InputFormat.CSV ? "the file has a header but no rows" : "the file has no rows");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a job's input", e);
        }
    }

    /**
     * Accepts a job of request lines over an uploaded file of purpose {@link #PURPOSE_BATCH}, queued.
     * The lines are read when the job runs: a line at fault fails that line, never the job.
     */
    public Job submitLines(Principal caller, String fileId, JobSpec.Lines lines) {
        JobFile file = requireFile(caller, fileId);
        if (!PURPOSE_BATCH.equals(file.purpose())) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/input_file_id", "file '" + fileId + "' was uploaded "
                    + "with purpose '" + file.purpose() + "'; a batch reads a file uploaded with purpose 'batch'");
        }
        if (file.bytes() == 0) {
            throw new ProblemException(ProblemType.INVALID_JOB, "the file is empty");
        }
        String id = "batch_" + UUID.randomUUID().toString().replace("-", "");
        JobSpec spec = new JobSpec(null, InputFormat.JSONL, OutputFormat.JSONL, List.of(), List.of(), LINES_PER_CHUNK,
                0, lines);
        Instant now = clock.instant();
        Job job = new Job(id, caller.userId(), caller.withIp("job"), spec, new Binding(List.of(), List.of(), List.of()),
                file.artifactKey(), file.id(), JobStatus.QUEUED, null, 0, 0, null, null, 1, now, null, null, null, now);
        store.insert(job, 0);
        wake.run();
        return job;
    }

    /** A job of request lines of the caller's, or {@code batch-not-found}. */
    public Job requireLines(Principal caller, String id) {
        return store.find(id).filter(j -> caller.canSee(j.ownerId()) && j.spec().lines() != null)
                .orElseThrow(() -> new ProblemException(ProblemType.BATCH_NOT_FOUND, "no batch '" + id + "'"));
    }

    /** The caller's own jobs of request lines, newest first, those after {@code after} (a job id) if given. */
    public List<Job> listLines(Principal caller, Optional<String> after, int limit) {
        return store.listLines(caller.userId(), after, limit);
    }

    public Job require(Principal caller, String id) {
        return store.find(id).filter(j -> caller.canSee(j.ownerId()))
                .orElseThrow(() -> new ProblemException(ProblemType.JOB_NOT_FOUND, "no job '" + id + "'"));
    }

    /** The caller's jobs, newest first (an administrator's: everyone's). */
    public JobStore.Page list(Principal caller, Optional<JobStatus> status, int limit, int offset) {
        return store.list(caller.admin() ? Optional.empty() : Optional.of(caller.userId()), status, limit, offset);
    }

    /** Cancels a job; the rows done stay in its result. */
    public Job cancel(Principal caller, String id) {
        Job job = require(caller, id);
        if (job.status().finished()) {
            throw new ProblemException(ProblemType.JOB_FINISHED, "job '" + id + "' has already " + job.status().value()
                    + "; there is nothing to cancel");
        }
        Job after = store.cancel(id, retention).orElseThrow(() -> new ProblemException(ProblemType.JOB_NOT_FOUND,
                "no job '" + id + "'"));
        wake.run();
        return after;
    }

    /** Removes a finished job, its result and its errors. */
    public void delete(Principal caller, String id) {
        Job job = require(caller, id);
        if (!job.status().finished()) {
            throw new ProblemException(ProblemType.JOB_NOT_FINISHED, "job '" + id + "' is " + job.status().value()
                    + "; cancel it first, then delete it");
        }
        remove(job.id());
    }

    /** Removes a job's row and then its files (a file left by a failure here is under its prefix still). */
    void remove(String id) {
        if (store.delete(id)) {
            artifacts.deleteAll(Job.prefix(id));
        }
    }

    /** A job's result or errors as its parts' files, in input order. */
    public List<Path> parts(Job job, boolean errors) {
        List<Path> paths = new ArrayList<>();
        for (JobStore.Part p : store.parts(job.id())) {
            String key = errors ? p.errorsKey() : p.outputKey();
            if (key != null) {
                paths.add(artifacts.localPath(key));
            }
        }
        return paths;
    }

    /** The CSV result's header line (empty for JSON Lines). */
    public String resultHeader(Job job) {
        return job.spec().output() == OutputFormat.CSV ? ResultWriter.csvHeader(job.binding()) : "";
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a staged file left behind is swept at the next start
        }
    }
}
