//! The context store against plain SQL, on SQLite and on Postgres.
//!
//! - Appends: `append_messages` called through the MCP client (in memory: argument checks,
//!   tokenizing, the statement that numbers and stores the message, cache invalidation, the
//!   result), one after another, against a baseline that does the same durable work with the
//!   same driver (numbering under the context's lock, the insert, the full-text index, the
//!   context's counters, one commit per append) and nothing else; a third arm calls
//!   `Store::append` directly, which splits the difference into the statement's share and the
//!   MCP call's. After a warm-up of every arm, rounds alternate the arms' order (tool, direct,
//!   baseline, then baseline, direct, tool, …), each arm's round
//!   starting from a checkpointed write-ahead log (SQLite `wal_checkpoint(TRUNCATE)` on every
//!   file, Postgres `CHECKPOINT`), so that neither arm pays for the other's log. The figure is
//!   the median of the per-round ratios, with their spread; p50/p99 over every round's appends.
//!   `Store::append / plain SQL` does nearly the same work on both sides: its spread is the noise
//!   floor of the run. SQLite's files go where `TMPDIR` says (on a tmpfs, `fsync` is free and
//!   the CPU's share shows).
//! - Concurrent appends: the same three arms with `CTX_BENCH_CLIENTS` appenders each at once,
//!   each on a context of its own (for the tool, a client and session each over one store),
//!   the same rounds and checkpoints; the baseline's SQLite pool is one connection, so that its
//!   appends queue for SQLite's one writer in the pool rather than in SQLite's busy handler.
//! - Search: `search_messages` at 100k messages in 100 contexts, p50/p99.
//!
//! `cargo bench -p context-store` (Postgres from Debian's `postgresql`, as the tests start it).
//! `CTX_BENCH_ROUNDS` (default 8 per arm), `CTX_BENCH_APPENDS` (appends per round, default
//! 500), `CTX_BENCH_WARMUP` (appends per arm before the rounds, default 200) and
//! `CTX_BENCH_MESSAGES` (default 100000; 0 skips search) and `CTX_BENCH_CLIENTS` (default 4;
//! 0 or 1 skips the concurrent rows) scale it. `CTX_BENCH_ENGINES`
//! (`sqlite,postgres`) picks the engines and `CTX_BENCH_ARM` (`store`, `direct` or `plain`)
//! runs one arm alone, for instruction counts under callgrind.

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
        // The arguments as a client written in Rust sends them, serialized straight from
        // its own types: the client's share of the call is not the server's.
        #[derive(serde::Serialize)]
        struct Message<'a> {
            role: &'a str,
            content: &'a str,
        }
        #[derive(serde::Serialize)]
        struct Append<'a> {
            context_id: &'a str,
            messages: [Message<'a>; 1],
        }
        let text = content(self.next);
        let args = Append {
            context_id: &self.id,
            messages: [Message {
                role: "user",
                content: &text,
            }],
        };
        let r = self
            .client
            .call_tool("append_messages", &args)
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
struct PlainArm {
    pool: PlainPool,
    id: String,
    next: usize,
}

/// The baseline's pool, shared by its appenders.
#[derive(Clone)]
enum PlainPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

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

/// Runs the same code on either engine's pool (sqlx's queries are typed by engine).
macro_rules! on_plain {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            PlainPool::Sqlite($p) => $body,
            PlainPool::Postgres($p) => $body,
        }
    };
}

impl PlainPool {
    /// One connection on SQLite (one writer at a time, as the engine allows; appends wait in
    /// the pool's queue, not in SQLite's busy handler), the store's size on Postgres.
    async fn open(url: &str) -> PlainPool {
        if let Some(dir) = url.strip_prefix("sqlite://") {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(sqlite_options(std::path::Path::new(dir)))
                .await
                .unwrap();
            PlainPool::Sqlite(pool)
        } else {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await
                .unwrap();
            PlainPool::Postgres(pool)
        }
    }

    /// An appender on a new context `id` of its own.
    async fn arm(&self, id: &str) -> PlainArm {
        on_plain!(self, pool => {
            sqlx::query(PLAIN_CREATE).bind(id).execute(pool).await.unwrap();
        });
        PlainArm {
            pool: self.clone(),
            id: id.to_string(),
            next: 0,
        }
    }
}

impl PlainArm {
    async fn append(&mut self) {
        let sql = match self.pool {
            PlainPool::Sqlite(_) => PLAIN_SQLITE,
            PlainPool::Postgres(_) => PLAIN_POSTGRES,
        };
        let seqs: Vec<i64> = on_plain!(&self.pool, pool => sqlx::query_scalar(sql)
            .bind(content(self.next))
            .bind(12i64)
            .bind(context_store::store::now_ms())
            .bind(&self.id)
            .fetch_all(pool)
            .await
            .unwrap());
        self.next += 1;
        assert_eq!(seqs, [self.next as i64]);
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

/// `Store::append` called directly, one message per call with its tokens given: the store's
/// statement without the MCP call, the argument checks, tokenizing and invalidation.
struct DirectArm {
    store: Store,
    caller: Caller,
    id: String,
    next: usize,
}

impl DirectArm {
    async fn new(store: &Store, id: &str) -> DirectArm {
        let id = id.to_string();
        store
            .create("direct", &id, "direct", &Default::default())
            .await
            .unwrap();
        DirectArm {
            store: store.clone(),
            caller: Caller {
                owner: "direct".into(),
                admin: false,
            },
            id,
            next: 0,
        }
    }

    async fn append(&mut self) {
        let m = NewMessage {
            role: Role::User,
            content: content(self.next),
            metadata: "{}".into(),
            tokens: 12,
        };
        self.store
            .append(&self.caller, &self.id, std::slice::from_ref(&m))
            .await
            .unwrap();
        self.next += 1;
    }
}

/// The arms of the append benchmark, in the order of the first round.
#[derive(Clone, Copy, PartialEq)]
enum Arm {
    Tool,
    Direct,
    Plain,
}

const ARMS: [Arm; 3] = [Arm::Tool, Arm::Direct, Arm::Plain];

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
    arms: Vec<Arm>,
    /// Appenders per arm in the concurrent rows (none below 2).
    clients: usize,
    /// Messages for the search row (none at 0).
    messages: usize,
}

#[derive(Default)]
struct Measured {
    lat: Vec<Duration>,
    time: Duration,
    rates: Vec<f64>,
}

fn ratios(name: &str, what: &str, a: &Measured, b: &Measured, plan: &Plan) {
    let r: Vec<f64> = a.rates.iter().zip(&b.rates).map(|(a, b)| a / b).collect();
    if r.is_empty() {
        return;
    }
    let shown: Vec<String> = r.iter().map(|r| format!("{r:.2}")).collect();
    let (lo, hi) = r
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    println!(
        "{name}: {what} = {:.2}x appends per second (median of {} rounds of {}; spread {lo:.2}-{hi:.2}; rounds {})",
        median(r),
        plan.rounds,
        plan.appends,
        shown.join(" ")
    );
}

/// One of an arm's appenders, each on a context of its own.
enum Appender {
    Tool(Box<ToolArm>),
    Direct(DirectArm),
    Plain(PlainArm),
}

impl Appender {
    async fn append(&mut self) {
        match self {
            Appender::Tool(a) => a.append().await,
            Appender::Direct(a) => a.append().await,
            Appender::Plain(a) => a.append().await,
        }
    }

    /// `n` appends, one after another: every append's latency.
    async fn run(&mut self, n: usize) -> Vec<Duration> {
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            self.append().await;
            lat.push(t.elapsed());
        }
        lat
    }
}

/// `per` appends by every appender at once: the appenders back, every append's latency, and
/// the time from the start to the last answer. One appender runs on this task, as a client
/// awaiting its calls does; several run on a task each.
async fn together(
    mut appenders: Vec<Appender>,
    per: usize,
) -> (Vec<Appender>, Vec<Duration>, Duration) {
    let start = Instant::now();
    if let [one] = appenders.as_mut_slice() {
        let lat = one.run(per).await;
        return (appenders, lat, start.elapsed());
    }
    let tasks: Vec<_> = appenders
        .into_iter()
        .map(|mut a| {
            tokio::spawn(async move {
                let lat = a.run(per).await;
                (a, lat)
            })
        })
        .collect();
    let mut back = Vec::with_capacity(tasks.len());
    let mut all = Vec::with_capacity(tasks.len() * per);
    for task in tasks {
        let (a, lat) = task.await.unwrap();
        back.push(a);
        all.extend(lat);
    }
    (back, all, start.elapsed())
}

/// The append rows with `clients` appenders per arm at once, each on a context of its own (for
/// the tool, a client and session of its own over the one store): after a warm-up round,
/// `plan.rounds` rounds of `plan.appends` appends per arm in all, the order of the arms
/// reversed every round (ABC CBA …), each arm's round starting from a checkpointed log. One
/// client shows the MCP call's cost on each append; several show whether it overlaps the
/// commits' waits, as a server's concurrent clients make it.
async fn appends(
    name: &str,
    store: &Store,
    direct_store: &Store,
    baseline_url: &str,
    checkpoint: &Checkpoint,
    plan: &Plan,
    clients: usize,
) {
    let plain_pool = PlainPool::open(baseline_url).await;
    let mut arms: [Vec<Appender>; 3] = Default::default();
    for i in 0..clients {
        // Ids of their own for every appender of every row.
        let id = |arm: u128| format!("{:032x}", arm << 64 | (clients as u128) << 32 | i as u128);
        arms[Arm::Tool as usize].push(Appender::Tool(Box::new(ToolArm::new(store).await)));
        arms[Arm::Direct as usize].push(Appender::Direct(
            DirectArm::new(direct_store, &id(0xd)).await,
        ));
        arms[Arm::Plain as usize].push(Appender::Plain(plain_pool.arm(&id(0xb)).await));
    }
    let per = plan.appends.div_ceil(clients);
    let mut measured: [Measured; 3] = Default::default();
    for round in 0..=plan.rounds {
        let mut order = ARMS;
        if round % 2 == 1 {
            order.reverse();
        }
        for arm in order.into_iter().filter(|a| plan.arms.contains(a)) {
            // Round 0 is the warm-up: every arm's statements prepared, caches filled.
            let n = if round == 0 {
                plan.warmup.div_ceil(clients)
            } else {
                per
            };
            checkpoint.run().await;
            let (back, lat, took) = together(std::mem::take(&mut arms[arm as usize]), n).await;
            arms[arm as usize] = back;
            if round > 0 {
                let m = &mut measured[arm as usize];
                m.rates.push(lat.len() as f64 / took.as_secs_f64());
                m.lat.extend(lat);
                m.time += took;
            }
        }
    }
    let [tool_m, direct_m, plain_m] = measured;
    let name = if clients == 1 {
        name.to_string()
    } else {
        format!("{name}, {clients} clients")
    };
    for (arm, label, m) in [
        (Arm::Tool, "append_messages (MCP tool)", &tool_m),
        (Arm::Direct, "Store::append (no MCP)", &direct_m),
        (Arm::Plain, "plain SQL insert", &plain_m),
    ] {
        if plan.arms.contains(&arm) {
            show(&format!("{name}: {label}"), &figures(m.lat.clone(), m.time));
        }
    }
    let plan = Plan {
        appends: per * clients,
        arms: plan.arms.clone(),
        ..*plan
    };
    ratios(&name, "tool / plain SQL", &tool_m, &plain_m, &plan);
    ratios(
        &name,
        "Store::append / plain SQL",
        &direct_m,
        &plain_m,
        &plan,
    );
    ratios(&name, "tool / Store::append", &tool_m, &direct_m, &plan);
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

/// One engine's rows: appends with one client, then with `plan.clients`, then search.
async fn rows(
    name: &str,
    store: &Store,
    direct: &Store,
    base: &str,
    checkpoint: &Checkpoint,
    plan: &Plan,
) {
    appends(name, store, direct, base, checkpoint, plan, 1).await;
    if plan.clients > 1 {
        appends(name, store, direct, base, checkpoint, plan, plan.clients).await;
    }
    if plan.messages > 0 {
        let search = search_at(store, plan.messages).await;
        show(
            &format!("{name}: search at {} messages", plan.messages),
            &search,
        );
    }
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
            Ok("store") => vec![Arm::Tool],
            Ok("direct") => vec![Arm::Direct],
            Ok("plain") => vec![Arm::Plain],
            _ => ARMS.to_vec(),
        },
        clients: env_num("CTX_BENCH_CLIENTS", 4),
        messages: env_num("CTX_BENCH_MESSAGES", 100_000),
    };
    let engines = std::env::var("CTX_BENCH_ENGINES").unwrap_or("sqlite,postgres".into());
    context_store::warm_tokenizer().await;

    if engines.contains("sqlite") {
        let (store, dir) = support::sqlite_store().await;
        // The baseline and the direct arm get a database each, made by the same migrations.
        let (direct, direct_dir) = support::sqlite_store().await;
        let (_, base_dir) = support::sqlite_store().await;
        let mut checkpoints = Vec::new();
        for d in [&dir, &direct_dir, &base_dir] {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(sqlite_options(&d.0))
                .await
                .unwrap();
            checkpoints.push(pool);
        }
        let base = format!("sqlite://{}", base_dir.0.display());
        let checkpoint = Checkpoint::Sqlite(checkpoints);
        rows("sqlite", &store, &direct, &base, &checkpoint, &plan).await;
    }

    if engines.contains("postgres") {
        let pg = support::Postgres::start();
        let url = pg.database("bench").await;
        let base = pg.database("bench_plain").await;
        let direct = Store::open(&pg.database("bench_direct").await)
            .await
            .unwrap();
        Store::open(&base).await.unwrap();
        let store = Store::open(&url).await.unwrap();
        let admin = sqlx::PgPool::connect(&pg.url("postgres")).await.unwrap();
        let checkpoint = Checkpoint::Postgres(admin);
        rows("postgres", &store, &direct, &base, &checkpoint, &plan).await;
    }
}
