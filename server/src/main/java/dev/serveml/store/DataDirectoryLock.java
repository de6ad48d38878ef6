package dev.serveml.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Says that a live ServeML owns a data directory: an OS file lock (released by the kernel when
 * its process dies, however it dies) on a file that also holds the owner's pid for the message.
 * It is what tells "another ServeML is running here" (the lock is held) from "a PostgreSQL was
 * orphaned by a ServeML that is gone" (the lock is free, yet a postmaster runs).
 */
final class DataDirectoryLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirectoryLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock or says who holds it.
     *
     * @param file    the lock file
     * @param dataDir the data directory, for the message
     * @throws IllegalStateException when another ServeML (in this process or another) holds it
     */
    static DataDirectoryLock acquire(Path file, Path dataDir) {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                throw inUse(ProcessHandle.current().pid() + ", this very process", dataDir);
            }
            if (lock == null) {
                throw inUse(holder(file), dataDir);
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            channel.force(false);
            return new DataDirectoryLock(channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot lock the data directory " + dataDir, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /**
     * Whether a lock on this file is held by some live process (an older ServeML, say); the lock
     * is taken and let go again at once.
     */
    static boolean isHeld(Path file) {
        if (!Files.exists(file)) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String holder(Path file) {
        try {
            String pid = Files.readString(file, StandardCharsets.US_ASCII).trim();
            return pid.matches("\\d{1,10}") ? pid : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static IllegalStateException inUse(String pid, Path dataDir) {
        return new IllegalStateException("another ServeML (pid " + pid + ") is using this data directory ("
                + dataDir + "); stop it first, or give this one its own SERVEML_DATA_DIR");
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing was locked
            }
        }
    }

    /** Lets go of the lock; the file stays (deleting it would race with the next owner). */
    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(channel);
    }
}
