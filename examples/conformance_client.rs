//! A client for the official MCP conformance suite's client scenarios
//! (`@modelcontextprotocol/conformance client --command …`), built on the public [`Client`]
//! API only.
//!
//! The suite runs it once per scenario with the mock server's URL as its last argument, the
//! scenario's name in `MCP_CONFORMANCE_SCENARIO`, the revision in
//! `MCP_CONFORMANCE_PROTOCOL_VERSION` and, where the scenario has any, what the application
//! would be configured with (tool calls to make, pre-registered credentials) in
//! `MCP_CONFORMANCE_CONTEXT` as JSON.
//!
//! It behaves like a small application: it connects (logging in with OAuth when the server
//! asks for it), answers the server's requests (sampling with a fixed reply, elicitation by
//! accepting the form's defaults, roots with none), then uses what the server offers: it lists
//! the tools, calls the ones its configuration names (or each tool whose input needs no
//! arguments), lists and reads resources, lists and gets prompts.
//!
//! `cargo run --example conformance_client -- http://127.0.0.1:8000/mcp`

use std::process::ExitCode;

use mcp_runtime::client::oauth::{AutoApprove, ClientCredential, IdentityProvider, OAuth};
use mcp_runtime::protocol::ErrorObject;
use mcp_runtime::{Client, ClientOptions, HttpClientOptions, ServerRequestHandler};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    mcp_runtime::init_logging();
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: conformance_client URL");
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance_client: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the application is configured with.
struct Config {
    scenario: String,
    protocol_version: String,
    context: Value,
}

impl Config {
    fn from_env() -> anyhow::Result<Config> {
        let context = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
            Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("MCP_CONFORMANCE_CONTEXT is not JSON: {e}"))?,
            _ => Value::Null,
        };
        Ok(Config {
            scenario: std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default(),
            protocol_version: std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION")
                .unwrap_or_else(|_| "2025-11-25".into()),
            context,
        })
    }

    /// The tool calls the configuration names: `[{"name", "arguments"}]`.
    fn tool_calls(&self) -> Vec<(String, Value)> {
        self.context
            .get("toolCalls")
            .and_then(Value::as_array)
            .map(|calls| {
                calls
                    .iter()
                    .filter_map(|c| {
                        let name = c.get("name")?.as_str()?.to_string();
                        let arguments = c.get("arguments").cloned().unwrap_or_else(|| json!({}));
                        Some((name, arguments))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The answers a small interactive application gives the server's requests.
fn answers() -> ServerRequestHandler {
    ServerRequestHandler::new(|method, _params| {
        Box::pin(async move {
            match method.as_str() {
                "sampling/createMessage" => Ok(json!({
                    "role": "assistant",
                    "content": {"type": "text", "text": "This is a reply from the conformance client."},
                    "model": "conformance-client",
                    "stopReason": "endTurn",
                })),
                // The user accepts the form as it is: the client fills in the defaults.
                "elicitation/create" => Ok(json!({"action": "accept", "content": {}})),
                "roots/list" => Ok(json!({"roots": []})),
                other => Err(ErrorObject::method_not_found(other)),
            }
        })
    })
}

async fn run(url: &str) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let options = ClientOptions {
        protocol_version: config.protocol_version.clone(),
        capabilities: json!({"sampling": {}, "elicitation": {"form": {}}, "roots": {}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        on_request: Some(answers()),
        ..ClientOptions::default()
    };
    let http = HttpClientOptions::default().oauth(oauth(&config)?);
    let client = Client::connect_http_with(url, http, options).await?;
    tracing::info!(scenario = %config.scenario, server = %client.server_info().name, "connected");
    use_the_server(&client, &config).await?;
    client.close().await?;
    Ok(())
}

/// Uses what the server offers, as an application exploring a server would.
async fn use_the_server(client: &Client, config: &Config) -> anyhow::Result<()> {
    let capabilities = client.server_capabilities().clone();
    let tools = client.list_all_tools().await?;
    let configured = config.tool_calls();
    if !configured.is_empty() {
        for (name, arguments) in configured {
            client.call_tool(&name, arguments).await?;
        }
    } else {
        for tool in &tools {
            let schema = serde_json::to_value(&tool.input_schema)?;
            // A tool that takes back a schema: give it the schema of the first other tool.
            if let Some(arguments) = arguments_for(&schema, &tools, &tool.name) {
                client.call_tool(&tool.name, arguments).await?;
            }
        }
    }
    if capabilities.contains_key("resources") {
        for resource in client.list_all_resources().await? {
            client.read_resource(&resource.uri).await?;
        }
    }
    // The skills catalog is listed; a skill's files are read only when the application
    // uses the skill (here it is set to use every skill in the scenarios that check
    // verification), and one that fails verification is not used.
    if client.serves_skills() {
        let skills = client.list_skills().await?;
        if config.scenario.starts_with("sep-2640-client-verify") {
            for skill in &skills {
                if let Err(e) = client.load_skill(skill).await {
                    eprintln!("conformance_client: skill not used: {e}");
                }
            }
        }
    }
    if capabilities.contains_key("prompts") {
        for prompt in client.list_all_prompts().await? {
            client
                .get_prompt(&prompt.name, &std::collections::HashMap::new())
                .await?;
        }
    }
    Ok(())
}

/// Arguments for a tool, from its input schema: none for a tool without required inputs;
/// numbers for numbers; for an object argument named `schema`, the input schema of another
/// tool (a schema echo). `None` when the application has nothing to give.
fn arguments_for(
    schema: &Value,
    tools: &[mcp_runtime::protocol::Tool],
    name: &str,
) -> Option<Value> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut arguments = serde_json::Map::new();
    for field in required {
        let kind = properties
            .and_then(|p| p.get(field))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let value = match kind {
            "number" | "integer" => json!(if arguments.is_empty() { 2 } else { 3 }),
            "object" if field == "schema" => {
                let other = tools.iter().find(|t| t.name != name)?;
                serde_json::to_value(&other.input_schema).ok()?
            }
            "string" => json!("conformance"),
            "boolean" => json!(true),
            _ => return None,
        };
        arguments.insert(field.to_string(), value);
    }
    Some(Value::Object(arguments))
}

/// The client's URL-based client id: where its client ID metadata document is published.
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";
/// The redirect URI the client registers; the authorization servers of the suite approve
/// at once, so nothing listens there.
const REDIRECT_URI: &str = "http://localhost:3000/callback";

/// How the application logs in, from its configuration: the authorization code grant by
/// default (with a client ID metadata document where the server takes one), a
/// pre-registered client when configured with one.
fn oauth(config: &Config) -> anyhow::Result<OAuth> {
    let text = |key: &str| {
        config
            .context
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let client_id = text("client_id");
    // An enterprise user signed in at the identity provider.
    if let (Some(id_token), Some(token_endpoint), Some(idp_client_id)) = (
        text("idp_id_token"),
        text("idp_token_endpoint"),
        text("idp_client_id"),
    ) {
        let idp = IdentityProvider {
            token_endpoint,
            client_id: idp_client_id,
            client_secret: None,
            id_token,
        };
        return Ok(OAuth::enterprise(
            idp,
            client_id.unwrap_or_default(),
            text("client_secret"),
        )?);
    }
    // A workload with an identity token from its platform.
    if let Some(jwt) = text("valid_jwt") {
        let oauth = OAuth::jwt_bearer(move |_| {
            let jwt = jwt.clone();
            Box::pin(async move { Ok(jwt) })
        });
        return Ok(match client_id {
            Some(id) => oauth.pre_registered(id, text("client_secret"), None),
            None => oauth,
        });
    }
    // A service configured for the client credentials grant.
    if config.scenario.starts_with("auth/client-credentials") {
        let Some(id) = client_id else {
            anyhow::bail!("the client credentials grant needs a client_id");
        };
        let credential = match (text("private_key_pem"), text("client_secret")) {
            (Some(pem), _) => ClientCredential::PrivateKey {
                pem,
                algorithm: text("signing_algorithm").unwrap_or_else(|| "ES256".into()),
                key_id: None,
            },
            (None, Some(secret)) => ClientCredential::Secret(secret),
            (None, None) => anyhow::bail!("the client credentials grant needs a secret or a key"),
        };
        return Ok(OAuth::client_credentials(id, credential));
    }
    let mut oauth = OAuth::authorization_code(AutoApprove::new(REDIRECT_URI))
        .client_name("mcp-runtime conformance client")
        .client_metadata_url(CLIENT_METADATA_URL);
    if let Some(id) = client_id {
        oauth = oauth.pre_registered(id, text("client_secret"), text("issuer"));
    }
    Ok(oauth)
}
