-- Contexts and their messages; full-text search over message content with a generated
-- tsvector ('simple' configuration: lower-cased words, no stemming) and a GIN index.
CREATE TABLE contexts (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    title         TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    message_count BIGINT NOT NULL DEFAULT 0,
    token_count   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX contexts_owner_recent ON contexts (owner, updated_at DESC, id);

CREATE TABLE messages (
    id         BIGSERIAL PRIMARY KEY,
    context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    tokens     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    tsv        TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    UNIQUE (context_id, seq)
);
CREATE INDEX messages_tsv ON messages USING GIN (tsv);
