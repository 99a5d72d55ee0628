//! Real parts for the multi-replica tests and benchmark: Redis (Debian's `redis-server`) and
//! HAProxy (Debian's `haproxy`), each on a free loopback port in a temporary directory, and
//! server replicas (example binaries with `--redis-url`). Every part is killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{HttpExample, Running};

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let mut bytes = [0u8; 8];
        getrandom_fill(&mut bytes);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn getrandom_fill(bytes: &mut [u8]) {
    // No dependency for this: the clock and the process id are unique enough for a name.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (nanos >> (i * 8)) as u8;
    }
}

/// Whether a program is installed (the tests that need it are skipped with a note if not,
/// outside CI; `scripts/test` installs them).
pub fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A `redis-server` on a free loopback port, with no persistence, in a temporary directory.
pub struct Redis {
    pub port: u16,
    child: Option<Running>,
    dir: TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        let dir = TempDir::new("mcp-redis");
        let mut redis = Redis {
            port: free_port(),
            child: None,
            dir,
        };
        redis.spawn();
        redis
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server (apt-get install redis-server)");
        self.child = Some(Running(child));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers `PING`.
    pub fn ping(&self) -> bool {
        self.command("PING\r\n")
            .is_some_and(|r| r.starts_with("+PONG"))
    }

    /// One inline command; the first reply line.
    pub fn command(&self, line: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(line.as_bytes()).ok()?;
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Kills it (every key is lost: there is no persistence).
    pub fn stop(&mut self) {
        self.child = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ping() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

/// HAProxy in front of `backends` (`127.0.0.1:PORT` each): round robin per request, no
/// stickiness, long tunnel timeouts for SSE.
pub struct Haproxy {
    pub port: u16,
    _child: Running,
    _dir: TempDir,
}

impl Haproxy {
    pub fn start(backends: &[&str]) -> Haproxy {
        let dir = TempDir::new("mcp-haproxy");
        let port = free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, b)| format!("    server r{i} {b}\n"))
            .collect();
        let config = format!(
            "global\n    maxconn 4000\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 120s\n    \
             timeout server 120s\n    timeout tunnel 120s\n\
             frontend mcp\n    bind 127.0.0.1:{port}\n    default_backend replicas\n\
             backend replicas\n    balance roundrobin\n{servers}"
        );
        let path = dir.0.join("haproxy.cfg");
        std::fs::write(&path, config).expect("writing haproxy.cfg");
        let child = Command::new(haproxy_binary())
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting haproxy (apt-get install haproxy)");
        let child = Running(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Haproxy {
            port,
            _child: child,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

fn haproxy_binary() -> &'static Path {
    for p in ["/usr/sbin/haproxy", "/usr/bin/haproxy"] {
        if Path::new(p).exists() {
            return Path::new(p);
        }
    }
    Path::new("haproxy")
}

/// A server replica: `example` over HTTP on a free port, sharing state through `redis_url`.
pub fn replica(example: &str, redis_url: &str, extra: &[&str]) -> HttpExample {
    let mut args = vec!["--redis-url", redis_url];
    args.extend_from_slice(extra);
    HttpExample::start(super::example_command(example), &args)
}
