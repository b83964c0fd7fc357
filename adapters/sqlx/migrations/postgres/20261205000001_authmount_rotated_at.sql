-- When a spent refresh token was rotated: a repeat of it within the reuse grace period gets
-- tokens of the same family instead of revoking it (TokenStore::rotate's `reuse_grace`).
-- NULL on records rotated before this column existed: such a repeat is treated as a replay.
ALTER TABLE tokens ADD COLUMN rotated_at BIGINT;
