//! [`RedisState`]: shared state in Redis, for replicas behind a load balancer.
//!
//! Keys (all under `mcp:`): `s:<id>` a session's record (JSON, with the session's time to
//! live), `e:<id>:<stream>` a list of its stream's last events (8 bytes of sequence number,
//! big-endian, then the SSE frame) and `e:<id>:<stream>:b` their bytes, `eb:<id>` the bytes
//! of all its streams and `es:<id>` its streams oldest first, `k:<id>` the set of its event
//! and value keys (so that DELETE removes them), `v:<id>:<name>` handler values, `b:<name>` a budget's held slots (a
//! sorted set scored by lease end, in Redis's own clock), and the channel `mcp:bus`.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::memory::BUS_QUEUE;
use super::*;

const BUS: &str = "mcp:bus";
/// How long one command may take before it fails (Redis down or partitioned).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared state in Redis: connects lazily and reconnects by itself (redis-rs's connection
/// manager), so a server starts while Redis is down and recovers when it returns; until then
/// [`SharedState::healthy`] is `false` and every operation fails with a [`StoreError`]
/// within two seconds.
#[derive(Clone)]
pub struct RedisState {
    client: ::redis::Client,
    connection: ConnectionManager,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the address is shown.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisState")
            .field("addr", &info.addr().to_string())
            .finish_non_exhaustive()
    }
}

fn failed(e: ::redis::RedisError) -> StoreError {
    StoreError(format!("Redis: {e}"))
}

impl RedisState {
    /// A store on the Redis server `url` (`redis://[:password@]host:port[/db]`). Fails only
    /// when the URL is malformed; the connection is made on first use.
    pub fn open(url: &str) -> Result<RedisState, StoreError> {
        let client = ::redis::Client::open(url)
            .map_err(|e| StoreError(format!("the Redis URL is not valid ({e})")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(failed)?;
        Ok(RedisState { client, connection })
    }

    /// Runs a command; once more if the connection had dropped (the manager reconnects on
    /// the first failure after Redis came back, and that request should not pay for it).
    async fn run<T: ::redis::FromRedisValue>(&self, cmd: &::redis::Cmd) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let mut c = self.connection.clone();
            match tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async(&mut c)).await {
                Ok(Err(e)) if attempt == 0 && reconnects(&e) => continue,
                Ok(r) => return r.map_err(failed),
                Err(_) => break,
            }
        }
        Err(StoreError("Redis did not answer within 2 s".into()))
    }

    /// [`RedisState::run`] for a pipeline.
    async fn run_pipe<T: ::redis::FromRedisValue>(
        &self,
        pipe: &::redis::Pipeline,
    ) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let mut c = self.connection.clone();
            match tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async(&mut c)).await {
                Ok(Err(e)) if attempt == 0 && reconnects(&e) => continue,
                Ok(r) => return r.map_err(failed),
                Err(_) => break,
            }
        }
        Err(StoreError("Redis did not answer within 2 s".into()))
    }
}

/// Whether the error is the connection's, which a new one may not have.
fn reconnects(e: &::redis::RedisError) -> bool {
    e.is_connection_dropped() || e.is_io_error()
}

fn secs(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

impl SessionStore for RedisState {
    fn save_session<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let json = serde_json::to_vec(record).map_err(|e| StoreError(e.to_string()))?;
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(format!("mcp:s:{id}"))
                .arg(json)
                .arg("EX")
                .arg(secs(ttl));
            self.run::<()>(&cmd).await
        })
    }

    fn load_session<'a>(
        &'a self,
        id: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<SessionRecord>> {
        Box::pin(async move {
            let mut cmd = ::redis::cmd("GETEX");
            cmd.arg(format!("mcp:s:{id}")).arg("EX").arg(secs(ttl));
            let Some(json) = self.run::<Option<Vec<u8>>>(&cmd).await? else {
                return Ok(None);
            };
            let mut touch = ::redis::pipe();
            touch
                .cmd("EXPIRE")
                .arg(format!("mcp:k:{id}"))
                .arg(secs(ttl))
                .ignore();
            self.run_pipe::<()>(&touch).await?;
            serde_json::from_slice(&json)
                .map(Some)
                .map_err(|e| StoreError(format!("a session record is unreadable ({e})")))
        })
    }

    fn touch_session<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut pipe = ::redis::pipe();
            pipe.cmd("EXPIRE")
                .arg(format!("mcp:s:{id}"))
                .arg(secs(ttl))
                .cmd("EXPIRE")
                .arg(format!("mcp:k:{id}"))
                .arg(secs(ttl))
                .ignore();
            let (exists,): (bool,) = self.run_pipe(&pipe).await?;
            Ok(exists)
        })
    }

    fn delete_session<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let index = format!("mcp:k:{id}");
            let mut members = ::redis::cmd("SMEMBERS");
            members.arg(&index);
            let keys: Vec<String> = self.run(&members).await?;
            let mut del = ::redis::cmd("DEL");
            del.arg(format!("mcp:s:{id}")).arg(&index);
            for k in &keys {
                del.arg(k);
            }
            let removed: u64 = self.run(&del).await?;
            Ok(removed > 0)
        })
    }
}

/// Appends an event to a stream's list (KEYS[1]), counting its bytes (KEYS[2]) and the
/// session's (KEYS[3]); a new stream joins the session's streams, oldest first (KEYS[4]), and
/// every key its index (KEYS[5], which DELETE removes). Then trims: the stream's oldest events
/// past its count or bytes (the newest stays), then whole older streams past the session's
/// bytes, oldest first.
const APPEND: &str = r"
local item = ARGV[1]
local keep, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_stream, max_session = tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('RPUSH', KEYS[1], item) == 1 then
  redis.call('RPUSH', KEYS[4], KEYS[1])
  redis.call('SADD', KEYS[5], KEYS[1], KEYS[2], KEYS[3], KEYS[4])
end
local bytes = redis.call('INCRBY', KEYS[2], #item)
local total = redis.call('INCRBY', KEYS[3], #item)
local n = redis.call('LLEN', KEYS[1])
while n > 1 and (n > keep or bytes > max_stream) do
  local old = redis.call('LPOP', KEYS[1])
  bytes = redis.call('DECRBY', KEYS[2], #old)
  total = redis.call('DECRBY', KEYS[3], #old)
  n = n - 1
end
while total > max_session do
  local oldest = redis.call('LINDEX', KEYS[4], 0)
  if not oldest or oldest == KEYS[1] then break end
  redis.call('LPOP', KEYS[4])
  local gone = tonumber(redis.call('GET', oldest .. ':b') or '0')
  redis.call('DEL', oldest, oldest .. ':b')
  redis.call('SREM', KEYS[5], oldest, oldest .. ':b')
  total = redis.call('DECRBY', KEYS[3], gone)
end
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ttl) end
return 1
";

impl EventLog for RedisState {
    fn append_event<'a>(
        &'a self,
        session: &'a str,
        stream: u64,
        seq: u64,
        event: Bytes,
        keep: Keep,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = format!("mcp:e:{session}:{stream}");
            let mut item = Vec::with_capacity(8 + event.len());
            item.extend_from_slice(&seq.to_be_bytes());
            item.extend_from_slice(&event);
            let mut eval = ::redis::cmd("EVAL");
            eval.arg(APPEND)
                .arg(5)
                .arg(&key)
                .arg(format!("{key}:b"))
                .arg(format!("mcp:eb:{session}"))
                .arg(format!("mcp:es:{session}"))
                .arg(format!("mcp:k:{session}"))
                .arg(item)
                .arg(keep.events.max(1))
                .arg(secs(ttl))
                .arg(keep.stream_bytes)
                .arg(keep.session_bytes);
            self.run::<()>(&eval).await
        })
    }

    fn events<'a>(&'a self, session: &'a str, stream: u64) -> StoreFuture<'a, Vec<(u64, Bytes)>> {
        Box::pin(async move {
            let mut cmd = ::redis::cmd("LRANGE");
            cmd.arg(format!("mcp:e:{session}:{stream}")).arg(0).arg(-1);
            let items: Vec<Vec<u8>> = self.run(&cmd).await?;
            Ok(items
                .into_iter()
                .filter_map(|item| {
                    let (seq, event) = item.split_at_checked(8)?;
                    let seq = u64::from_be_bytes(seq.try_into().ok()?);
                    Some((seq, Bytes::copy_from_slice(event)))
                })
                .collect())
        })
    }
}

impl Bus for RedisState {
    fn publish(&self, payload: Vec<u8>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut cmd = ::redis::cmd("PUBLISH");
            cmd.arg(BUS).arg(payload);
            self.run::<()>(&cmd).await
        })
    }

    fn subscribe(&self) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(BUS_QUEUE);
        let client = self.client.clone();
        tokio::spawn(async move {
            let mut warned = false;
            while !tx.is_closed() {
                let connect = async {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(BUS).await?;
                    Ok::<_, ::redis::RedisError>(pubsub)
                };
                match tokio::time::timeout(COMMAND_TIMEOUT, connect).await {
                    Ok(Ok(pubsub)) => {
                        if warned {
                            tracing::info!("the Redis bus is back");
                            warned = false;
                        }
                        let mut messages = pubsub.into_on_message();
                        loop {
                            tokio::select! {
                                message = messages.next() => {
                                    let Some(message) = message else { break };
                                    let payload = message.get_payload_bytes().to_vec();
                                    if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(payload) {
                                        tracing::warn!("the bus queue is full: a message from another replica was dropped");
                                    }
                                }
                                () = tx.closed() => return,
                            }
                        }
                    }
                    Ok(Err(e)) if !warned => {
                        tracing::warn!(error = %e, "the Redis bus is unreachable; retrying");
                        warned = true;
                    }
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        rx
    }
}

impl ValueStore for RedisState {
    fn get_or_set<'a>(&'a self, name: &'a str, fresh: &'a [u8]) -> StoreFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let key = format!("mcp:{name}");
            let mut set = ::redis::cmd("SET");
            set.arg(&key).arg(fresh).arg("NX");
            self.run::<Option<String>>(&set).await?;
            let mut get = ::redis::cmd("GET");
            get.arg(&key);
            self.run::<Option<Vec<u8>>>(&get)
                .await?
                .ok_or_else(|| StoreError(format!("{key} vanished as it was set")))
        })
    }

    fn get_value<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut get = ::redis::cmd("GET");
            get.arg(format!("mcp:{name}"));
            self.run(&get).await
        })
    }

    fn set_value<'a>(
        &'a self,
        name: &'a str,
        value: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = format!("mcp:{name}");
            let mut pipe = ::redis::pipe();
            pipe.atomic()
                .cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("EX")
                .arg(secs(ttl))
                .ignore();
            // A session's values go when the session does.
            if let Some(session) = name.strip_prefix("v:").and_then(|r| r.split(':').next()) {
                pipe.cmd("SADD")
                    .arg(format!("mcp:k:{session}"))
                    .arg(&key)
                    .ignore();
            }
            self.run_pipe::<()>(&pipe).await
        })
    }
}

/// Takes a slot of a budget, atomically: drops the slots whose lease ran out (Redis's clock,
/// so replicas' clocks need not agree), then adds `holder` unless `max` are held. The key
/// lives as long as the last lease.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local lease = tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
if redis.call('PTTL', KEYS[1]) < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
end
return 1
";

impl Budgets for RedisState {
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        max: usize,
        lease: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut eval = ::redis::cmd("EVAL");
            eval.arg(ACQUIRE)
                .arg(1)
                .arg(format!("mcp:b:{name}"))
                .arg(holder)
                .arg(max)
                .arg(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX).max(1));
            let taken: i64 = self.run(&eval).await?;
            Ok(taken == 1)
        })
    }

    fn release<'a>(&'a self, name: &'a str, holder: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut zrem = ::redis::cmd("ZREM");
            zrem.arg(format!("mcp:b:{name}")).arg(holder);
            self.run::<()>(&zrem).await
        })
    }
}

impl SharedState for RedisState {
    fn healthy(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            self.run::<String>(&::redis::cmd("PING"))
                .await
                .is_ok_and(|p| p == "PONG")
        })
    }

    fn session_bytes<'a>(&'a self, id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut members = ::redis::cmd("SMEMBERS");
            members.arg(format!("mcp:k:{id}"));
            let mut keys: Vec<String> = self.run(&members).await?;
            keys.push(format!("mcp:s:{id}"));
            keys.push(format!("mcp:k:{id}"));
            let mut total = 0;
            for k in keys {
                let mut usage = ::redis::cmd("MEMORY");
                usage.arg("USAGE").arg(&k);
                total += self.run::<Option<u64>>(&usage).await?.unwrap_or(0);
            }
            Ok(total)
        })
    }
}
