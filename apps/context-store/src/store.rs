//! The database: contexts and their messages, on SQLite (a file in a data directory, WAL,
//! full synchronous commits, FTS5) or Postgres (`tsvector` and a GIN index), with embedded
//! migrations per engine. Every query is the same text on both engines (`$N` placeholders)
//! except full-text search; every read and write is filtered by the caller's tenancy.

use std::borrow::Cow;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, error::BoxDynError};

/// Who is asking: the owner whose contexts are visible, or an operator who sees every
/// tenant's.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant: the principal's subject.
    pub owner: String,
    /// Holds the admin scope: reads and writes any tenant's contexts.
    pub admin: bool,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's output.
    Tool,
}

impl Role {
    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    fn parse(s: &str) -> Role {
        match s {
            "system" => Role::System,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            _ => Role::User,
        }
    }
}

/// A context, without its messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContextInfo {
    /// Its id (32 hexadecimal characters).
    pub id: String,
    /// The tenant it belongs to.
    pub owner: String,
    /// Its title.
    pub title: String,
    /// Its metadata: any JSON object.
    pub metadata: Map<String, Value>,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// The sequence number of its last message (0 before the first); numbers are never reused.
    pub last_seq: i64,
    /// How many messages it holds.
    pub message_count: i64,
    /// The tokens of its messages, counted with the `cl100k_base` encoding.
    pub token_count: i64,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// Its position in the context: 1, 2, 3… in the order appends were committed.
    pub seq: i64,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// Its metadata: any JSON object.
    pub metadata: Map<String, Value>,
    /// Its tokens (`cl100k_base`), with the 4 a chat message costs around its content.
    pub tokens: i64,
    /// When it was appended, in milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A message to append, checked.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// Its metadata, serialized.
    pub metadata: String,
    /// Its tokens.
    pub tokens: i64,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hit {
    /// The context holding the message.
    pub context_id: String,
    /// That context's title.
    pub title: String,
    /// The message's sequence number.
    pub seq: i64,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

/// What trimming removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trimmed {
    /// Messages deleted (the oldest).
    pub removed: i64,
    /// Messages kept.
    pub kept: i64,
    /// Tokens of the messages kept.
    pub tokens: i64,
}

/// What the store can fail with.
#[derive(Debug)]
pub enum StoreError {
    /// No such context for this caller (absent, or another tenant's).
    NotFound(String),
    /// The request cannot be carried out as given.
    Invalid(String),
    /// The database failed.
    Database(sqlx::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound(id) => write!(f, "context `{id}` not found"),
            StoreError::Invalid(why) => f.write_str(why),
            StoreError::Database(e) => write!(f, "the database failed: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// The database engine in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, in a file.
    Sqlite,
    /// Postgres.
    Postgres,
}

#[derive(Clone)]
enum Pool {
    /// Readers, and the one writer SQLite allows at a time: writes wait their turn in the
    /// writer's queue, handed the connection as the previous commit ends, instead of polling
    /// for the file's lock in SQLite's busy handler (which sleeps between tries).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// The contexts and messages of every tenant.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

/// Runs the same code on whichever pool the store has: for reading.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite { read: $pool, .. } => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs the same code on whichever pool the store has: for writing.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite { write: $pool, .. } => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "contexts",
        include_str!("../migrations/sqlite/0001_contexts.sql"),
    ),
    (
        2,
        "messages counters",
        include_str!("../migrations/sqlite/0002_messages_counters.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "contexts",
    include_str!("../migrations/postgres/0001_contexts.sql"),
)];

/// Migrations compiled into the binary.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The SQLite file inside a data directory.
pub const SQLITE_FILE: &str = "context-store.db";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Opens (creating it if needed) `context-store.db` in `dir`, and migrates it.
    pub async fn open_sqlite(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let options = SqliteConnectOptions::new()
            .filename(dir.join(SQLITE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged append survives a crash of the process and of the machine.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let cannot_open = |e| format!("cannot open {}: {e}", dir.join(SQLITE_FILE).display());
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(cannot_open)?;
        Migrator::new(Embedded(SQLITE_MIGRATIONS))
            .await
            .map_err(|e| e.to_string())?
            .run(&write)
            .await
            .map_err(|e| format!("migrating {}: {e}", dir.join(SQLITE_FILE).display()))?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(cannot_open)?;
        Ok(Store {
            pool: Pool::Sqlite { read, write },
        })
    }

    /// Connects to Postgres at `url` (`postgres://user[:password]@host[:port]/db`, or with
    /// `?host=/socket/dir`), and migrates the database.
    pub async fn open_postgres(url: &str) -> Result<Store, String> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| format!("`--database-url` is not a Postgres URL: {e}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot connect to Postgres: {e}"))?;
        Migrator::new(Embedded(POSTGRES_MIGRATIONS))
            .await
            .map_err(|e| e.to_string())?
            .run(&pool)
            .await
            .map_err(|e| format!("migrating the Postgres database: {e}"))?;
        Ok(Store {
            pool: Pool::Postgres(pool),
        })
    }

    /// Opens the database a `--database-url` names: `postgres://…`/`postgresql://…`, or
    /// `sqlite://DIR` for a data directory.
    pub async fn open(url: &str) -> Result<Store, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::open_postgres(url).await
        } else if let Some(dir) = url.strip_prefix("sqlite://") {
            Store::open_sqlite(Path::new(dir)).await
        } else {
            Err(format!(
                "`--database-url {}` names no engine this server knows: give postgres://… or sqlite://DATA_DIR",
                url.split(['@', '?']).next().unwrap_or_default()
            ))
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite { .. } => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// `SELECT 1`, for readiness.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Closes the pools (waiting for connections in use).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                write.close().await;
                read.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Creates a context owned by `owner`.
    pub async fn create(
        &self,
        owner: &str,
        id: &str,
        title: &str,
        metadata: &Map<String, Value>,
    ) -> Result<ContextInfo, StoreError> {
        let now = now_ms();
        let meta = Value::Object(metadata.clone()).to_string();
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO contexts (id, owner, title, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id)
        .bind(owner)
        .bind(title)
        .bind(&meta)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(ContextInfo {
            id: id.to_string(),
            owner: owner.to_string(),
            title: title.to_string(),
            metadata: metadata.clone(),
            created_at: now,
            updated_at: now,
            last_seq: 0,
            message_count: 0,
            token_count: 0,
        })
    }

    /// One context, if the caller may see it.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ContextInfo, StoreError> {
        const SQL: &str = "SELECT id, owner, title, metadata, created_at, updated_at, last_seq, \
             message_count, token_count FROM contexts WHERE id = $1 AND ($2 OR owner = $3)";
        let info = on_pool!(self, pool => {
            let row = sqlx::query(SQL)
                .bind(id)
                .bind(caller.admin)
                .bind(&caller.owner)
                .fetch_optional(pool)
                .await?;
            row.map(|r| info_from(&r)).transpose()?
        });
        info.ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// The caller's contexts, most recently changed first; `before` (an `updated_at`) pages.
    pub async fn recent(
        &self,
        caller: &Caller,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<ContextInfo>, StoreError> {
        const SQL: &str = "SELECT id, owner, title, metadata, created_at, updated_at, last_seq, \
             message_count, token_count FROM contexts WHERE ($1 OR owner = $2) AND updated_at < $3 \
             ORDER BY updated_at DESC, id LIMIT $4";
        let before = before.unwrap_or(i64::MAX);
        on_pool!(self, pool => {
            let rows = sqlx::query(SQL)
                .bind(caller.admin)
                .bind(&caller.owner)
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(info_from).collect::<Result<Vec<_>, _>>().map_err(Into::into)
        })
    }

    /// Changes a context's title and merges `patch` into its metadata (a key set to `null`
    /// is removed), in one transaction; refused, changing nothing, when the merged metadata
    /// would pass `max_metadata_bytes`.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        title: Option<&str>,
        patch: Option<&Map<String, Value>>,
        max_metadata_bytes: usize,
    ) -> Result<ContextInfo, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            // Takes the row's write lock first (Postgres) or the database's (SQLite), so that
            // two merges of one context cannot lose each other's keys.
            let row = sqlx::query(
                "UPDATE contexts SET updated_at = $1 WHERE id = $2 AND ($3 OR owner = $4) \
                 RETURNING metadata",
            )
            .bind(now_ms())
            .bind(id)
            .bind(caller.admin)
            .bind(&caller.owner)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Err(StoreError::NotFound(id.to_string()));
            };
            let mut metadata = parse_object(&row.try_get::<String, _>(0)?);
            if let Some(patch) = patch {
                for (k, v) in patch {
                    if v.is_null() {
                        metadata.remove(k);
                    } else {
                        metadata.insert(k.clone(), v.clone());
                    }
                }
            }
            let meta = Value::Object(metadata).to_string();
            if meta.len() > max_metadata_bytes {
                return Err(StoreError::Invalid(format!(
                    "update_context: the merged `metadata` would be {} bytes of JSON; the limit is {max_metadata_bytes} (remove keys with `null`)",
                    meta.len()
                )));
            }
            sqlx::query("UPDATE contexts SET metadata = $1, title = COALESCE($2, title) WHERE id = $3")
                .bind(&meta)
                .bind(title)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        self.get(caller, id).await
    }

    /// Deletes a context and its messages.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let gone = sqlx::query("DELETE FROM contexts WHERE id = $1 AND ($2 OR owner = $3) RETURNING id")
                .bind(id)
                .bind(caller.admin)
                .bind(&caller.owner)
                .fetch_optional(&mut *tx)
                .await?;
            if gone.is_none() {
                return Err(StoreError::NotFound(id.to_string()));
            }
            sqlx::query("DELETE FROM messages WHERE context_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Appends `messages` atomically: they get the next sequence numbers of the context, in
    /// order, and are all stored or none is. Returns the first and last numbers.
    ///
    /// On Postgres it is one statement, which updates the context's counters (taking its row
    /// lock, so that concurrent appends get contiguous ranges in commit order) and inserts every
    /// message numbered from the new `last_seq` (a batch through `unnest` of arrays, one message
    /// with its fields bound as scalars). On SQLite each message is one `INSERT … SELECT`
    /// numbered from the context's `last_seq` under the database's write lock, and a trigger
    /// moves the counters; one message needs no transaction around it, a batch takes one.
    pub async fn append(
        &self,
        caller: &Caller,
        id: &str,
        messages: &[NewMessage],
    ) -> Result<(i64, i64), StoreError> {
        let n = messages.len() as i64;
        let now = now_ms();
        let not_found = || StoreError::NotFound(id.to_string());
        match &self.pool {
            Pool::Sqlite { write: pool, .. } => {
                // `fetch_all`: the statement runs to its end, where SQLite commits (alone) or
                // releases it (in the transaction), before the answer is read.
                if let [m] = messages {
                    let rows = sqlite_append(caller, id, m, now).fetch_all(pool).await?;
                    let seq: i64 = rows.first().ok_or_else(not_found)?.try_get(0)?;
                    return Ok((seq, seq));
                }
                // The write lock from the start (waiting for it as long as `busy_timeout`): a
                // deferred transaction that has begun reading (if only the schema, to prepare
                // the statement) gets `SQLITE_BUSY` at once, instead of waiting, when it then
                // asks for the write lock while another append holds it.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let mut range = None;
                for m in messages {
                    let rows = sqlite_append(caller, id, m, now)
                        .fetch_all(&mut *tx)
                        .await?;
                    let seq: i64 = rows.first().ok_or_else(not_found)?.try_get(0)?;
                    range = Some(range.map_or((seq, seq), |(first, _)| (first, seq)));
                }
                tx.commit().await?;
                range.ok_or_else(|| StoreError::Invalid("append_messages: no messages".into()))
            }
            Pool::Postgres(pool) => {
                // One message (the common call) binds its fields as scalars: the statement
                // without the arrays and `unnest`, which cost the server more to run.
                if let [m] = messages {
                    let rows = sqlx::query(
                        "WITH c AS (UPDATE contexts SET last_seq = last_seq + 1, \
                         message_count = message_count + 1, token_count = token_count + $1, \
                         updated_at = $2 WHERE id = $3 AND ($4 OR owner = $5) RETURNING last_seq) \
                         INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
                         SELECT $3, c.last_seq, $6, $7, $8, $1, $2 FROM c RETURNING seq",
                    )
                    .bind(m.tokens)
                    .bind(now)
                    .bind(id)
                    .bind(caller.admin)
                    .bind(&caller.owner)
                    .bind(m.role.as_str())
                    .bind(&m.content)
                    .bind(&m.metadata)
                    .fetch_all(pool)
                    .await?;
                    let seq: i64 = rows.first().ok_or_else(not_found)?.try_get(0)?;
                    return Ok((seq, seq));
                }
                let tokens: i64 = messages.iter().map(|m| m.tokens).sum();
                let rows = sqlx::query(
                    "WITH c AS (UPDATE contexts SET last_seq = last_seq + $1, \
                     message_count = message_count + $1, token_count = token_count + $2, \
                     updated_at = $3 WHERE id = $4 AND ($5 OR owner = $6) RETURNING last_seq) \
                     INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
                     SELECT $4, c.last_seq - $1 + m.ord, m.role, m.content, m.metadata, m.tokens, $3 \
                     FROM c, unnest($7::text[], $8::text[], $9::text[], $10::int8[]) \
                     WITH ORDINALITY AS m (role, content, metadata, tokens, ord) \
                     RETURNING seq",
                )
                .bind(n)
                .bind(tokens)
                .bind(now)
                .bind(id)
                .bind(caller.admin)
                .bind(&caller.owner)
                .bind(messages.iter().map(|m| m.role.as_str()).collect::<Vec<_>>())
                .bind(messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>())
                .bind(messages.iter().map(|m| m.metadata.as_str()).collect::<Vec<_>>())
                .bind(messages.iter().map(|m| m.tokens).collect::<Vec<_>>())
                .fetch_all(pool)
                .await?;
                let mut last = None;
                for r in &rows {
                    let seq: i64 = r.try_get(0)?;
                    last = Some(last.map_or(seq, |l: i64| l.max(seq)));
                }
                let last = last.ok_or_else(not_found)?;
                Ok((last - n + 1, last))
            }
        }
    }

    /// Messages after `since`, oldest first, at most `limit`.
    pub async fn messages_since(
        &self,
        caller: &Caller,
        id: &str,
        since: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        // The ownership check and the read in one statement: a context deleted meanwhile
        // reads as empty, not as another tenant's.
        const SQL: &str = "SELECT m.seq, m.role, m.content, m.metadata, m.tokens, m.created_at \
             FROM messages m JOIN contexts c ON c.id = m.context_id \
             WHERE m.context_id = $1 AND ($2 OR c.owner = $3) AND m.seq > $4 ORDER BY m.seq LIMIT $5";
        self.get(caller, id).await?;
        on_pool!(self, pool => {
            let rows = sqlx::query(SQL)
                .bind(id)
                .bind(caller.admin)
                .bind(&caller.owner)
                .bind(since)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(message_from).collect::<Result<Vec<_>, _>>().map_err(Into::into)
        })
    }

    /// The newest messages of a context, oldest first: at most `limit`, and, with a budget,
    /// only as many of the newest as fit in `max_tokens`. The caller has looked the context
    /// up first (through the cache): a context it may not see reads as empty here.
    pub async fn window(
        &self,
        caller: &Caller,
        id: &str,
        limit: i64,
        max_tokens: Option<i64>,
    ) -> Result<Vec<Message>, StoreError> {
        const SQL: &str = "SELECT m.seq, m.role, m.content, m.metadata, m.tokens, m.created_at \
             FROM messages m JOIN contexts c ON c.id = m.context_id \
             WHERE m.context_id = $1 AND ($2 OR c.owner = $3) ORDER BY m.seq DESC LIMIT $4";
        let mut newest = on_pool!(self, pool => {
            let rows = sqlx::query(SQL)
                .bind(id)
                .bind(caller.admin)
                .bind(&caller.owner)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(message_from).collect::<Result<Vec<_>, _>>()?
        });
        if let Some(budget) = max_tokens {
            let mut used = 0;
            let keep = newest
                .iter()
                .take_while(|m| {
                    used += m.tokens;
                    used <= budget
                })
                .count();
            newest.truncate(keep);
        }
        newest.reverse();
        Ok(newest)
    }

    /// Deletes the oldest messages until the rest fit in `max_tokens`.
    pub async fn trim(
        &self,
        caller: &Caller,
        id: &str,
        max_tokens: i64,
    ) -> Result<Trimmed, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            // The write lock first, so that no append lands between the count and the delete.
            let locked = sqlx::query(
                "UPDATE contexts SET updated_at = $1 WHERE id = $2 AND ($3 OR owner = $4) RETURNING id",
            )
            .bind(now_ms())
            .bind(id)
            .bind(caller.admin)
            .bind(&caller.owner)
            .fetch_optional(&mut *tx)
            .await?;
            if locked.is_none() {
                return Err(StoreError::NotFound(id.to_string()));
            }
            let rows = sqlx::query("SELECT seq, tokens FROM messages WHERE context_id = $1 ORDER BY seq DESC")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
            let mut used = 0i64;
            let mut cut = 0i64; // messages with seq <= cut go
            let mut kept = 0i64;
            for r in &rows {
                let seq: i64 = r.try_get(0)?;
                let tokens: i64 = r.try_get(1)?;
                if used + tokens > max_tokens {
                    cut = seq;
                    break;
                }
                used += tokens;
                kept += 1;
            }
            let removed = rows.len() as i64 - kept;
            if removed > 0 {
                sqlx::query("DELETE FROM messages WHERE context_id = $1 AND seq <= $2")
                    .bind(id)
                    .bind(cut)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE contexts SET message_count = $1, token_count = $2 WHERE id = $3")
                    .bind(kept)
                    .bind(used)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Trimmed { removed, kept, tokens: used })
        })
    }

    /// Full-text search over the messages the caller may see (all words must match), best
    /// first; within one context when `context_id` is given.
    pub async fn search(
        &self,
        caller: &Caller,
        query: &str,
        context_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Hit>, StoreError> {
        let words: Vec<&str> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Err(StoreError::Invalid(
                "search_messages: `query` has no words to search for; give at least one word of letters or digits".into(),
            ));
        }
        let rows = match &self.pool {
            Pool::Sqlite { read: pool, .. } => {
                // Each word quoted: FTS5 operators in the query are searched for as text.
                let fts: String = words
                    .iter()
                    .map(|w| format!("\"{w}\""))
                    .collect::<Vec<_>>()
                    .join(" ");
                let rows = sqlx::query(
                    "SELECT m.context_id, c.title, m.seq, m.role, m.content \
                     FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
                     JOIN contexts c ON c.id = m.context_id \
                     WHERE messages_fts MATCH $1 AND ($2 OR c.owner = $3) \
                     AND ($4 IS NULL OR m.context_id = $4) \
                     ORDER BY bm25(messages_fts), m.id LIMIT $5",
                )
                .bind(fts)
                .bind(caller.admin)
                .bind(&caller.owner)
                .bind(context_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                rows.iter().map(hit_from).collect::<Result<Vec<_>, _>>()?
            }
            Pool::Postgres(pool) => {
                let rows = sqlx::query(
                    "SELECT m.context_id, c.title, m.seq, m.role, m.content \
                     FROM messages m JOIN contexts c ON c.id = m.context_id, \
                     plainto_tsquery('simple', $1) q \
                     WHERE m.tsv @@ q AND ($2 OR c.owner = $3) \
                     AND ($4::text IS NULL OR m.context_id = $4) \
                     ORDER BY ts_rank(m.tsv, q) DESC, m.id LIMIT $5",
                )
                .bind(words.join(" "))
                .bind(caller.admin)
                .bind(&caller.owner)
                .bind(context_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                rows.iter().map(hit_from).collect::<Result<Vec<_>, _>>()?
            }
        };
        Ok(rows)
    }

    /// How many contexts, messages and tenants the store holds (for operators).
    pub async fn stats(&self) -> Result<(i64, i64, i64), StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM contexts), (SELECT COUNT(*) FROM messages), \
                 (SELECT COUNT(DISTINCT owner) FROM contexts)",
            )
            .fetch_one(pool)
            .await?;
            Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
        })
    }
}

/// One message appended on SQLite: numbered from the context's `last_seq`, inserted only if
/// the caller may write the context (no row otherwise); the `messages_counters` trigger moves
/// the context's counters in the same statement.
fn sqlite_append<'q>(
    caller: &'q Caller,
    id: &'q str,
    m: &'q NewMessage,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    sqlx::query(
        "INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
         SELECT id, last_seq + 1, $1, $2, $3, $4, $5 FROM contexts \
         WHERE id = $6 AND ($7 OR owner = $8) RETURNING seq",
    )
    .bind(m.role.as_str())
    .bind(&m.content)
    .bind(&m.metadata)
    .bind(m.tokens)
    .bind(now)
    .bind(id)
    .bind(caller.admin)
    .bind(&caller.owner)
}

fn parse_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn info_from<R>(r: &R) -> Result<ContextInfo, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ContextInfo {
        id: r.try_get(0)?,
        owner: r.try_get(1)?,
        title: r.try_get(2)?,
        metadata: parse_object(&r.try_get::<String, _>(3)?),
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
        last_seq: r.try_get(6)?,
        message_count: r.try_get(7)?,
        token_count: r.try_get(8)?,
    })
}

fn message_from<R>(r: &R) -> Result<Message, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Message {
        seq: r.try_get(0)?,
        role: Role::parse(&r.try_get::<String, _>(1)?),
        content: r.try_get(2)?,
        metadata: parse_object(&r.try_get::<String, _>(3)?),
        tokens: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

fn hit_from<R>(r: &R) -> Result<Hit, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Hit {
        context_id: r.try_get(0)?,
        title: r.try_get(1)?,
        seq: r.try_get(2)?,
        role: Role::parse(&r.try_get::<String, _>(3)?),
        content: r.try_get(4)?,
    })
}
