//! `mcp-cli skills list|get|verify`: the skills a server serves (the skills extension,
//! SEP-2640), read only when asked and verified against their entries.

use mcp_runtime::Client;
use mcp_runtime::skills::{Skill, SkillResources};
use serde_json::{Value, json};

use crate::commands::Failure;

/// What `skills` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkillsAction {
    /// Each skill's name, URI, description and file count; reads no file.
    List,
    /// One skill's `SKILL.md`, verified, and its manifest.
    Get,
    /// Reads every file of every skill (or of one) and checks it against the manifest.
    Verify,
}

impl SkillsAction {
    pub(crate) fn parse(word: Option<&str>) -> Result<SkillsAction, String> {
        match word {
            Some("list") | None => Ok(SkillsAction::List),
            Some("get") => Ok(SkillsAction::Get),
            Some("verify") => Ok(SkillsAction::Verify),
            Some(other) => Err(format!(
                "unknown skills command `{other}`: use `skills list`, `skills get SKILL` or `skills verify [SKILL]`"
            )),
        }
    }
}

fn files(skill: &Skill) -> Option<&[mcp_runtime::skills::SkillResource]> {
    match &skill.resources {
        SkillResources::Files(f) => Some(f),
        SkillResources::Dynamic(_) => None,
    }
}

/// The skill `wanted` names: its `SKILL.md` URI, or its name.
fn find<'a>(skills: &'a [Skill], wanted: &str) -> Result<&'a Skill, Failure> {
    skills
        .iter()
        .find(|s| s.uri == wanted || s.name() == Some(wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = skills.iter().filter_map(Skill::name).collect();
            Failure::Server(format!(
                "no skill `{wanted}`; the server's skills are: {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ))
        })
}

pub(crate) async fn run(
    client: &Client,
    action: SkillsAction,
    skill: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    if !client.serves_skills() {
        return Err(Failure::Server(
            "the server does not declare the skills extension (io.modelcontextprotocol/skills)"
                .into(),
        ));
    }
    let all = client.list_skills().await?;
    match action {
        SkillsAction::List => {
            if json_out {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
                return Ok(());
            }
            if all.is_empty() {
                println!("(no skills listed)");
            }
            for s in &all {
                let description = s.frontmatter.get("description").and_then(Value::as_str);
                let count =
                    files(s).map_or("dynamic".to_string(), |f| format!("{} files", f.len()));
                println!("{}  {}  ({count})", s.name().unwrap_or("?"), s.uri);
                if let Some(d) = description {
                    println!("    {d}");
                }
            }
            Ok(())
        }
        SkillsAction::Get => {
            let wanted = skill.ok_or_else(|| {
                Failure::Usage("`skills get` needs a skill: its name or SKILL.md URI".into())
            })?;
            let entry = match all
                .iter()
                .find(|s| s.uri == wanted || s.name() == Some(wanted))
            {
                Some(s) => s.clone(),
                // Skills may be served without being listed: ask for the URI.
                None if wanted.contains("://") => client.get_skill(wanted).await?,
                None => find(&all, wanted)?.clone(),
            };
            let loaded = client.load_skill(&entry).await?;
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"skill": entry, "text": loaded.text}))
                        .unwrap_or_default()
                );
            } else {
                print!("{}", loaded.text);
                if !loaded.text.ends_with('\n') {
                    println!();
                }
                if let Some(f) = files(&entry) {
                    eprintln!("-- {} files (verified SKILL.md):", f.len());
                    for file in f {
                        eprintln!("   {}  {} bytes  {}", file.uri, file.size, file.digest);
                    }
                }
            }
            Ok(())
        }
        SkillsAction::Verify => {
            let chosen: Vec<&Skill> = match skill {
                Some(w) => vec![find(&all, w)?],
                None => all.iter().collect(),
            };
            let mut failed = Vec::new();
            let mut report = Vec::new();
            for s in chosen {
                let name = s.name().unwrap_or("?").to_string();
                match verify_one(client, s).await {
                    Ok((n, bytes)) => {
                        report
                            .push(json!({"skill": s.uri, "ok": true, "files": n, "bytes": bytes}));
                        if !json_out {
                            println!("ok      {name}  ({n} files, {bytes} bytes)");
                        }
                    }
                    Err(e) => {
                        report.push(json!({"skill": s.uri, "ok": false, "error": e}));
                        if !json_out {
                            println!("FAILED  {name}: {e}");
                        }
                        failed.push(name);
                    }
                }
            }
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(Failure::Server(format!(
                    "{} skill(s) failed verification: {}",
                    failed.len(),
                    failed.join(", ")
                )))
            }
        }
    }
}

/// Loads a skill (its SKILL.md, checked first), then reads each other file of its
/// manifest, stopping at the first that fails.
async fn verify_one(client: &Client, skill: &Skill) -> Result<(usize, u64), String> {
    client.load_skill(skill).await.map_err(|e| e.to_string())?;
    let Some(f) = files(skill) else {
        return Ok((1, 0));
    };
    let mut bytes = 0u64;
    for file in f {
        if file.uri != skill.uri {
            client
                .read_skill_file(skill, &file.uri)
                .await
                .map_err(|e| e.to_string())?;
        }
        bytes += file.size;
    }
    Ok((f.len(), bytes))
}
