//! The inspector's Skills view (the skills extension, SEP-2640): the server's skills with
//! their front matter and manifests, and each skill's files read and verified (size, SHA-256
//! digest, front matter of `SKILL.md`) when the developer asks, never before.

use mcp_runtime::Client;
use mcp_runtime::skills::{Skill, SkillResources};
use serde_json::{Value, json};

/// The most bytes of a skill file the page is shown (the rest is cut, its digest still
/// checked over the whole file).
const PREVIEW: usize = 64 * 1024;

/// Every skill the server lists: `{skills: [{uri, name, frontmatter, files | "dynamic"}]}`.
pub(super) async fn list(client: &Client) -> Result<Value, String> {
    if !client.serves_skills() {
        return Ok(json!({ "declared": false, "skills": [] }));
    }
    let skills = client.list_skills().await.map_err(|e| e.to_string())?;
    Ok(json!({ "declared": true, "skills": skills }))
}

fn preview(bytes: &[u8]) -> Value {
    match std::str::from_utf8(&bytes[..bytes.len().min(PREVIEW)]) {
        Ok(t) => json!({ "text": t, "cut": bytes.len() > PREVIEW }),
        Err(_) if bytes.len() > PREVIEW => json!({ "binary": true, "cut": true }),
        Err(_) => json!({ "binary": true }),
    }
}

/// Reads every file of skill `uri` and checks each against the skill's entry:
/// `{skill, files: [{uri, size, digest, ok, error?, preview?}], ok}`.
pub(super) async fn verify(client: &Client, uri: &str) -> Result<Value, String> {
    let all = client.list_skills().await.map_err(|e| e.to_string())?;
    let skill: Skill = match all.into_iter().find(|s| s.uri == uri) {
        Some(s) => s,
        None => client.get_skill(uri).await.map_err(|e| e.to_string())?,
    };
    let mut files = Vec::new();
    let mut ok = true;
    // SKILL.md first: its size, digest and front matter.
    let loaded = client.load_skill(&skill).await;
    let entry = skill.file(&skill.uri);
    match &loaded {
        Ok(l) => files.push(json!({
            "uri": skill.uri, "size": entry.map(|e| e.size), "digest": entry.map(|e| e.digest.clone()),
            "ok": true, "preview": preview(l.text.as_bytes()),
        })),
        Err(e) => {
            ok = false;
            files.push(json!({
                "uri": skill.uri, "size": entry.map(|e| e.size), "digest": entry.map(|e| e.digest.clone()),
                "ok": false, "error": e.to_string(),
            }));
        }
    }
    if let SkillResources::Files(manifest) = &skill.resources {
        for file in manifest.iter().filter(|f| f.uri != skill.uri) {
            match client.read_skill_file(&skill, &file.uri).await {
                Ok(bytes) => files.push(json!({
                    "uri": file.uri, "size": file.size, "digest": file.digest,
                    "ok": true, "preview": preview(&bytes),
                })),
                Err(e) => {
                    ok = false;
                    files.push(json!({
                        "uri": file.uri, "size": file.size, "digest": file.digest,
                        "ok": false, "error": e.to_string(),
                    }));
                }
            }
        }
    }
    Ok(json!({ "skill": skill, "files": files, "ok": ok,
               "dynamic": matches!(skill.resources, SkillResources::Dynamic(_)) }))
}
