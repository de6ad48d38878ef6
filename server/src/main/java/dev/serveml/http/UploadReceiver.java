package dev.serveml.http;

import dev.serveml.artifacts.StagedUpload;
import dev.serveml.artifacts.StorageFull;
import dev.serveml.config.StorageConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.ratelimit.UserSlots;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpServerFileUpload;
import io.vertx.core.http.HttpServerRequest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.UUID;

/**
 * Streams the {@code file} part of a multipart upload to a temporary file, computing its SHA-256
 * and size on the way and never holding it whole in memory. Stops reading (and closes the
 * connection) as soon as the size limit is passed. Runs on the event loop; file writes are
 * asynchronous with back-pressure. A failed write (a full disk) fails the upload with
 * {@code storage-full} instead of leaving a truncated file to be judged as a bad model.
 *
 * <p>Also admits uploads: each user may have a few in flight at once (received or validated),
 * so one tenant cannot occupy the validation threads and the disk with many slow ones.
 * Temporary files are removed on every failure, and those a killed server left are removed
 * when the next one starts.
 */
final class UploadReceiver {
    private static final Logger log = LoggerFactory.getLogger(UploadReceiver.class);
    static final String FILE_PART = "file";
    static final String REQUIREMENTS_PART = "requirements";
    private static final int MAX_REQUIREMENTS_BYTES = 64 * 1024;
    private static final int HEAD_BYTES = 64;
    private static final String SUFFIX = ".upload";
    /** Uploads take seconds to minutes: a caller refused for having too many waits a little. */
    private static final long RETRY_AFTER_SECONDS = 5;

    private final Vertx vertx;
    private final Path directory;
    private final long maxBytes;
    private final UserSlots slots;

    /** Blocking: removes what earlier runs left in the upload directory; build it at start-up. */
    UploadReceiver(Vertx vertx, StorageConfig storage) {
        this.vertx = vertx;
        this.directory = storage.uploadsDir();
        this.maxBytes = storage.maxUploadBytes();
        this.slots = new UserSlots(storage.maxUploadsPerUser());
        sweep(directory);
    }

    /** One of a user's upload slots, held from admission until the upload is answered. */
    interface Slot {
        /** Gives the slot back; later calls do nothing. */
        void release();
    }

    /**
     * Takes one of this user's upload slots, before any of the body is read.
     *
     * @throws ProblemException {@code too-many-uploads} (429, with Retry-After) when all are taken
     */
    Slot admit(long userId) {
        Runnable release = slots.tryTake(userId).orElseThrow(() -> new ProblemException(ProblemType.TOO_MANY_UPLOADS,
                "you already have " + slots.perUser() + " upload(s) being received or validated "
                        + "(SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER); wait for one to finish, then send this one again")
                .retryAfter(RETRY_AFTER_SECONDS));
        return release::run;
    }

    /** Temporary files of uploads cut short by a killed server are nobody's: remove them. */
    private static void sweep(Path directory) {
        if (!Files.isDirectory(directory)) {
            return;
        }
        int removed = 0;
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path file : leftovers) {
                try {
                    if (Files.deleteIfExists(file)) {
                        removed++;
                    }
                } catch (IOException e) {
                    log.warn("could not remove the leftover upload file {}: {}", file, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.warn("could not list the upload directory {}: {}", directory, e.getMessage());
        }
        if (removed > 0) {
            log.info("removed {} temporary upload file(s) left by an earlier run", removed);
        }
    }

    long maxBytes() {
        return maxBytes;
    }

    /**
     * A text field of a multipart request that has ended, or null. Netty's decoder keeps the CR of
     * the CRLF before the next boundary when a network read ends between the two (netty/netty#12729,
     * open): {@code batch} arrives as {@code batch\r}, depending only on how the body was split. A
     * field here is a word, JSON or a requirements file, where a trailing CR is never meaningful, so
     * it is taken off.
     */
    static String formField(HttpServerRequest request, String name) {
        String value = request.formAttributes().get(name);
        return value != null && value.endsWith("\r") ? value.substring(0, value.length() - 1) : value;
    }

    /** Receives the request body; the future fails with a {@link ProblemException} on bad input. */
    Future<StagedUpload> receive(HttpServerRequest request) {
        String contentType = request.getHeader("Content-Type");
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            request.resume();
            return Future.failedFuture(new ProblemException(ProblemType.UNSUPPORTED_MEDIA_TYPE,
                    "upload the model as multipart/form-data with the file in a part named 'file' "
                            + "(curl -F file=@model.onnx ...); got Content-Type " + (contentType == null ? "none" : contentType)));
        }
        String length = request.getHeader("Content-Length");
        if (length != null && parseLong(length) > maxBytes + 64 * 1024) {
            return Future.failedFuture(tooLarge());
        }
        Promise<StagedUpload> result = Promise.promise();
        Receiving state = new Receiving(request, result);
        request.setExpectMultipart(true);
        request.uploadHandler(state::onPart);
        request.exceptionHandler(e -> state.fail(new ProblemException(ProblemType.INVALID_REQUEST,
                "the upload was interrupted or is not valid multipart data")));
        request.endHandler(v -> state.onRequestEnd());
        request.resume();
        return result.future();
    }

    private ProblemException tooLarge() {
        return new ProblemException(ProblemType.UPLOAD_TOO_LARGE, "the upload is larger than the "
                + maxBytes + "-byte limit (SERVEML_MAX_UPLOAD_SIZE)");
    }

    private static long parseLong(String text) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The state of one upload; touched only from the request's event loop. */
    private final class Receiving {
        private final HttpServerRequest request;
        private final Promise<StagedUpload> result;
        private final MessageDigest digest;
        private final byte[] head = new byte[HEAD_BYTES];
        private int headLength;
        private long size;
        private Path file;
        private String fileName;
        private Future<AsyncFile> opened;
        private Future<Void> written = Future.succeededFuture();
        private Future<Void> closed;
        private boolean failed;
        private boolean sawFile;
        private Buffer requirements;

        Receiving(HttpServerRequest request, Promise<StagedUpload> result) {
            this.request = request;
            this.result = result;
            try {
                this.digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        void onPart(HttpServerFileUpload upload) {
            if (!failed && REQUIREMENTS_PART.equals(upload.name())) {
                requirements = Buffer.buffer();
                upload.handler(chunk -> {
                    if (requirements.length() + chunk.length() > MAX_REQUIREMENTS_BYTES) {
                        fail(new ProblemException(ProblemType.INVALID_REQUEST, "the requirements part is larger than "
                                + MAX_REQUIREMENTS_BYTES / 1024 + " KiB; send a requirements.txt"));
                    } else {
                        requirements.appendBuffer(chunk);
                    }
                });
                return;
            }
            if (failed || !FILE_PART.equals(upload.name())) {
                upload.handler(b -> { });
                return;
            }
            if (sawFile) {
                fail(new ProblemException(ProblemType.INVALID_REQUEST, "send exactly one part named 'file'"));
                upload.handler(b -> { });
                return;
            }
            sawFile = true;
            fileName = baseName(upload.filename());
            file = directory.resolve(UUID.randomUUID() + SUFFIX);
            upload.pause();
            opened = vertx.fileSystem().mkdirs(directory.toString())
                    .recover(e -> Future.succeededFuture())
                    .compose(v -> vertx.fileSystem().open(file.toString(),
                            new OpenOptions().setWrite(true).setCreateNew(true)));
            Promise<Void> done = Promise.promise();
            written = done.future();
            opened.onFailure(e -> {
                fail(writeFailure(e));
                done.tryFail(e);
            }).onSuccess(out -> {
                out.exceptionHandler(e -> fail(writeFailure(e)));
                upload.handler(chunk -> onChunk(upload, out, chunk));
                upload.endHandler(v -> closeOnce(out).onComplete(done));
                upload.exceptionHandler(e -> closeOnce(out).onComplete(x -> done.tryFail(e)));
                upload.resume();
            });
        }

        private void onChunk(HttpServerFileUpload upload, AsyncFile out, Buffer chunk) {
            if (failed) {
                return;
            }
            size += chunk.length();
            if (size > maxBytes) {
                fail(tooLarge());
                return;
            }
            byte[] bytes = chunk.getBytes();
            digest.update(bytes);
            if (headLength < HEAD_BYTES) {
                int n = Math.min(HEAD_BYTES - headLength, bytes.length);
                System.arraycopy(bytes, 0, head, headLength, n);
                headLength += n;
            }
            out.write(chunk).onFailure(e -> fail(writeFailure(e)));
            if (out.writeQueueFull()) {
                upload.pause();
                out.drainHandler(v -> upload.resume());
            }
        }

        void onRequestEnd() {
            if (failed) {
                return;
            }
            if (!sawFile) {
                fail(new ProblemException(ProblemType.MISSING_FILE, "the upload has no part named 'file'; "
                        + "send the model as curl -F file=@model.onnx ..."));
                return;
            }
            written.onComplete(ar -> {
                if (failed) {
                    return;
                }
                if (ar.failed()) {
                    fail(writeFailure(ar.cause()));
                    return;
                }
                byte[] first = java.util.Arrays.copyOf(head, headLength);
                String attribute = formField(request, REQUIREMENTS_PART);
                java.util.Optional<String> reqs = requirements != null
                        ? java.util.Optional.of(requirements.toString(java.nio.charset.StandardCharsets.UTF_8))
                        : java.util.Optional.ofNullable(attribute);
                result.tryComplete(new StagedUpload(file, fileName, size, StagedUpload.hex(digest.digest()), first,
                        reqs.filter(r -> !r.isBlank())));
            });
        }

        /** The file is closed by whichever comes first: the part's end, its error, or a failure. */
        private Future<Void> closeOnce(AsyncFile out) {
            if (closed == null) {
                closed = out.close();
            }
            return closed;
        }

        void fail(Throwable cause) {
            if (failed) {
                return;
            }
            failed = true;
            if (opened != null) {
                // The client may never finish sending: close and delete now rather than at its end.
                String doomed = file.toString();
                opened.compose(this::closeOnce, e -> Future.succeededFuture())
                        .onComplete(ar -> vertx.fileSystem().delete(doomed));
            }
            result.tryFail(cause);
        }
    }

    /**
     * Fails an upload's request. One refused for its size also stops an HTTP/1 client sending the
     * rest of its body (HTTP/2 streams are reset by the server when the answer ends early).
     */
    static void fail(io.vertx.ext.web.RoutingContext ctx, Throwable e) {
        if (e instanceof ProblemException p && p.type() == ProblemType.UPLOAD_TOO_LARGE
                && ctx.request().version() != io.vertx.core.http.HttpVersion.HTTP_2) {
            ctx.response().putHeader("Connection", "close");
            ctx.response().endHandler(v -> ctx.request().connection().close());
        }
        ctx.fail(e);
    }

    /** A failure to write the temporary file: a full disk is said so; anything else is the server's fault. */
    private static Throwable writeFailure(Throwable e) {
        return StorageFull.causedBy(e) ? StorageFull.problem("while receiving the upload", e) : e;
    }

    /** Keeps only the last path segment of a client file name; never trusted as a path. */
    static String baseName(String name) {
        if (name == null || name.isBlank()) {
            return "upload";
        }
        String base = name.replace('\\', '/').replaceAll("(?s).*/", "").replaceAll("\\p{Cntrl}", "");
        return base.isBlank() ? "upload" : base.length() > 200 ? base.substring(base.length() - 200) : base;
    }
}
