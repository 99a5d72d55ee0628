//! Everything the inspector (`mcp-cli dev`) can show, in one server: forms for nested
//! arguments, every kind of content, structured output, logging and progress, and requests
//! to the client (elicitation and sampling).
//!
//! Try it with `mcp-cli dev --example inspector_demo --open`; it speaks MCP on stdin/stdout.

use mcp_runtime::prelude::*;
use mcp_runtime::server::ElicitationResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How to travel between stops.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// By train.
    Train,
    /// By bus.
    Bus,
    /// On foot.
    Walk,
}

/// One stop of a trip.
#[derive(Debug, Deserialize, JsonSchema)]
struct Stop {
    /// The city.
    city: String,
    /// Nights spent there.
    nights: u32,
}

/// The plan of a trip.
#[derive(Serialize, JsonSchema)]
struct Plan {
    /// The cities in order.
    route: Vec<String>,
    /// Total nights.
    nights: u32,
    /// How the traveller moves.
    mode: Mode,
    /// Whether the trip needs a rail pass.
    rail_pass: bool,
}

/// Plan a trip through several stops.
///
/// # Arguments
/// * `traveller` - Who is travelling.
/// * `stops` - The stops, in order.
/// * `mode` - How to travel between stops.
/// * `rail_pass` - Buy a rail pass when travelling by train.
/// * `budget` - The most to spend, in euros.
#[tool(annotations(read_only, open_world = false))]
fn plan_trip(
    traveller: String,
    stops: Vec<Stop>,
    #[arg(default = Mode::Train)] mode: Mode,
    #[arg(default = true)] rail_pass: bool,
    budget: Option<f64>,
) -> Result<Plan, ToolError> {
    if stops.is_empty() {
        return Err(ToolError::new("a trip needs at least one stop"));
    }
    if budget.is_some_and(|b| b < 0.0) {
        return Err(ToolError::new(format!(
            "{traveller}'s budget must not be negative"
        )));
    }
    Ok(Plan {
        route: stops.iter().map(|s| s.city.clone()).collect(),
        nights: stops.iter().map(|s| s.nights).sum(),
        mode,
        rail_pass: rail_pass && matches!(mode, Mode::Train),
    })
}

/// A table's seating area.
#[derive(Debug, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum Seating {
    /// Inside.
    Indoor,
    /// On the terrace.
    Terrace,
}

/// What the user books.
#[derive(Debug, Deserialize, JsonSchema, mcp_runtime::Form)]
struct Booking {
    /// Name for the reservation.
    name: String,
    /// How many guests.
    guests: u32,
    /// Where to sit.
    seating: Seating,
    /// Send a reminder the day before?
    reminder: Option<bool>,
}

/// Book a table, asking the user for the details.
#[tool]
async fn book_table(restaurant: String, ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .elicit::<Booking>(format!("Book a table at {restaurant}: who is coming?"))
        .await?;
    Ok(match answer {
        ElicitationResponse::Accept(b) => format!(
            "Booked {restaurant} for {} ({} guests, {:?}{})",
            b.name,
            b.guests,
            b.seating,
            if b.reminder == Some(true) {
                ", with a reminder"
            } else {
                ""
            }
        ),
        ElicitationResponse::Decline => "The user declined to book.".into(),
        ElicitationResponse::Cancel => "The booking was cancelled.".into(),
    })
}

/// Ask the client's model to write a haiku.
#[tool]
async fn haiku(topic: String, ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .sample(
            SamplingRequest::new(format!("Write a haiku about {topic}."), 60)
                .system("You are a poet. Answer with the haiku only."),
        )
        .await?;
    Ok(format!("{} (by {})", answer.text(), answer.model))
}

/// Count down from `from`, logging each step and reporting progress.
#[tool(annotations(read_only, open_world = false))]
async fn countdown(#[arg(default = 5)] from: u32, ctx: Context) -> String {
    for left in (1..=from).rev() {
        ctx.info(format!("{left}…"));
        ctx.progress(
            f64::from(from - left + 1),
            Some(f64::from(from)),
            Some(&format!("{left} left")),
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    ctx.warning("lift-off");
    "lift-off".into()
}

/// Every kind of content block: text, an image, audio, a resource link and an embedded
/// resource.
#[tool(annotations(read_only, open_world = false))]
fn showcase() -> Vec<Content> {
    vec![
        Content::text("Text, an image, a sound, a link and an embedded resource."),
        Content::image(&checkerboard_png(), "image/png"),
        Content::audio(&beep_wav(), "audio/wav"),
        Content::resource_link("demo://readme", "readme"),
        Content::embedded_text(
            "demo://config.json",
            Some("application/json"),
            r#"{"theme": "dark", "retries": 3}"#,
        ),
    ]
}

/// What the demo is about.
#[resource("demo://readme", mime_type = "text/markdown")]
fn readme() -> &'static str {
    "# Inspector demo\n\nTools with forms, content of every kind, elicitation and sampling."
}

/// The demo's settings.
#[resource("demo://config.json", mime_type = "application/json")]
fn config() -> Json<serde_json::Value> {
    Json(serde_json::json!({"theme": "dark", "retries": 3}))
}

fn colours(partial: &str, _: &CompletionContext) -> Vec<&'static str> {
    ["amber", "azure", "crimson", "indigo", "ivory", "jade"]
        .into_iter()
        .filter(|c| c.starts_with(partial))
        .collect()
}

/// A greeting in a colour (colours complete).
#[resource("demo://greeting/{colour}/{name}")]
fn greeting(#[arg(complete = colours)] colour: String, name: String) -> String {
    format!("Hello {name}, in {colour}!")
}

/// Greet someone.
///
/// # Arguments
/// * `name` - Who to greet.
/// * `colour` - A colour to mention.
#[prompt]
fn greet(name: String, #[arg(complete = colours)] colour: Option<String>) -> String {
    match colour {
        Some(c) => format!("Say hello to {name}, mentioning the colour {c}."),
        None => format!("Say hello to {name}."),
    }
}

/// An 8×8 black-and-white checkerboard, as a PNG (stored, uncompressed deflate).
fn checkerboard_png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &d in data {
            a = (a + u32::from(d)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let size = 8u32;
    let mut raw = Vec::new();
    for y in 0..size {
        raw.push(0); // no filter
        for x in 0..size {
            raw.push(if (x + y) % 2 == 0 { 0x22 } else { 0xee });
        }
    }
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A 0.2 s 440 Hz beep, as an 8 kHz 8-bit mono WAV.
fn beep_wav() -> Vec<u8> {
    let rate = 8000u32;
    let samples: Vec<u8> = (0..rate / 5)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            (128.0 + 60.0 * (t * 440.0 * std::f64::consts::TAU).sin()) as u8
        })
        .collect();
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    Server::new("inspector-demo")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("A tour of what the inspector shows: forms, content, logging, progress, elicitation and sampling.")
        .run()
        .await
}
