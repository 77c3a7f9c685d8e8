-- The initial schema of the embedded store, the same logical schema as the PostgreSQL adapter.
-- Times are fixed-width UTC text (2006-01-02T15:04:05.000000000Z) so that they round-trip to the
-- nanosecond and compare as text in time order. Tables are STRICT so a wrong Go type fails loudly.

-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('user', 'admin', 'service')),
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX api_keys_user_id_created_at ON api_keys (user_id, created_at);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX workspaces_owner_id_created_at ON workspaces (owner_id, created_at);

CREATE TABLE projects (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    root         TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (workspace_id, name)
) STRICT;

CREATE TABLE files (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    content      BLOB NOT NULL,
    size         INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    language     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    modified_at  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, path)
) STRICT;

-- Chunks reference the workspace, not the file: a file's chunks may be written before or after the
-- file itself by the ingestion pipeline, and DeleteFile removes them explicitly.
CREATE TABLE rag_chunks (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    file_version INTEGER NOT NULL,
    start_line   INTEGER NOT NULL,
    end_line     INTEGER NOT NULL,
    language     TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    embedding    BLOB NOT NULL -- little-endian float32s, as given (not normalised)
) STRICT;
CREATE INDEX rag_chunks_workspace_id_path ON rag_chunks (workspace_id, path);

CREATE TABLE ai_requests (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    model      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    tokens_in  INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    cost_usd   REAL NOT NULL,
    latency_ms INTEGER NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX ai_requests_user_id_created_at ON ai_requests (user_id, created_at);

-- +goose Down
DROP TABLE ai_requests;
DROP TABLE rag_chunks;
DROP TABLE files;
DROP TABLE projects;
DROP TABLE workspaces;
DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
