-- authmount schema, SQLite. Times are milliseconds since the UNIX epoch (INTEGER); durations are
-- milliseconds. JSON is stored as TEXT.

-- AUTOINCREMENT: a deleted user's id is never handed out again (tokens and JWTs name users by id).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    email         TEXT,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    is_active     INTEGER NOT NULL DEFAULT 1,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    is_superuser  INTEGER NOT NULL DEFAULT 0,
    group_names   TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    password_hash TEXT,
    attributes    TEXT    NOT NULL DEFAULT '{}'
) STRICT;

-- Normalised usernames and e-mail addresses in ONE namespace: the primary key is what makes a
-- login name find at most one account, even under concurrent registrations.
CREATE TABLE user_logins (
    login_key TEXT    PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX user_logins_user_id ON user_logins (user_id);

-- Tokens by the SHA-256 of their text; the token itself is never stored.
CREATE TABLE tokens (
    hash            BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    kind            TEXT    NOT NULL,
    user_id         INTEGER NOT NULL,
    audience        TEXT    NOT NULL,
    family          TEXT,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    idle_timeout_ms INTEGER,
    data            TEXT    NOT NULL DEFAULT '{}',
    rotated         INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_user_id ON tokens (user_id);
CREATE INDEX tokens_family ON tokens (family) WHERE family IS NOT NULL;
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX revoked_jtis_expires_at ON revoked_jtis (expires_at);

CREATE TABLE revoked_families (
    family     TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX revoked_families_expires_at ON revoked_families (expires_at);

CREATE TABLE counters (
    key        TEXT    PRIMARY KEY,
    count      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX counters_expires_at ON counters (expires_at);
