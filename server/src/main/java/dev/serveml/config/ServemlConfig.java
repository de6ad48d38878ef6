package dev.serveml.config;

import java.util.Objects;

/** The whole configuration. Each component is handed only its own sub-record. */
public record ServemlConfig(HttpConfig http, StorageConfig storage, DatabaseConfig database, RuntimeConfig runtime,
                            PythonConfig python, BatchingConfig batching, HostingConfig hosting,
                            AuthConfig auth, RedisConfig redis, CacheConfig cache, HubConfig hub,
                            JobsConfig jobs) {
    public ServemlConfig {
        Objects.requireNonNull(http);
        Objects.requireNonNull(storage);
        Objects.requireNonNull(database);
        Objects.requireNonNull(runtime);
        Objects.requireNonNull(python);
        Objects.requireNonNull(batching);
        Objects.requireNonNull(hosting);
        Objects.requireNonNull(auth);
        Objects.requireNonNull(redis);
        Objects.requireNonNull(cache);
        Objects.requireNonNull(hub);
        Objects.requireNonNull(jobs);
    }

    /** A one-line summary for the start-up log; secrets print as {@code ***}. */
    @Override
    public String toString() {
        return "http=" + http + ", storage=" + storage + ", database=" + database + ", runtime=" + runtime
                + ", python=" + python + ", batching=" + batching + ", hosting=" + hosting + ", auth=" + auth + ", redis=" + redis
                + ", cache=" + cache + ", hub=" + hub + ", jobs=" + jobs;
    }
}
