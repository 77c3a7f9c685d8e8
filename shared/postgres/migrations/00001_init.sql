-- The seed schema. Identifiers are text (domain.NewID), timestamps are timestamptz and
-- always written by the application, never defaulted, so every backend agrees on them.
-- Paths and project names use the "C" collation so listings sort byte-wise, exactly like
-- the embedded SQLite backend, whatever the database's default collation is.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
	id            text PRIMARY KEY,
	email         text NOT NULL CONSTRAINT users_email_key UNIQUE CHECK (email = lower(email)),
	name          text NOT NULL DEFAULT '',
	role          text NOT NULL CHECK (role IN ('user', 'admin', 'service')),
	password_hash text NOT NULL DEFAULT '',
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

-- A session and its refresh tokens die with their user; refresh tokens with their session.
CREATE TABLE sessions (
	id         text PRIMARY KEY,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
	hash       text PRIMARY KEY,
	session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	user_id    text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE api_keys (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         text NOT NULL DEFAULT '',
	prefix       text NOT NULL DEFAULT '',
	hash         text NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at DESC);

-- Deleting a user does not silently delete their work: workspaces must go first.
CREATE TABLE workspaces (
	id         text PRIMARY KEY,
	owner_id   text NOT NULL REFERENCES users (id),
	name       text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX workspaces_owner_id_idx ON workspaces (owner_id, created_at);

CREATE TABLE projects (
	id           text PRIMARY KEY,
	workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name         text COLLATE "C" NOT NULL,
	root         text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	CONSTRAINT projects_workspace_id_name_key UNIQUE (workspace_id, name)
);

CREATE TABLE files (
	workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	path         text COLLATE "C" NOT NULL,
	content      bytea NOT NULL,
	size         bigint NOT NULL,
	hash         text NOT NULL,
	language     text NOT NULL DEFAULT '',
	version      bigint NOT NULL,
	modified_at  timestamptz NOT NULL,
	PRIMARY KEY (workspace_id, path)
);

-- Chunks belong to a file by (workspace_id, path) but have no foreign key to files: the
-- ingestion worker may write them before or after the file row it read. DeleteFile removes
-- them in its transaction; deleting the workspace cascades.
CREATE TABLE rag_chunks (
	id           text PRIMARY KEY,
	workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	path         text COLLATE "C" NOT NULL,
	file_version bigint NOT NULL,
	start_line   integer NOT NULL,
	end_line     integer NOT NULL,
	language     text NOT NULL DEFAULT '',
	symbol       text NOT NULL DEFAULT '',
	content      text NOT NULL,
	content_hash text NOT NULL,
	embedding    vector(512) NOT NULL -- domain.EmbeddingDims
);
CREATE INDEX rag_chunks_workspace_id_path_idx ON rag_chunks (workspace_id, path);
CREATE INDEX rag_chunks_embedding_idx ON rag_chunks USING hnsw (embedding vector_cosine_ops);

CREATE TABLE ai_requests (
	id         text PRIMARY KEY,
	user_id    text NOT NULL,
	provider   text NOT NULL,
	model      text NOT NULL,
	kind       text NOT NULL,
	tokens_in  integer NOT NULL,
	tokens_out integer NOT NULL,
	cost_usd   double precision NOT NULL,
	latency_ms bigint NOT NULL,
	status     text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX ai_requests_user_id_created_at_idx ON ai_requests (user_id, created_at);

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
