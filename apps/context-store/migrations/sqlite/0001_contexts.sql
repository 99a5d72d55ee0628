-- Contexts and their messages; full-text search over message content with FTS5.
CREATE TABLE contexts (
    id            TEXT PRIMARY KEY NOT NULL,
    owner         TEXT NOT NULL,
    title         TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    token_count   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contexts_owner_recent ON contexts (owner, updated_at DESC, id);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    tokens     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (context_id, seq)
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (content, content = 'messages', content_rowid = 'id');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
