//! The context store against plain SQL, on SQLite and on Postgres.
//!
//! - Appends: `append_messages` called through the MCP client (in memory: argument checks,
//!   tokenizing, the statement that numbers and stores the message, cache invalidation, the
//!   result), one after another, against a baseline that does the same durable work with the
//!   same driver (numbering under the context's lock, the insert, the full-text index, the
//!   context's counters, one commit per append) and nothing else. After a warm-up of both
//!   arms, rounds alternate between them (store, baseline, baseline, store, …), each round
//!   starting from a checkpointed write-ahead log (SQLite `wal_checkpoint(TRUNCATE)` on both
//!   files, Postgres `CHECKPOINT`), so that neither arm pays for the other's log. The figure is
//!   the median of the per-round ratios, with their spread; p50/p99 over every round's appends.
//! - Search: `search_messages` at 100k messages in 100 contexts, p50/p99.
//!
//! `cargo bench -p context-store` (Postgres from Debian's `postgresql`, as the tests start it).
//! `CTX_BENCH_ROUNDS` (default 8 per arm), `CTX_BENCH_APPENDS` (appends per round, default
//! 500), `CTX_BENCH_WARMUP` (appends per arm before the rounds, default 200) and
//! `CTX_BENCH_MESSAGES` (default 100000; 0 skips search) scale it. `CTX_BENCH_ENGINES`
//! (`sqlite,postgres`) picks the engines and `CTX_BENCH_ARM` (`store` or `plain`) runs one arm
//! alone, for instruction counts under callgrind.

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

fn content(i: usize) -> String {
    format!("message {i} about the weather in Lisbon")
}

/// `append_messages` through the MCP client, one message per call.
struct ToolArm {
    client: Client,
    id: String,
    next: usize,
}

impl ToolArm {
    async fn new(store: &Store) -> ToolArm {
        let client = client(store).await;
        let created = client
            .call_tool("create_context", json!({"title": "bench"}))
            .await
            .unwrap();
        let id = created.structured_content.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        ToolArm {
            client,
            id,
            next: 0,
        }
    }

    async fn append(&mut self) {
        let r = self
            .client
            .call_tool(
                "append_messages",
                json!({"context_id": self.id, "messages": [{"role": "user", "content": content(self.next)}]}),
            )
            .await
            .unwrap();
        assert!(!r.is_error);
        self.next += 1;
    }
}

/// The same durable work with the same driver and nothing else: each append one statement
/// that numbers the message from the context's `last_seq` under the context's lock, inserts
/// it, maintains the full-text index and moves the context's counters (on SQLite through the
/// same migrations' triggers), committed before the next; on SQLite with the same WAL and
/// `synchronous=FULL` settings as the store.
enum PlainArm {
    Sqlite(sqlx::SqlitePool, usize),
    Postgres(sqlx::PgPool, usize),
}

const PLAIN_ID: &str = "ffffffffffffffffffffffffffffffff";
const PLAIN_CREATE: &str = "INSERT INTO contexts (id, owner, title, metadata, created_at, updated_at) \
     VALUES ($1, 'plain', 'plain', '{}', 0, 0)";
const PLAIN_SQLITE: &str = "INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
     SELECT id, last_seq + 1, 'user', $1, '{}', $2, $3 FROM contexts \
     WHERE id = $4 AND owner = 'plain' RETURNING seq";
const PLAIN_POSTGRES: &str = "WITH c AS (UPDATE contexts SET last_seq = last_seq + 1, \
     message_count = message_count + 1, token_count = token_count + $2, updated_at = $3 \
     WHERE id = $4 AND owner = 'plain' RETURNING last_seq) \
     INSERT INTO messages (context_id, seq, role, content, metadata, tokens, created_at) \
     SELECT $4, c.last_seq, 'user', $1, '{}', $2, $3 FROM c RETURNING seq";

/// The store's SQLite settings, for the baseline's pool and for checkpointing either file.
fn sqlite_options(dir: &std::path::Path) -> sqlx::sqlite::SqliteConnectOptions {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(context_store::store::SQLITE_FILE))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

macro_rules! plain_append {
    ($pool:expr, $next:expr, $sql:expr) => {{
        let seqs: Vec<i64> = sqlx::query_scalar($sql)
            .bind(content(*$next))
            .bind(12i64)
            .bind(context_store::store::now_ms())
            .bind(PLAIN_ID)
            .fetch_all(&*$pool)
            .await
            .unwrap();
        *$next += 1;
        assert_eq!(seqs, [*$next as i64]);
    }};
}

impl PlainArm {
    async fn new(url: &str) -> PlainArm {
        let arm = if let Some(dir) = url.strip_prefix("sqlite://") {
            let pool = sqlx::SqlitePool::connect_with(sqlite_options(std::path::Path::new(dir)))
                .await
                .unwrap();
            sqlx::query(PLAIN_CREATE)
                .bind(PLAIN_ID)
                .execute(&pool)
                .await
                .unwrap();
            PlainArm::Sqlite(pool, 0)
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(PLAIN_CREATE)
                .bind(PLAIN_ID)
                .execute(&pool)
                .await
                .unwrap();
            PlainArm::Postgres(pool, 0)
        };
        arm
    }

    async fn append(&mut self) {
        match self {
            PlainArm::Sqlite(pool, next) => plain_append!(pool, next, PLAIN_SQLITE),
            PlainArm::Postgres(pool, next) => plain_append!(pool, next, PLAIN_POSTGRES),
        }
    }
}

/// Empties the write-ahead log before a round: both SQLite files' WAL checkpointed and
/// truncated, or a Postgres checkpoint (the whole cluster: both databases).
enum Checkpoint {
    Sqlite(Vec<sqlx::SqlitePool>),
    Postgres(sqlx::PgPool),
}

impl Checkpoint {
    async fn run(&self) {
        match self {
            Checkpoint::Sqlite(pools) => {
                for pool in pools {
                    let (busy, _, _): (i64, i64, i64) =
                        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                            .fetch_one(pool)
                            .await
                            .unwrap();
                    assert_eq!(busy, 0, "the checkpoint could not complete");
                }
            }
            Checkpoint::Postgres(pool) => {
                sqlx::query("CHECKPOINT").execute(pool).await.unwrap();
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Arms {
    Both,
    Store,
    Plain,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Plan {
    rounds: usize,
    appends: usize,
    warmup: usize,
    arms: Arms,
}

/// Rounds of `plan.appends` appends, the arms alternating (ABBA…) from a checkpointed log.
async fn appends(name: &str, store: &Store, baseline_url: &str, checkpoint: &Checkpoint, plan: &Plan) {
    let mut tool = ToolArm::new(store).await;
    let mut plain = PlainArm::new(baseline_url).await;
    let run_tool = plan.arms != Arms::Plain;
    let run_plain = plan.arms != Arms::Store;
    for _ in 0..plan.warmup {
        if run_tool {
            tool.append().await;
        }
        if run_plain {
            plain.append().await;
        }
    }
    let (mut tool_lat, mut plain_lat) = (Vec::new(), Vec::new());
    let (mut tool_time, mut plain_time) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::new();
    for round in 0..plan.rounds {
        let mut rate = [0.0f64; 2];
        let order: [bool; 2] = if round % 2 == 0 { [true, false] } else { [false, true] };
        for is_tool in order {
            if (is_tool && !run_tool) || (!is_tool && !run_plain) {
                continue;
            }
            checkpoint.run().await;
            let (lat, time) = if is_tool {
                (&mut tool_lat, &mut tool_time)
            } else {
                (&mut plain_lat, &mut plain_time)
            };
            let start = Instant::now();
            for _ in 0..plan.appends {
                let t = Instant::now();
                if is_tool {
                    tool.append().await;
                } else {
                    plain.append().await;
                }
                lat.push(t.elapsed());
            }
            let took = start.elapsed();
            *time += took;
            rate[usize::from(!is_tool)] = plan.appends as f64 / took.as_secs_f64();
        }
        if run_tool && run_plain {
            ratios.push(rate[0] / rate[1]);
        }
    }
    if run_tool {
        show(&format!("{name}: append_messages (MCP tool)"), &figures(tool_lat, tool_time));
    }
    if run_plain {
        show(&format!("{name}: plain SQL insert"), &figures(plain_lat, plain_time));
    }
    if !ratios.is_empty() {
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        println!(
            "{name}: tool / plain SQL = {:.2}x appends per second (median of {} rounds of {}; spread {lo:.2}-{hi:.2}; rounds {})",
            median(ratios),
            plan.rounds,
            plan.appends,
            shown.join(" ")
        );
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

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let plan = Plan {
        rounds: env_num("CTX_BENCH_ROUNDS", 8),
        appends: env_num("CTX_BENCH_APPENDS", 500),
        warmup: env_num("CTX_BENCH_WARMUP", 200),
        arms: match std::env::var("CTX_BENCH_ARM").as_deref() {
            Ok("store") => Arms::Store,
            Ok("plain") => Arms::Plain,
            _ => Arms::Both,
        },
    };
    let messages = env_num("CTX_BENCH_MESSAGES", 100_000);
    let engines = std::env::var("CTX_BENCH_ENGINES").unwrap_or("sqlite,postgres".into());
    context_store::warm_tokenizer().await;

    if engines.contains("sqlite") {
        let (store, dir) = support::sqlite_store().await;
        // The baseline gets a database of its own, made by the same migrations.
        let (_, base_dir) = support::sqlite_store().await;
        let mut checkpoints = Vec::new();
        for d in [&dir, &base_dir] {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(sqlite_options(&d.0))
                .await
                .unwrap();
            checkpoints.push(pool);
        }
        let base = format!("sqlite://{}", base_dir.0.display());
        appends("sqlite", &store, &base, &Checkpoint::Sqlite(checkpoints), &plan).await;
        if messages > 0 {
            let search = search_at(&store, messages).await;
            show(&format!("sqlite: search at {messages} messages"), &search);
        }
    }

    if engines.contains("postgres") {
        let pg = support::Postgres::start();
        let url = pg.database("bench").await;
        let base = pg.database("bench_plain").await;
        Store::open(&base).await.unwrap();
        let store = Store::open(&url).await.unwrap();
        let admin = sqlx::PgPool::connect(&pg.url("postgres")).await.unwrap();
        appends("postgres", &store, &base, &Checkpoint::Postgres(admin), &plan).await;
        if messages > 0 {
            let search = search_at(&store, messages).await;
            show(&format!("postgres: search at {messages} messages"), &search);
        }
    }
}
