//! One behavioural suite of the context store, run against SQLite, against a real Postgres,
//! and against Postgres with the Redis cache in front: every tool, resource and prompt,
//! tenancy (every tool and resource tried as the wrong principal), bad input that changes
//! nothing, and the total order of concurrent appends.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use context_store::{App, Cache, CacheMetrics, Caller, Store, StoreError, count_tokens, tenant_of};
use mcp_runtime::client::{ListenFilter, ServerRequestHandler};
use mcp_runtime::{Client, ClientOptions, Principal};
use serde_json::{Value, json};
use support::{call, call_err, client_with, limits};

const RW: &[&str] = &["contexts:read", "contexts:write"];

struct Env {
    store: Store,
    cache: Arc<Cache>,
}

impl Env {
    fn app(&self) -> App {
        App::new(self.store.clone(), limits()).with_cache(Arc::clone(&self.cache))
    }

    /// A client of revision 2026-07-28 (`subscriptions/listen`).
    async fn as_per_request(&self, subject: &str, scopes: &[&str]) -> Client {
        client_with(
            self.app(),
            Principal::new(subject, scopes.iter().copied()),
            ClientOptions {
                protocol_version: "2026-07-28".into(),
                ..Default::default()
            },
        )
        .await
    }

    async fn as_(&self, subject: &str, scopes: &[&str]) -> Client {
        client_with(
            self.app(),
            Principal::new(subject, scopes.iter().copied()),
            ClientOptions::default(),
        )
        .await
    }
}

async fn suite(env: Env) {
    let alice = env.as_("alice", RW).await;
    let bob = env.as_("bob", RW).await;
    lifecycle(&env, &alice).await;
    bad_input(&alice).await;
    tenancy(&env, &alice, &bob).await;
    issuers(&env).await;
    concurrent_appends(&env).await;
    concurrent_single_appends(&env).await;
    deletion(&env, &alice).await;
}

async fn create(c: &Client, title: &str) -> String {
    let info = call(c, "create_context", json!({"title": title})).await;
    info["id"].as_str().unwrap().to_string()
}

async fn lifecycle(env: &Env, alice: &Client) {
    let info = call(
        alice,
        "create_context",
        json!({"title": "Trip planning", "metadata": {"team": "travel", "draft": true}}),
    )
    .await;
    let id = info["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(info["owner"], "alice");
    assert_eq!(info["last_seq"], 0);
    assert_eq!(info["metadata"], json!({"team": "travel", "draft": true}));

    let a = call(
        alice,
        "append_messages",
        json!({"context_id": id, "messages": [
            {"role": "system", "content": "You plan trips."},
            {"role": "user", "content": "Book a train to Lisbon in May", "metadata": {"lang": "en"}},
            {"role": "assistant", "content": "The night train leaves Madrid at 21:40."},
        ]}),
    )
    .await;
    assert_eq!(
        (a["first_seq"].as_i64(), a["last_seq"].as_i64()),
        (Some(1), Some(3))
    );
    let a = call(
        alice,
        "append_messages",
        json!({"context_id": id, "messages": [
            {"role": "user", "content": "And a hotel near the Alfama"},
            {"role": "tool", "content": "hotel_search: 3 results"},
        ]}),
    )
    .await;
    assert_eq!(
        (a["first_seq"].as_i64(), a["last_seq"].as_i64()),
        (Some(4), Some(5))
    );

    let view = call(alice, "get_context", json!({"context_id": id})).await;
    let msgs = view["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 5);
    let seqs: Vec<i64> = msgs.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(msgs[1]["role"], "user");
    assert_eq!(msgs[1]["metadata"], json!({"lang": "en"}));
    assert_eq!(msgs[4]["role"], "tool");
    let total: i64 = msgs.iter().map(|m| m["tokens"].as_i64().unwrap()).sum();
    assert_eq!(view["context"]["token_count"].as_i64(), Some(total));
    assert_eq!(view["context"]["message_count"], 5);
    assert_eq!(
        msgs[0]["tokens"].as_i64(),
        Some(count_tokens("You plan trips.")),
        "tokens are counted with the real tokenizer"
    );

    // The newest two; the newest that fit in a budget.
    let view = call(alice, "get_context", json!({"context_id": id, "limit": 2})).await;
    let seqs: Vec<i64> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 5]);
    let last_two = msgs[3]["tokens"].as_i64().unwrap() + msgs[4]["tokens"].as_i64().unwrap();
    let view = call(
        alice,
        "get_context",
        json!({"context_id": id, "max_tokens": last_two}),
    )
    .await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 2);

    // Metadata merges; null removes; the title changes.
    let u = call(
        alice,
        "update_context",
        json!({"context_id": id, "title": "Lisbon trip", "metadata": {"draft": null, "budget": 900}}),
    )
    .await;
    assert_eq!(u["title"], "Lisbon trip");
    assert_eq!(u["metadata"], json!({"team": "travel", "budget": 900}));
    // Read back through the cache: the update invalidated it.
    let view = call(alice, "get_context", json!({"context_id": id, "limit": 1})).await;
    assert_eq!(view["context"]["title"], "Lisbon trip");

    // Search: every word, any case, punctuation ignored, best first.
    let hits = call(alice, "search_messages", json!({"query": "LISBON train!"})).await;
    let hits = hits["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["seq"], 2);
    assert_eq!(hits[0]["context_id"], id.as_str());
    assert_eq!(hits[0]["title"], "Lisbon trip");
    let other = create(alice, "Other").await;
    call(
        alice,
        "append_messages",
        json!({"context_id": other, "messages": [{"role": "user", "content": "a train to Porto"}]}),
    )
    .await;
    let hits = call(alice, "search_messages", json!({"query": "train"})).await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 3);
    let hits = call(
        alice,
        "search_messages",
        json!({"query": "train", "context_id": other}),
    )
    .await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 1);
    // FTS syntax in a query is text, not an operator.
    let hits = call(
        alice,
        "search_messages",
        json!({"query": "train OR NEAR(\"x\""}),
    )
    .await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 0);
    let err = call_err(alice, "search_messages", json!({"query": "!!"})).await;
    assert!(err.contains("`query` has no words"), "{err}");

    // Recent first.
    let list = call(alice, "list_contexts", json!({})).await;
    let ids: Vec<&str> = list["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], other);
    assert!(ids.contains(&id.as_str()));
    let page = call(alice, "list_contexts", json!({"limit": 1})).await;
    assert_eq!(page["contexts"].as_array().unwrap().len(), 1);
    let next = page["next_before"].as_i64().expect("a next page");
    let page2 = call(alice, "list_contexts", json!({"limit": 1, "before": next})).await;
    assert_ne!(page2["contexts"][0]["id"], page["contexts"][0]["id"]);

    // Resources.
    let read = |uri: String| async move {
        let contents = alice
            .read_resource(&uri)
            .await
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        let v = serde_json::to_value(&contents[0]).unwrap();
        serde_json::from_str::<Value>(v["text"].as_str().unwrap()).unwrap()
    };
    let r = read(format!("context://{id}")).await;
    assert_eq!(r["title"], "Lisbon trip");
    let r = read(format!("context://{id}/messages?since=3&limit=1")).await;
    assert_eq!(r.as_array().unwrap().len(), 1);
    assert_eq!(r[0]["seq"], 4);
    let r = read(format!("context://{id}/messages")).await;
    assert_eq!(r.as_array().unwrap().len(), 5);
    let r = read("contexts://recent".to_string()).await;
    assert!(r.as_array().unwrap().iter().any(|c| c["id"] == id.as_str()));

    // Prompts.
    let args = HashMap::from([("context_id".to_string(), id.clone())]);
    let p = alice.get_prompt("summarize_context", &args).await.unwrap();
    let p = serde_json::to_value(&p).unwrap();
    let text = p["messages"][0]["content"]["text"].as_str().unwrap();
    assert!(
        text.contains("Summarize") && text.contains("night train"),
        "{text}"
    );
    let p = alice
        .get_prompt("continue_conversation", &args)
        .await
        .unwrap();
    let p = serde_json::to_value(&p).unwrap();
    let roles: Vec<&str> = p["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "user", "assistant", "user", "user"]);
    assert_eq!(
        p["messages"][0]["content"]["text"],
        "[system] You plan trips."
    );

    // Trim to the budget of the newest two: the oldest three go, numbering goes on.
    let t = call(
        alice,
        "trim_context",
        json!({"context_id": id, "max_tokens": last_two}),
    )
    .await;
    assert_eq!(
        (
            t["removed"].as_i64(),
            t["kept"].as_i64(),
            t["tokens"].as_i64()
        ),
        (Some(3), Some(2), Some(last_two))
    );
    let view = call(alice, "get_context", json!({"context_id": id})).await;
    assert_eq!(view["context"]["message_count"], 2);
    assert_eq!(view["context"]["token_count"].as_i64(), Some(last_two));
    let a = call(
        alice,
        "append_messages",
        json!({"context_id": id, "messages": [{"role": "user", "content": "thanks"}]}),
    )
    .await;
    assert_eq!(a["first_seq"], 6);
    // Trimmed messages are gone from search too.
    let hits = call(
        alice,
        "search_messages",
        json!({"query": "Lisbon", "context_id": id}),
    )
    .await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 0);

    // A subscriber hears that the context changed.
    let sub = client_with(
        env.app(),
        Principal::new("alice", RW.iter().copied()),
        ClientOptions {
            protocol_version: "2025-11-25".into(),
            ..Default::default()
        },
    )
    .await;
    sub.subscribe(&format!("context://{id}")).await.unwrap();
    call(
        &sub,
        "append_messages",
        json!({"context_id": id, "messages": [{"role": "user", "content": "one more"}]}),
    )
    .await;
    let uri = format!("context://{id}");
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = sub.next_notification().await.expect("notifications");
            if n.method == "notifications/resources/updated" && n.params["uri"] == uri.as_str() {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "no resources/updated for {uri}");

    // On revision 2026-07-28, the same event reaches a `subscriptions/listen` stream.
    let listener = client_with(
        env.app(),
        Principal::new("alice", RW.iter().copied()),
        ClientOptions {
            protocol_version: "2026-07-28".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(listener.is_per_request(), "{}", listener.protocol_version());
    let sub = listener
        .listen(&ListenFilter::resources([uri.clone()]))
        .await
        .unwrap();
    call(
        &listener,
        "update_context",
        json!({"context_id": id, "metadata": {"heard": true}}),
    )
    .await;
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = listener.next_notification().await.expect("notifications");
            if n.method == "notifications/resources/updated" && n.params["uri"] == uri.as_str() {
                return n.subscription_id();
            }
        }
    })
    .await;
    assert_eq!(
        heard.ok().flatten(),
        Some(sub.id),
        "no listen event for {uri}"
    );
}

async fn last_seq(c: &Client, id: &str) -> i64 {
    call(c, "get_context", json!({"context_id": id, "limit": 1})).await["context"]["last_seq"]
        .as_i64()
        .unwrap()
}

async fn bad_input(alice: &Client) {
    let id = create(alice, "Bad input").await;
    call(
        alice,
        "append_messages",
        json!({"context_id": id, "messages": [{"role": "user", "content": "ok"}]}),
    )
    .await;
    let cases = [
        (
            json!({"context_id": id, "messages": [{"role": "user", "content": "x"}, {"role": "robot", "content": "x"}]}),
            "`messages[1].role`: unknown variant `robot`, expected one of `system`, `user`, `assistant`, `tool`",
        ),
        (
            json!({"context_id": id, "messages": [{"role": "user", "content": "fine"}, {"role": "user", "content": "x".repeat(70_000)}]}),
            "`messages[1].content` is 70000 bytes; the limit is 65536",
        ),
        (
            json!({"context_id": id, "messages": []}),
            "holds 0 messages; give 1 to 100",
        ),
        (json!({"context_id": id, "messages": "hello"}), "messages"),
        (
            json!({"context_id": id, "messages": [{"role": "user", "content": 5}]}),
            "`messages[0].content`: invalid type: integer `5`, expected a string",
        ),
        (
            json!({"context_id": id, "messages": [{"role": "user", "content": ""}]}),
            "`messages[0].content` is empty",
        ),
        (
            json!({"context_id": "../etc/passwd", "messages": [{"role": "user", "content": "x"}]}),
            "`context_id` must be the 32 lowercase hexadecimal characters",
        ),
        (
            json!({"context_id": id.to_uppercase(), "messages": [{"role": "user", "content": "x"}]}),
            "`context_id` must be",
        ),
        (
            json!({"context_id": 7, "messages": [{"role": "user", "content": "x"}]}),
            "context_id",
        ),
    ];
    for (args, expected) in cases {
        let err = call_err(alice, "append_messages", args.clone()).await;
        assert!(
            err.contains(expected),
            "append_messages {args}: expected {expected:?} in {err:?}"
        );
    }
    assert_eq!(last_seq(alice, &id).await, 1, "bad input changed nothing");
    let err = call_err(alice, "create_context", json!({"title": "  "})).await;
    assert!(err.contains("`title` is empty"), "{err}");
    let err = call_err(
        alice,
        "create_context",
        json!({"title": "x", "metadata": [1]}),
    )
    .await;
    assert!(err.contains("metadata"), "{err}");
    let err = call_err(
        alice,
        "trim_context",
        json!({"context_id": id, "max_tokens": -1}),
    )
    .await;
    assert!(err.contains("max_tokens"), "{err}");
    let err = call_err(
        alice,
        "update_context",
        json!({"context_id": id, "metadata": {"k": "v".repeat(20_000)}}),
    )
    .await;
    assert!(err.contains("the limit is 16384"), "{err}");
    // Each patch fits, their merge does not: refused, and the first stays.
    let half = "v".repeat(9_000);
    call(
        alice,
        "update_context",
        json!({"context_id": id, "metadata": {"a": half}}),
    )
    .await;
    let err = call_err(
        alice,
        "update_context",
        json!({"context_id": id, "metadata": {"b": half}}),
    )
    .await;
    assert!(err.contains("the merged `metadata` would be"), "{err}");
    let view = call(alice, "get_context", json!({"context_id": id, "limit": 1})).await;
    assert_eq!(view["context"]["metadata"].as_object().unwrap().len(), 1);
    assert_eq!(last_seq(alice, &id).await, 1);
}

async fn tenancy(env: &Env, alice: &Client, bob: &Client) {
    let id = create(alice, "Alice's secret").await;
    call(alice, "append_messages", json!({"context_id": id, "messages": [{"role": "user", "content": "zanzibar password hunter2"}]})).await;
    let missing = "0123456789abcdef0123456789abcdef";
    // Every tool that names a context: Bob's answer for Alice's id is the one for an id that
    // does not exist.
    let calls = |cid: &str| {
        vec![
            ("get_context", json!({"context_id": cid})),
            (
                "append_messages",
                json!({"context_id": cid, "messages": [{"role": "user", "content": "mine now"}]}),
            ),
            (
                "update_context",
                json!({"context_id": cid, "title": "bob's"}),
            ),
            (
                "delete_context",
                json!({"context_id": cid, "confirm": true}),
            ),
            ("trim_context", json!({"context_id": cid, "max_tokens": 0})),
        ]
    };
    for ((tool, theirs), (_, none)) in calls(&id).into_iter().zip(calls(missing)) {
        let a = call_err(bob, tool, theirs).await;
        let b = call_err(bob, tool, none).await;
        assert_eq!(a.replace(&id, "ID"), b.replace(missing, "ID"), "{tool}");
        assert!(a.contains("not found"), "{tool}: {a}");
    }
    let hits = call(bob, "search_messages", json!({"query": "zanzibar"})).await;
    assert_eq!(hits["hits"], json!([]));
    let hits = call(
        bob,
        "search_messages",
        json!({"query": "zanzibar", "context_id": id}),
    )
    .await;
    assert_eq!(hits["hits"], json!([]));
    let list = call(bob, "list_contexts", json!({"limit": 200})).await;
    assert!(
        list["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["owner"] == "bob")
    );
    for uri in [
        format!("context://{id}"),
        format!("context://{id}/messages"),
        format!("context://{id}/messages?since=0"),
    ] {
        let err = bob.read_resource(&uri).await.expect_err(&uri);
        let code = err.rpc().map(|e| e.code);
        assert_eq!(code, Some(-32002), "{uri}: {err}");
    }
    // Subscribing is reading: Bob's subscription to Alice's context gets the answer for an id
    // that does not exist, the one a read gets, on both revisions.
    for (theirs, none) in [
        (format!("context://{id}"), format!("context://{missing}")),
        (
            format!("context://{id}/messages"),
            format!("context://{missing}/messages"),
        ),
    ] {
        let read = bob.read_resource(&theirs).await.expect_err(&theirs);
        let a = bob.subscribe(&theirs).await.expect_err(&theirs);
        let b = bob.subscribe(&none).await.expect_err(&none);
        let (a, b, read) = (a.rpc().unwrap(), b.rpc().unwrap(), read.rpc().unwrap());
        assert_eq!((a.code, &a.message), (read.code, &read.message), "{theirs}");
        assert_eq!(a.code, b.code, "{theirs}");
        assert_eq!(
            a.message.replace(&id, "ID"),
            b.message.replace(missing, "ID"),
            "{theirs}"
        );
    }
    let bob_listening = env.as_per_request("bob", RW).await;
    for uri in [
        format!("context://{id}"),
        format!("context://{missing}/messages"),
    ] {
        let err = bob_listening
            .listen(&ListenFilter::resources([uri.clone()]))
            .await
            .expect_err(&uri);
        assert_eq!(err.rpc().map(|e| e.code), Some(-32002), "{uri}: {err}");
    }
    // Alice subscribes to her own, and Bob to his.
    alice.subscribe(&format!("context://{id}")).await.unwrap();
    let bobs = create(bob, "Bob's").await;
    bob_listening
        .listen(&ListenFilter::resources([format!(
            "context://{bobs}/messages"
        )]))
        .await
        .unwrap();
    let recent = bob.read_resource("contexts://recent").await.unwrap();
    let text = serde_json::to_value(&recent[0]).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!text.contains(&id), "{text}");
    let args = HashMap::from([("context_id".to_string(), id.clone())]);
    for prompt in ["summarize_context", "continue_conversation"] {
        let err = bob.get_prompt(prompt, &args).await.expect_err(prompt);
        assert!(err.to_string().contains("not found"), "{prompt}: {err}");
    }
    // Nothing Bob did changed Alice's context.
    let view = call(alice, "get_context", json!({"context_id": id})).await;
    assert_eq!(view["context"]["title"], "Alice's secret");
    assert_eq!(view["context"]["last_seq"], 1);

    // Scopes: a reader cannot write; without the admin scope there are no stats.
    let reader = env.as_("alice", &["contexts:read"]).await;
    call(&reader, "get_context", json!({"context_id": id})).await;
    let err = reader
        .call_tool(
            "append_messages",
            json!({"context_id": id, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await
        .expect_err("needs contexts:write");
    assert_eq!(err.rpc().map(|e| e.code), Some(-32003), "{err}");
    assert!(err.to_string().contains("contexts:write"), "{err}");
    let err = alice
        .call_tool("store_stats", json!({}))
        .await
        .expect_err("admin only");
    assert_eq!(err.rpc().map(|e| e.code), Some(-32003));
    // An operator reaches every tenant's contexts.
    let admin = env.as_("ops", &["contexts:read", "contexts:admin"]).await;
    let view = call(&admin, "get_context", json!({"context_id": id})).await;
    assert_eq!(view["context"]["owner"], "alice");
    let hits = call(&admin, "search_messages", json!({"query": "zanzibar"})).await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 1);
    let stats = call(&admin, "store_stats", json!({})).await;
    assert!(stats["tenants"].as_i64().unwrap() >= 1);
}

/// Two issuers' principals with the same subject are two tenants, and neither is the
/// issuer-less principal (an API key, the application's own) with that subject.
async fn issuers(env: &Env) {
    let a = tenant_of(Some("https://a.example"), "sam");
    let b = tenant_of(Some("https://b.example"), "sam");
    assert_ne!(a, b);
    assert_ne!(a, "sam");
    // No issuer and subject that would be read as another pair.
    assert_ne!(
        tenant_of(Some("https://a.example\",\"x"), "sam"),
        tenant_of(Some("https://a.example"), "x\",\"sam")
    );
    let id = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    env.store
        .create(&a, id, "Sam at A", &Default::default())
        .await
        .unwrap();
    let as_a = Caller {
        owner: a.clone(),
        admin: false,
    };
    let as_b = Caller {
        owner: b,
        admin: false,
    };
    assert_eq!(env.store.get(&as_a, id).await.unwrap().owner, a);
    let message = context_store::store::NewMessage {
        role: context_store::Role::User,
        content: "hello".into(),
        metadata: "{}".into(),
        tokens: 5,
    };
    assert!(matches!(
        env.store.get(&as_b, id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        env.store.append(&as_b, id, &[message]).await,
        Err(StoreError::NotFound(_))
    ));
    let listed = env.store.recent(&as_b, 200, None).await.unwrap();
    assert!(listed.iter().all(|c| c.id != id));
    // The issuer-less `sam` through the tools: not found, like any id that does not exist.
    let sam = env.as_("sam", RW).await;
    let err = call_err(&sam, "get_context", json!({"context_id": id})).await;
    assert!(err.contains("not found"), "{err}");
    let list = call(&sam, "list_contexts", json!({"limit": 200})).await;
    assert!(
        list["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != id)
    );
}

/// One message per call takes the single-statement path: concurrent calls still get distinct,
/// gap-free numbers, and the context's counters add up.
async fn concurrent_single_appends(env: &Env) {
    let owner = env.as_("carol", RW).await;
    let id = create(&owner, "Busy, one at a time").await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let c = env.as_("carol", RW).await;
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                let a = call(
                    &c,
                    "append_messages",
                    json!({"context_id": id, "messages": [
                        {"role": "user", "content": format!("single writer {w} message {i}")},
                    ]}),
                )
                .await;
                let f = a["first_seq"].as_i64().unwrap();
                assert_eq!(a["last_seq"].as_i64(), Some(f));
                seqs.push(f);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let seqs = t.await.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        all.extend(seqs);
    }
    all.sort();
    assert_eq!(all, (1..=80).collect::<Vec<i64>>());
    let view = call(
        &owner,
        "get_context",
        json!({"context_id": id, "limit": 1000}),
    )
    .await;
    assert_eq!(view["context"]["last_seq"], 80);
    assert_eq!(view["context"]["message_count"], 80);
    let tokens: i64 = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tokens"].as_i64().unwrap())
        .sum();
    assert_eq!(view["context"]["token_count"].as_i64(), Some(tokens));
}

async fn concurrent_appends(env: &Env) {
    let owner = env.as_("carol", RW).await;
    let id = create(&owner, "Busy").await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let c = env.as_("carol", RW).await;
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                let a = call(
                    &c,
                    "append_messages",
                    json!({"context_id": id, "messages": [
                        {"role": "user", "content": format!("writer {w} message {i} a")},
                        {"role": "assistant", "content": format!("writer {w} message {i} b")},
                    ]}),
                )
                .await;
                let (f, l) = (
                    a["first_seq"].as_i64().unwrap(),
                    a["last_seq"].as_i64().unwrap(),
                );
                assert_eq!(l, f + 1, "one call's messages are contiguous");
                seqs.push(f);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let seqs = t.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "each writer's appends in its order"
        );
        all.extend(seqs);
    }
    all.sort();
    assert_eq!(all, (0..80).map(|i| 1 + 2 * i).collect::<Vec<i64>>());
    let msgs = env
        .store
        .messages_since(
            &context_store::Caller {
                owner: "carol".into(),
                admin: false,
            },
            &id,
            0,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(msgs.len(), 160);
    for pair in msgs.chunks(2) {
        let a = pair[0].content.strip_suffix(" a").unwrap();
        assert_eq!(
            pair[1].content,
            format!("{a} b"),
            "a call's messages stay together"
        );
    }
}

fn confirming(answer: Value) -> ClientOptions {
    ClientOptions {
        capabilities: json!({"elicitation": {"form": {}}})
            .as_object()
            .unwrap()
            .clone(),
        on_request: Some(ServerRequestHandler::new(move |method, params| {
            let answer = answer.clone();
            Box::pin(async move {
                assert_eq!(method, "elicitation/create");
                assert!(
                    params["message"]
                        .as_str()
                        .unwrap()
                        .contains("cannot be undone")
                );
                Ok(answer)
            })
        })),
        ..Default::default()
    }
}

async fn deletion(env: &Env, alice: &Client) {
    let id = create(alice, "To delete").await;
    // No elicitation and no `confirm`: refused, naming the way out.
    let err = call_err(alice, "delete_context", json!({"context_id": id})).await;
    assert!(err.contains("call again with `confirm: true`"), "{err}");
    let who = || Principal::new("alice", RW.iter().copied());
    let declines = client_with(env.app(), who(), confirming(json!({"action": "decline"}))).await;
    let d = call(&declines, "delete_context", json!({"context_id": id})).await;
    assert_eq!(d["deleted"], false);
    call(alice, "get_context", json!({"context_id": id})).await;
    let accepts = client_with(
        env.app(),
        who(),
        confirming(json!({"action": "accept", "content": {"delete": true}})),
    )
    .await;
    let d = call(&accepts, "delete_context", json!({"context_id": id})).await;
    assert_eq!(d["deleted"], true);
    let err = call_err(alice, "get_context", json!({"context_id": id})).await;
    assert!(err.contains("not found"), "{err}");
    // `confirm: true` deletes without asking.
    let id = create(alice, "To delete too").await;
    call(
        alice,
        "append_messages",
        json!({"context_id": id, "messages": [{"role": "user", "content": "bye"}]}),
    )
    .await;
    let d = call(
        alice,
        "delete_context",
        json!({"context_id": id, "confirm": true}),
    )
    .await;
    assert_eq!(d["deleted"], true);
    let hits = call(alice, "search_messages", json!({"query": "bye"})).await;
    assert_eq!(hits["hits"], json!([]));
}

fn local_cache() -> Arc<Cache> {
    Arc::new(Cache::local(
        Duration::from_secs(60),
        CacheMetrics::default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let (store, _dir) = support::sqlite_store().await;
    suite(Env {
        store,
        cache: local_cache(),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    let pg = support::Postgres::start();
    let url = pg.database("behaviour").await;
    let store = Store::open(&url).await.expect("opening Postgres");
    suite(Env {
        store,
        cache: local_cache(),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_with_redis_cache() {
    let pg = support::Postgres::start();
    let redis = mcp_workspace::cluster::Redis::start();
    let url = pg.database("cached").await;
    let store = Store::open(&url).await.expect("opening Postgres");
    let metrics = CacheMetrics::default();
    let cache = Cache::with_redis(&redis.url(), Duration::from_secs(60), metrics.clone())
        .await
        .expect("connecting to Redis");
    suite(Env { store, cache }).await;
    let hits: u64 = metrics.hits.get_or_create(&[("tier", "local")]).get();
    let misses: u64 = metrics.misses.get_or_create(&[("tier", "redis")]).get();
    assert!(hits > 0 && misses > 0, "hits {hits}, redis misses {misses}");
    // Entries live in Redis with a TTL.
    let keys = redis
        .command("KEYS context-store:ctx:*\r\n")
        .unwrap_or_default();
    assert!(keys.contains("context-store:ctx:"), "{keys}");
}
