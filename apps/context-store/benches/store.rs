//! The context store against plain SQL, on SQLite and on Postgres.
//!
//! - Appends: `append_messages` called through the MCP client (in memory: argument checks,
//!   tokenizing, the statement that numbers and stores the message, cache invalidation, the
//!   result), one after another, against a baseline that does the same durable work with the
//!   same driver (numbering under the context's lock, the insert, the full-text index, the
//!   context's counters, one commit per append) and nothing else. Appends per second and
//!   p50/p99 latency.
//! - Search: `search_messages` at 100k messages in 100 contexts, p50/p99.
//!
//! `cargo bench -p context-store` (Postgres from Debian's `postgresql`, as the tests start it).
//! `CTX_BENCH_APPENDS` (default 2000) and `CTX_BENCH_MESSAGES` (default 100000) scale it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use context_store::store::{Caller, NewMessage, Role};
use context_store::{App, Store};
use mcp_runtime::{Client, ClientOptions, Principal};
use serde_json::json;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(mut lat: Vec<Duration>, total: Duration) -> Figures {
    lat.sort();
    let at = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Figures {
        per_second: lat.len() as f64 / total.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

async fn client(store: &Store) -> Client {
    let app = App::new(store.clone(), context_store::Limits::default());
    Client::connect_as(
        context_store::server(app, None),
        Principal::new("bench", ["contexts:read", "contexts:write"]),
        ClientOptions::default(),
    )
    .await
    .expect("connecting")
}

async fn appends_via_tool(store: &Store, n: usize) -> Figures {
    let c = client(store).await;
    let created = c
        .call_tool("create_context", json!({"title": "bench"}))
        .await
        .unwrap();
    let id = created.structured_content.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let r = c
            .call_tool(
                "append_messages",
                json!({"context_id": id, "messages": [{"role": "user", "content": format!("message {i} about the weather in Lisbon")}]}),
            )
            .await
            .unwrap();
        assert!(!r.is_error);
        lat.push(t.elapsed());
    }
    figures(lat, start.elapsed())
}

/// The same durable work with the same driver and nothing else: each append one statement
/// that numbers the message from the context's `last_seq` under the context's lock, inserts
/// it, maintains the full-text index and moves the context's counters (on SQLite through the
/// same migrations' triggers), committed before the next; on SQLite with the same WAL and
/// `synchronous=FULL` settings as the store.
async fn appends_plain_sql(url: &str, n: usize) -> Figures {
    const ID: &str = "ffffffffffffffffffffffffffffffff";
    const CREATE: &str = "INSERT INTO contexts (id, owner, title, metadata, created_at, updated_at) \
         VALUES ($1, 'plain', 'plain', '{}', 0, 0)";
    const SQLITE: &str = "INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
         SELECT id, last_seq + 1, 'user', $1, '{}', $2, $3 FROM contexts \
         WHERE id = $4 AND owner = 'plain' RETURNING seq";
    const POSTGRES: &str = "WITH c AS (UPDATE contexts SET last_seq = last_seq + 1, \
         message_count = message_count + 1, token_count = token_count + $2, updated_at = $3 \
         WHERE id = $4 AND owner = 'plain' RETURNING last_seq) \
         INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
         SELECT $4, c.last_seq, 'user', $1, '{}', $2, $3 FROM c RETURNING seq";
    macro_rules! run {
        ($pool:expr, $sql:expr) => {{
            let pool = $pool;
            sqlx::query(CREATE).bind(ID).execute(&pool).await.unwrap();
            let mut lat = Vec::with_capacity(n);
            let start = Instant::now();
            for i in 0..n {
                let t = Instant::now();
                let seqs: Vec<i64> = sqlx::query_scalar($sql)
                    .bind(format!("message {i} about the weather in Lisbon"))
                    .bind(12i64)
                    .bind(context_store::store::now_ms())
                    .bind(ID)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                assert_eq!(seqs, [i as i64 + 1]);
                lat.push(t.elapsed());
            }
            figures(lat, start.elapsed())
        }};
    }
    if let Some(dir) = url.strip_prefix("sqlite://") {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(std::path::Path::new(dir).join(context_store::store::SQLITE_FILE))
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        run!(
            sqlx::SqlitePool::connect_with(options).await.unwrap(),
            SQLITE
        )
    } else {
        run!(sqlx::PgPool::connect(url).await.unwrap(), POSTGRES)
    }
}

const WORDS: &[&str] = &[
    "lisbon", "train", "hotel", "budget", "river", "museum", "coffee", "ticket", "harbour", "tram",
    "castle", "market", "sunset", "ferry", "garden", "bridge", "library", "station",
];

async fn search_at(store: &Store, messages: usize) -> Figures {
    let caller = Caller {
        owner: "bench-search".into(),
        admin: false,
    };
    let contexts = 100;
    let mut ids = Vec::new();
    for i in 0..contexts {
        let id = format!("{i:032x}");
        store
            .create("bench-search", &id, "search", &Default::default())
            .await
            .unwrap();
        ids.push(id);
    }
    let mut seed = 7u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let per_batch = 100;
    for b in 0..messages / per_batch {
        let batch: Vec<NewMessage> = (0..per_batch)
            .map(|_| {
                let text: Vec<&str> = (0..12)
                    .map(|_| WORDS[next() as usize % WORDS.len()])
                    .collect();
                NewMessage {
                    role: Role::User,
                    content: text.join(" "),
                    metadata: "{}".into(),
                    tokens: 16,
                }
            })
            .collect();
        store
            .append(&caller, &ids[b % contexts], &batch)
            .await
            .unwrap();
    }
    let queries = 200;
    let mut lat = Vec::with_capacity(queries);
    let start = Instant::now();
    for _ in 0..queries {
        let q = format!(
            "{} {}",
            WORDS[next() as usize % WORDS.len()],
            WORDS[next() as usize % WORDS.len()]
        );
        let t = Instant::now();
        let hits = store.search(&caller, &q, None, 20).await.unwrap();
        assert!(!hits.is_empty());
        lat.push(t.elapsed());
    }
    figures(lat, start.elapsed())
}

fn show(name: &str, f: &Figures) {
    println!(
        "{name:<34} {:>9.0}/s  p50 {:>8.2?}  p99 {:>8.2?}",
        f.per_second, f.p50, f.p99
    );
}

async fn engine(name: &str, store: Store, baseline_url: &str, appends: usize, messages: usize) {
    context_store::warm_tokenizer().await;
    let tool = appends_via_tool(&store, appends).await;
    let plain = appends_plain_sql(baseline_url, appends).await;
    show(&format!("{name}: append_messages (MCP tool)"), &tool);
    show(&format!("{name}: plain SQL insert"), &plain);
    println!(
        "{name}: tool / plain SQL = {:.2}x appends per second",
        tool.per_second / plain.per_second
    );
    let search = search_at(&store, messages).await;
    show(&format!("{name}: search at {messages} messages"), &search);
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let appends = env_num("CTX_BENCH_APPENDS", 2000);
    let messages = env_num("CTX_BENCH_MESSAGES", 100_000);

    let (store, dir) = support::sqlite_store().await;
    // The baseline gets a database of its own, made by the same migrations.
    let (_, base_dir) = support::sqlite_store().await;
    let _ = &dir;
    engine(
        "sqlite",
        store,
        &format!("sqlite://{}", base_dir.0.display()),
        appends,
        messages,
    )
    .await;

    let pg = support::Postgres::start();
    let url = pg.database("bench").await;
    let base = pg.database("bench_plain").await;
    Store::open(&base).await.unwrap();
    let store = Store::open(&url).await.unwrap();
    engine("postgres", store, &base, appends, messages).await;
}
