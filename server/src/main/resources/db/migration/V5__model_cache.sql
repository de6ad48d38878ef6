-- Per-model response-cache settings; null means "the server's default" (SERVEML_CACHE, SERVEML_CACHE_TTL).
alter table models add column cache_enabled boolean;
alter table models add column cache_ttl_seconds integer check (cache_ttl_seconds is null or cache_ttl_seconds > 0);
