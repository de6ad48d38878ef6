-- A key created with another key records that parent, so revoking a key also revokes every key
-- made from it (transitively), and a child's requests also draw from its ancestors' buckets.
-- Keys created with a session token (and every key from before this migration) have none.
alter table api_keys
    add column parent_id bigint references api_keys (id);
create index api_keys_parent on api_keys (parent_id) where parent_id is not null;
