-- The per-user storage quota sums the artifacts of a user's models inside every upload's
-- transaction: find those models without scanning them all.
create index models_owner on models (owner_id);
