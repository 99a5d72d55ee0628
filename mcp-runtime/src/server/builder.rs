//! `Server`: the builder of what a server serves and how.

use std::sync::{Arc, Mutex};

use super::*;
use crate::protocol::Implementation;
use crate::server::registration::{Catalog, PromptEntry, ResourceEntry, ToolEntry};
use crate::server::{handlers::state, lifespan, per_request, per_request::tasks};

/// An MCP server under construction: its identity, and what it serves.
///
/// `Server::new` serves every `#[tool]`, `#[resource]` and `#[prompt]` in the program; filter
/// with [`Server::retain_tools`], [`Server::only_tools`], [`Server::tagged`] and friends, or
/// start from [`Server::empty`] and add items with [`Server::tool`], [`Server::resource`] and
/// [`Server::prompt`]. What a running server serves can change through its
/// [`ServerHandle`].
///
/// ```no_run
/// use mcp_runtime::prelude::*;
///
/// /// Add two integers.
/// #[tool]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), mcp_runtime::Error> {
///     Server::new("calculator").run().await
/// }
/// ```
#[derive(Clone)]
pub struct Server {
    info: Implementation,
    instructions: Option<String>,
    tools: Vec<&'static ToolDef>,
    resources: Vec<&'static ResourceDef>,
    prompts: Vec<&'static PromptDef>,
    page_size: usize,
    client_request_timeout: std::time::Duration,
    state: state::StateMap,
    lifespans: Vec<lifespan::Setup>,
    per_request: per_request::PerRequestConfig,
    tasks: tasks::TaskConfig,
    handle: ServerHandle,

    // Hardening against hostile clients.
    limits: super::SessionLimits,
    show_panic_details: bool,
    // ---- Identity (issue 21)
    policy: crate::auth::policy::Policy,
    /// Authentication for HTTP given to the builder; flags add to it.
    pub(crate) api_keys: Option<std::path::PathBuf>,
    pub(crate) oauth: Option<crate::auth::OAuthOptions>,
    // --- The skills extension (SEP-2640) ---
    #[cfg(feature = "skills")]
    skills: crate::server::skills::SkillsConfig,
    // --- text copy of structured results (first-day checks)
    structured_text: bool,
    /// Warnings about the command line (secrets in argv), told once the server is up.
    pub(crate) launch_warnings: Vec<String>,
    // Middleware and observability.
    stack: crate::middleware::Stack,
    // ---- Production (issue 20)
    /// Checks `/readyz` runs; lent to the HTTP options.
    pub(crate) readiness: crate::transport::http::Readiness,
    // ---- Scale out (issue 19)
    shared_state: Option<Arc<dyn crate::store::SharedState>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.info.name)
            .field(
                "tools",
                &self.tools.iter().map(|t| t.name).collect::<Vec<_>>(),
            )
            .field(
                "resources",
                &self.resources.iter().map(|r| r.uri).collect::<Vec<_>>(),
            )
            .field(
                "prompts",
                &self.prompts.iter().map(|p| p.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn in_module(module_path: &str, module: &str) -> bool {
    module_path == module
        || module_path
            .strip_prefix(module)
            .is_some_and(|rest| rest.starts_with("::"))
}

impl Server {
    /// A server named `name` serving every tool, resource and prompt registered in the program.
    pub fn new(name: impl Into<String>) -> Server {
        let mut server = Server::empty(name);
        server.tools = inventory::iter::<ToolDef>.into_iter().collect();
        server.resources = inventory::iter::<ResourceDef>.into_iter().collect();
        server.prompts = inventory::iter::<PromptDef>.into_iter().collect();
        server
    }

    /// A server named `name` serving nothing until told.
    pub fn empty(name: impl Into<String>) -> Server {
        Server {
            info: Implementation {
                name: name.into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            },
            instructions: None,
            tools: Vec::new(),
            resources: Vec::new(),
            prompts: Vec::new(),
            page_size: usize::MAX,
            client_request_timeout:
                crate::server::context::client_requests::DEFAULT_CLIENT_REQUEST_TIMEOUT,
            state: state::StateMap::default(),
            lifespans: Vec::new(),
            per_request: per_request::PerRequestConfig::default(),
            tasks: tasks::TaskConfig::default(),
            handle: ServerHandle::new(),
            // Hardening against hostile clients.
            limits: super::SessionLimits::default(),
            show_panic_details: false,
            policy: crate::auth::policy::Policy::default(),
            api_keys: None,
            oauth: None,
            #[cfg(feature = "skills")]
            skills: Default::default(),
            structured_text: true,
            launch_warnings: Vec::new(),
            stack: crate::middleware::Stack::default(),
            // ---- Production (issue 20)
            readiness: Default::default(),
            shared_state: None,
        }
    }

    /// The server's version (default: the version of `mcp-runtime`); pass
    /// `env!("CARGO_PKG_VERSION")` for your crate's.
    pub fn version(mut self, version: impl Into<String>) -> Server {
        self.info.version = version.into();
        self
    }

    /// A display name.
    pub fn title(mut self, title: impl Into<String>) -> Server {
        self.info.title = Some(title.into());
        self
    }

    /// A description of the server.
    pub fn description(mut self, description: impl Into<String>) -> Server {
        self.info.description = Some(description.into());
        self
    }

    /// The server's home page.
    pub fn website_url(mut self, url: impl Into<String>) -> Server {
        self.info.website_url = Some(url.into());
        self
    }

    /// Instructions for the client on how to use the server.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Server {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool by its descriptor.
    pub fn tool(mut self, def: &'static ToolDef) -> Server {
        self.tools.push(def);
        self
    }

    /// Adds a resource or resource template by its descriptor.
    pub fn resource(mut self, def: &'static ResourceDef) -> Server {
        self.resources.push(def);
        self
    }

    /// Adds a prompt by its descriptor.
    pub fn prompt(mut self, def: &'static PromptDef) -> Server {
        self.prompts.push(def);
        self
    }

    /// Keeps only the tools for which `keep` is true.
    pub fn retain_tools(mut self, keep: impl Fn(&ToolDef) -> bool) -> Server {
        self.tools.retain(|t| keep(t));
        self
    }

    /// Keeps only the resources and templates for which `keep` is true.
    pub fn retain_resources(mut self, keep: impl Fn(&ResourceDef) -> bool) -> Server {
        self.resources.retain(|r| keep(r));
        self
    }

    /// Keeps only the prompts for which `keep` is true.
    pub fn retain_prompts(mut self, keep: impl Fn(&PromptDef) -> bool) -> Server {
        self.prompts.retain(|p| keep(p));
        self
    }

    /// Keeps only the tools with these names.
    pub fn only_tools(self, names: &[&str]) -> Server {
        self.retain_tools(|t| names.contains(&t.name))
    }

    /// Keeps only the tools, resources and prompts carrying `tag`.
    pub fn tagged(self, tag: &str) -> Server {
        self.retain_tools(|t| t.tags.contains(&tag))
            .retain_resources(|r| r.tags.contains(&tag))
            .retain_prompts(|p| p.tags.contains(&tag))
    }

    /// Keeps only the tools, resources and prompts defined in `module` (a `module_path!()`
    /// prefix) or below it.
    pub fn in_module(self, module: &str) -> Server {
        self.retain_tools(|t| in_module(t.module_path, module))
            .retain_resources(|r| in_module(r.module_path, module))
            .retain_prompts(|p| in_module(p.module_path, module))
    }

    // ---- Identity (issue 21)

    /// The scopes an item needs when its macro declares none (`scopes(...)`), e.g.
    /// `&["mcp:use"]`. Items declaring `scopes()` need none whatever the default.
    pub fn default_scopes(mut self, scopes: &[&'static str]) -> Server {
        self.policy.default_scopes = scopes.to_vec();
        self
    }

    /// A rule of the application's own, run after the scopes allowed a tool call, resource
    /// read or prompt get: `Err(reason)` refuses it (error `-32003`, the reason in the
    /// message). For instance a tenant check on an argument:
    ///
    /// ```no_run
    /// use mcp_runtime::auth::Access;
    /// use mcp_runtime::prelude::*;
    ///
    /// # fn main() {
    /// let server = Server::new("notes").authorize(|caller, access| match access {
    ///     Access::Tool { arguments, .. } => match arguments.get("tenant").and_then(|t| t.as_str()) {
    ///         Some(tenant) if caller.claim("tenant").and_then(|t| t.as_str()) != Some(tenant) => {
    ///             Err(format!("`{}` may not use tenant `{tenant}`", caller.subject()))
    ///         }
    ///         _ => Ok(()),
    ///     },
    ///     _ => Ok(()),
    /// });
    /// # }
    /// ```
    pub fn authorize(
        mut self,
        rule: impl Fn(&crate::Principal, &crate::auth::Access<'_>) -> Result<(), String>
        + Send
        + Sync
        + 'static,
    ) -> Server {
        self.policy.authorize = Some(Arc::new(rule));
        self
    }

    /// Over HTTP, accept the API keys of `path` (see [`auth::api_keys`](crate::auth::api_keys)),
    /// as `--api-keys` does.
    pub fn api_keys(mut self, path: impl Into<std::path::PathBuf>) -> Server {
        self.api_keys = Some(path.into());
        self
    }

    /// Over HTTP, accept OAuth access tokens as `options` say (an OAuth 2.1 resource
    /// server), as `--oauth-issuer` and its companions do.
    pub fn oauth(mut self, options: crate::auth::OAuthOptions) -> Server {
        self.oauth = Some(options);
        self
    }

    /// How many items a page of `tools/list`, `resources/list`,
    /// `resources/templates/list` and `prompts/list` holds (default: all of them).
    pub fn page_size(mut self, n: usize) -> Server {
        self.page_size = n.max(1);
        self
    }

    /// How long a request to the client (sampling, elicitation, roots) may wait for its
    /// answer before it fails and is cancelled (default: 5 minutes, for a human in the loop).
    pub fn client_request_timeout(mut self, timeout: std::time::Duration) -> Server {
        self.client_request_timeout = timeout;
        self
    }

    /// What one session may hold at once: requests in flight, subscriptions, requests to
    /// the client (see [`SessionLimits`](super::SessionLimits) for the defaults).
    pub fn session_limits(mut self, limits: super::SessionLimits) -> Server {
        self.limits = limits;
        self
    }

    /// Whether a client is told what a panicking handler said. Off by default: the client
    /// gets ``internal error in tool `x` `` and the panic's message goes to the log only (it
    /// may name paths, queries or data). `--show-panic-details` (`MCP_SHOW_PANIC_DETAILS`)
    /// turns it on from the command line; `mcp-cli dev` turns it on for the server it runs.
    pub fn show_panic_details(mut self, show: bool) -> Server {
        self.show_panic_details = show;
        self
    }

    /// Shares `value` with every handler that takes a [`State<T>`] parameter. One value per
    /// type; a second one of the same type replaces the first.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Server {
        self.state.insert(value);
        self
    }

    /// Runs `setup` before the server serves, and the teardown it returns after the server
    /// stops: open a database pool, start a background task, and close them again. What
    /// `setup` puts in its [`Lifespan`] reaches handlers as [`State<T>`] parameters. A
    /// failing setup stops the server from starting, with its error
    /// ([`Error::Lifespan`](crate::Error::Lifespan)). Several lifespans run in the order
    /// given; their teardowns in reverse.
    ///
    /// Setup's error is a [`BoxError`](crate::BoxError): `?` converts any
    /// `std::error::Error`, and `anyhow::Error`, into it; `Err("message".into())` makes one.
    ///
    /// Setup runs once per server start: for each `run`, each in-process
    /// [`Client::connect`](crate::Client::connect), each [`HttpServer::bind`](crate::HttpServer::bind).
    pub fn lifespan<F, Fut>(mut self, setup: F) -> Server
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Lifespan, crate::BoxError>> + Send + 'static,
    {
        self.lifespans.push(Arc::new(move || Box::pin(setup())));
        self
    }

    /// How long 2026-07-28 clients may cache list results (`tools/list`, `prompts/list`,
    /// `resources/list`, `resources/templates/list`), `server/discover` and resource reads,
    /// and whether shared caches may keep them: the `ttlMs` and `cacheScope` of those results.
    /// Default: no caching (`ttlMs: 0`), public.
    pub fn cache_hints(mut self, ttl: std::time::Duration, scope: CacheScope) -> Server {
        self.per_request.lists = CacheHints { ttl, scope };
        self
    }

    /// The caching hints of reads of one resource or resource template (its URI or template
    /// text, as given to `#[resource]`), instead of the server's.
    pub fn resource_cache_hints(
        mut self,
        uri: impl Into<String>,
        ttl: std::time::Duration,
        scope: CacheScope,
    ) -> Server {
        self.per_request
            .resources
            .insert(uri.into(), CacheHints { ttl, scope });
        self
    }

    /// The key that seals the `requestState` of 2026-07-28 multi round-trip requests: 32
    /// random bytes or more, from which the ChaCha20-Poly1305 key that encrypts the state is
    /// derived. A state is bound to its request's method, target and arguments. Several
    /// instances behind a load balancer must share the key, so that any of them can take the
    /// next round; the default is a random key per process. A state older than `max_age` is
    /// refused (default: 10 minutes).
    pub fn request_state_key(
        mut self,
        key: impl AsRef<[u8]>,
        max_age: std::time::Duration,
    ) -> Server {
        self.per_request.state_key = key.as_ref().into();
        self.per_request.state_max_age = max_age;
        self.per_request.state_key_set = true;
        self
    }

    /// Shares sessions, SSE replay, notifications and the `requestState` key with other
    /// replicas of this server through `state` (a `RedisState` with the `redis` feature, or
    /// `--redis-url`; a [`MemoryState`](crate::store::MemoryState) shared by servers in one
    /// process). Serving over HTTP uses it; see `docs/scale-out.md`.
    pub fn shared_state(mut self, state: Arc<dyn crate::store::SharedState>) -> Server {
        self.shared_state = Some(state);
        self
    }

    /// How long a task (`#[tool(task = …)]`, 2026-07-28) stays after it was created: its
    /// `ttlMs`. Past it, the task is gone, and stopped if it still ran. `None` keeps tasks
    /// until the process ends. Default: one hour.
    pub fn task_ttl(mut self, ttl: Option<std::time::Duration>) -> Server {
        self.tasks.ttl = ttl;
        self
    }

    /// How often clients should poll a task with `tasks/get`: its `pollIntervalMs`.
    /// Default: 500 ms.
    pub fn task_poll_interval(mut self, interval: std::time::Duration) -> Server {
        self.tasks.poll_interval = Some(interval.max(std::time::Duration::from_millis(1)));
        self
    }

    /// The most tasks kept at once; a call that would make one more answers with an error
    /// until some expire. Default: 10 000.
    pub fn max_tasks(mut self, max: usize) -> Server {
        self.tasks.max_tasks = max;
        self
    }

    /// Serves the skills under `dir` (the skills extension, `io.modelcontextprotocol/skills`):
    /// every directory below it with a `SKILL.md` is a skill, whose name (the `name` of its
    /// front matter) must be the directory's name. Its files are served as
    /// `skill://<path>/<file>` resources with their SHA-256 digests, through `skills/list`,
    /// `skills/get`, `resources/directory/read` and `resources/read`; `resources/list` lists
    /// each `SKILL.md`.
    ///
    /// The tree is read whole when the server starts, and checked: front matter (name rules,
    /// a description), at most 512 files and 16 MiB per skill, no symbolic links, no skill
    /// inside another. A tree that breaks a rule stops the server from starting with
    /// [`Error::Skills`](crate::Error::Skills), naming the file and the fix. Hidden files
    /// and directories (`.git`) are skipped; files outside every skill are not served.
    /// Call it more than once to serve several trees. See also [`Server::watch_skills`].
    #[cfg(feature = "skills")]
    pub fn skills_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Server {
        self.skills
            .sources
            .push(crate::server::skills::SkillSource::Dir(dir.into()));
        self
    }

    /// Serves skills embedded in the binary, as [`include_skills!`](crate::include_skills)
    /// gives them: the same rules as [`Server::skills_dir`], for single-binary deploys.
    #[cfg(feature = "skills")]
    pub fn skills_embedded(mut self, files: &'static [crate::server::EmbeddedFile]) -> Server {
        self.skills
            .sources
            .push(crate::server::skills::SkillSource::Embedded(files));
        self
    }

    /// Looks at the skills directories every `interval` and, when something changed, loads
    /// them again and sends `notifications/resources/list_changed` to every client. A tree
    /// that no longer loads is reported in the log and the last good one stays served.
    /// Off by default.
    #[cfg(feature = "skills")]
    pub fn watch_skills(mut self, interval: std::time::Duration) -> Server {
        self.skills.watch = Some(interval.max(std::time::Duration::from_millis(10)));
        self
    }

    /// Whether a tool's structured result also carries its JSON as a text block (default:
    /// true, as the specification recommends for clients that read only `content`). `false`
    /// sends `structuredContent` alone (`"content": []`) to clients of 2025-06-18 and later,
    /// saving the tokens of a second copy for clients that read it; older revisions, which
    /// have no `structuredContent`, keep the text. `#[tool(text = …)]` overrides it per tool.
    pub fn structured_text(mut self, text: bool) -> Server {
        self.structured_text = text;
        self
    }

    /// Adds a [`Middleware`](crate::Middleware): code around every request, tool call,
    /// resource read and prompt get. Middleware run in the order added, the first outermost;
    /// see [`middleware`](crate::middleware).
    pub fn middleware(mut self, middleware: impl crate::Middleware) -> Server {
        self.stack.chain.push(Arc::new(middleware));
        self
    }

    /// Limits how many requests each client may send: a token bucket per client
    /// ([`RateLimit`](crate::middleware::RateLimit)), checked before anything else runs. A
    /// request over the limit is answered with a JSON-RPC error
    /// ([`RATE_LIMITED`](crate::middleware::RATE_LIMITED), with `retryAfterMs`); over HTTP,
    /// with `429 Too Many Requests` and `Retry-After`.
    #[cfg(feature = "rate-limit")]
    pub fn rate_limit(mut self, limit: crate::middleware::RateLimit) -> Server {
        self.stack.rate_limit = Some(limit);
        self
    }

    /// Records Prometheus metrics in `metrics` ([`Metrics`](crate::observe::Metrics): the
    /// series it lists): requests by method and outcome, calls by name with their latency,
    /// requests in flight, sessions, SSE streams, auth failures and rate-limited requests.
    /// Over HTTP they are served at `/metrics` on the MCP port when it is bound to a loopback
    /// address, and on [`HttpOptions::metrics_addr`](crate::HttpOptions::metrics_addr)
    /// (`--metrics-addr`) when set.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: &crate::observe::Metrics) -> Server {
        self.stack.metrics = Some(metrics.clone());
        self
    }

    /// The metrics given to [`Server::metrics`].
    #[cfg(feature = "metrics")]
    pub(crate) fn recorded_metrics(&self) -> Option<&crate::observe::Metrics> {
        self.stack.metrics.as_ref()
    }

    /// Opens a span for each request, and one for each tool's execution, after the
    /// OpenTelemetry semantic conventions for MCP (see `docs/observability.md`); handlers'
    /// own `tracing` spans nest inside. With the `otlp` feature they are exported over OTLP,
    /// continuing the client's trace (`traceparent` in `params._meta` or in HTTP headers);
    /// [`Server::run`](crate::Server::run) turns this on by itself when the `OTEL_*`
    /// variables configure an exporter. The spans are at the INFO level, target
    /// `mcp_runtime::request`.
    pub fn traces(mut self) -> Server {
        self.stack.traces = true;
        self
    }

    /// How long a call of a tool without a timeout of its own (`#[tool(timeout = "...")]`)
    /// may run before it is stopped and answered with a tool error naming the limit.
    /// Default: none.
    pub fn tool_timeout(mut self, timeout: std::time::Duration) -> Server {
        self.stack.tool_timeout = Some(timeout);
        self
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The names of the tools this server will serve, in listing order.
    pub fn tool_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.tools.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names
    }

    /// The URIs and URI templates of the resources this server will serve, in listing order.
    pub fn resource_uris(&self) -> Vec<&'static str> {
        let mut uris: Vec<_> = self.resources.iter().map(|r| r.uri).collect();
        uris.sort_unstable();
        uris
    }

    /// The names of the prompts this server will serve, in listing order.
    pub fn prompt_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.prompts.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names
    }

    /// A handle on the server once it runs: change what it serves, notify subscribers.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// The message naming each served item that takes a `State<T>` the server lacks.
    fn missing_state(&self) -> Option<String> {
        use state::Needer;
        let tools = self.tools.iter().map(|d| Needer {
            kind: "tool",
            name: d.name,
            location: d.location,
            states: d.states,
        });
        let resources = self.resources.iter().map(|d| Needer {
            kind: "resource",
            name: d.uri,
            location: d.location,
            states: d.states,
        });
        let prompts = self.prompts.iter().map(|d| Needer {
            kind: "prompt",
            name: d.name,
            location: d.location,
            states: d.states,
        });
        state::missing(&self.state, tools.chain(resources).chain(prompts))
    }

    /// Runs the lifespans' setup, then builds what the transports serve; the teardown is for
    /// when serving ends.
    pub(crate) async fn start(
        mut self,
    ) -> Result<(Arc<ServerCore>, lifespan::Teardown), crate::Error> {
        let lifespans = std::mem::take(&mut self.lifespans);
        let teardown = lifespan::start(&lifespans, &mut self.state).await?;
        match self.build() {
            Ok(core) => Ok((core, teardown)),
            Err(e) => {
                teardown.run().await;
                Err(e)
            }
        }
    }

    /// Builds what the transports serve, without running lifespans. Fails when two items
    /// share a name or URI, or a URI template is invalid.
    pub(crate) fn build(self) -> Result<Arc<ServerCore>, crate::Error> {
        use crate::Error;
        crate::server::apps::check_views(&self.tools, &self.resources).map_err(Error::AppView)?;
        if let Some(message) = self.missing_state() {
            return Err(Error::MissingState(message));
        }
        let tools = self
            .tools
            .into_iter()
            .map(ToolEntry::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::InvalidSchema)?;
        let tools = Catalog::build(tools).map_err(Error::DuplicateName)?;
        let (mut fixed, mut templates) = (Vec::new(), Vec::new());
        for def in self.resources {
            let entry = ResourceEntry::new(def).map_err(Error::InvalidUriTemplate)?;
            if entry.template.is_some() {
                templates.push(entry);
            } else {
                fixed.push(entry);
            }
        }
        #[cfg(feature = "skills")]
        let skills = if self.skills.sources.is_empty() {
            None
        } else {
            Some(crate::server::skills::Skills::load(self.skills.clone()).map_err(Error::Skills)?)
        };
        let server_info = serde_json::value::to_raw_value(&self.info)
            .expect("an implementation serializes")
            .into();
        let core = Arc::new(ServerCore {
            server_info,
            info: self.info,
            instructions: self.instructions,
            tools,
            resources: Catalog::build(fixed).map_err(Error::DuplicateName)?,
            templates: Catalog::build(templates).map_err(Error::DuplicateName)?,
            prompts: Catalog::build(self.prompts.into_iter().map(PromptEntry::new).collect())
                .map_err(Error::DuplicateName)?,
            page_size: self.page_size,
            client_request_timeout: self.client_request_timeout,
            state: self.state,
            sessions: Mutex::new(Vec::new()),
            listeners: Mutex::new(Vec::new()),
            per_request: self.per_request,
            tasks: tasks::TaskStore::new(self.tasks),
            // Hardening against hostile clients.
            limits: self.limits,
            show_panic_details: self.show_panic_details,
            policy: self.policy,
            task_owners: Default::default(),
            #[cfg(feature = "skills")]
            skills,
            structured_text: self.structured_text,
            // Middleware and observability.
            stack: self.stack.start(),
            shared: match self.shared_state {
                Some(s) => std::sync::OnceLock::from(s),
                None => std::sync::OnceLock::new(),
            },
            shared_state_key: std::sync::OnceLock::new(),
            fan_out: std::sync::OnceLock::new(),
            replicate: std::sync::OnceLock::new(),
            local_values: std::sync::OnceLock::new(),
        });
        self.handle.attach(&core);
        #[cfg(feature = "skills")]
        if let Some(interval) = self.skills.watch {
            crate::server::skills::watch::spawn(&core, interval);
        }
        #[cfg(feature = "metrics")]
        if let Some(m) = &core.stack.metrics {
            m.attach(&core);
        }
        Ok(core)
    }
}
