//! The client's cache of 2026-07-28 results: a list whose result carries `ttlMs` is answered
//! from the cache while fresh, `clear_cache` forgets it, and a server without caching hints
//! (`ttlMs: 0`) is asked every time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::protocol::CacheScope;
use mcp_runtime::{ClientOptions, Direction, MessageTap};

/// Add two integers.
#[tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A client of 2026-07-28 counting the `tools/list` requests it sends.
async fn counting(server: Server) -> (Client, Arc<AtomicUsize>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&sent);
    let options = ClientOptions {
        protocol_version: "2026-07-28".into(),
        on_message: Some(MessageTap::new(move |direction, bytes| {
            if direction == Direction::Sent
                && std::str::from_utf8(bytes).is_ok_and(|t| t.contains("\"tools/list\""))
            {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        })),
        ..ClientOptions::default()
    };
    (Client::connect_with(server, options).await.unwrap(), sent)
}

#[tokio::test]
async fn lists_with_a_ttl_come_from_the_cache_until_cleared() {
    let server = Server::new("cached").cache_hints(Duration::from_secs(60), CacheScope::Public);
    let (client, sent) = counting(server).await;
    let first = client.list_all_tools().await.unwrap();
    let again = client.list_all_tools().await.unwrap();
    assert_eq!(first.len(), again.len());
    assert_eq!(
        sent.load(Ordering::SeqCst),
        1,
        "the second list came from the cache"
    );
    client.clear_cache();
    client.list_all_tools().await.unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn lists_without_a_ttl_are_asked_every_time() {
    let (client, sent) = counting(Server::new("uncached")).await;
    client.list_all_tools().await.unwrap();
    client.list_all_tools().await.unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}
