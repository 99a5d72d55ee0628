//! Two replicas on one Postgres and one Redis (sessions, the bus between replicas and the
//! cache), behind HAProxy: the official Python SDK client on each replica sees the other's
//! updates (`resources/updated`, and reads that are not stale), and a client through the
//! balancer, round robin per request, runs the whole tour.

mod support;

use std::process::Command;

use mcp_workspace::HttpExample;
use mcp_workspace::cluster::{Haproxy, Redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_haproxy_see_each_others_updates() {
    let pg = support::Postgres::start();
    let redis = Redis::start();
    let db = pg.database("replicas").await;
    let replica = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_context-store"));
        command
            .env("MCP_AUTH_TOKEN", "replica-token")
            .env("CONTEXT_STORE_DATABASE_URL", &db);
        HttpExample::start(command, &["--redis-url", &redis.url()])
    };
    let a = replica();
    let b = replica();
    let lb = Haproxy::start(&[a.addr(), b.addr()]);
    let (ua, ub, ul) = (a.url.clone(), b.url.clone(), lb.url());
    let out = tokio::task::spawn_blocking(move || {
        support::python_sdk(&["replicas", &ua, &ub, &ul, "replica-token"])
    })
    .await
    .unwrap();
    assert!(
        out.contains("ok each replica's client sees the other's updates"),
        "{out}"
    );
    assert!(
        out.contains("ok the tour through HAProxy"),
        "{out}\n{}\n{}",
        a.log(),
        b.log()
    );
}
