//! The skills extension (SEP-2640) end to end, through the in-memory client: a skills
//! directory and embedded skills served, listed page by page, read lazily and verified.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::skills::{self, Skill, SkillResources};
use mcp_runtime::{ClientError, ClientOptions};
use serde_json::{Value, json};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mcp-skills-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn skill_md(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n# {name}\n\nThe body.\n")
}

fn tree() -> TempDir {
    let dir = TempDir::new("tree");
    dir.write("alpha/SKILL.md", &skill_md("alpha", "First skill."));
    dir.write("alpha/references/GUIDE.md", "# Guide\n");
    dir.write("alpha/scripts/run.sh", "echo hi\n");
    dir.write("team/beta/SKILL.md", &skill_md("beta", "Second skill."));
    dir.write("gamma/SKILL.md", &skill_md("gamma", "Third skill."));
    dir.write("gamma/.hidden", "not served");
    dir.write("NOTES.txt", "outside every skill");
    dir
}

#[tokio::test]
async fn a_directory_is_served_as_listed_skills_with_verified_files() {
    let dir = tree();
    let c = Client::connect(Server::empty("skills").skills_dir(dir.path()).page_size(1))
        .await
        .unwrap();
    assert!(c.serves_skills());
    let ext = &c.server_capabilities()["extensions"][skills::EXTENSION];
    assert_eq!(ext, &json!({"directoryRead": true}));

    // Page size 1: three pages, each skill whole on one.
    let first = c.list_skills_page(None).await.unwrap();
    assert_eq!(first.skills.len(), 1);
    assert!(first.next_cursor.is_some());
    let all = c.list_skills().await.unwrap();
    let uris: Vec<&str> = all.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "skill://alpha/SKILL.md",
            "skill://gamma/SKILL.md",
            "skill://team/beta/SKILL.md"
        ]
    );
    let alpha = &all[0];
    assert_eq!(
        Value::Object(alpha.frontmatter.clone()),
        json!({"name": "alpha", "description": "First skill."})
    );
    let SkillResources::Files(files) = &alpha.resources else {
        panic!("a manifest")
    };
    let listed: Vec<&str> = files.iter().map(|f| f.uri.as_str()).collect();
    assert_eq!(
        listed,
        [
            "skill://alpha/SKILL.md",
            "skill://alpha/references/GUIDE.md",
            "skill://alpha/scripts/run.sh"
        ]
    );
    let body = skill_md("alpha", "First skill.");
    assert_eq!(files[0].digest, skills::digest(body.as_bytes()));
    assert_eq!(files[0].size, body.len() as u64);
    // Hidden files are not part of a skill.
    let SkillResources::Files(gamma) = &all[1].resources else {
        panic!("a manifest")
    };
    assert_eq!(gamma.len(), 1);

    assert_eq!(
        &c.get_skill("skill://team/beta/SKILL.md").await.unwrap(),
        &all[2]
    );
    let loaded = c.load_skill(alpha).await.unwrap();
    assert_eq!(loaded.text, body);
    let guide = c
        .read_skill_file(alpha, "skill://alpha/references/GUIDE.md")
        .await
        .unwrap();
    assert_eq!(guide, b"# Guide\n");

    // resources/list lists each SKILL.md with the front matter's name and description.
    let resources = c.list_all_resources().await.unwrap();
    let beta = resources
        .iter()
        .find(|r| r.uri == "skill://team/beta/SKILL.md")
        .expect("listed");
    assert_eq!(beta.name, "beta");
    assert_eq!(beta.description.as_deref(), Some("Second skill."));
    assert_eq!(beta.mime_type.as_deref(), Some("text/markdown"));
    assert!(!resources.iter().any(|r| r.uri.ends_with("GUIDE.md")));

    // Directories: direct children, subdirectories as inode/directory.
    let top = c.read_directory("skill://alpha").await.unwrap();
    let kinds: Vec<(&str, Option<&str>)> = top
        .iter()
        .map(|r| (r.uri.as_str(), r.mime_type.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("skill://alpha/SKILL.md", Some("text/markdown")),
            (
                "skill://alpha/references",
                Some(skills::DIRECTORY_MIME_TYPE)
            ),
            ("skill://alpha/scripts", Some(skills::DIRECTORY_MIME_TYPE)),
        ]
    );
    let refs = c.read_directory("skill://alpha/references").await.unwrap();
    assert_eq!(refs[0].uri, "skill://alpha/references/GUIDE.md");
}

#[tokio::test]
async fn unknown_skills_files_and_paths_outside_are_invalid_params() {
    let dir = tree();
    let c = Client::connect(Server::empty("skills").skills_dir(dir.path()))
        .await
        .unwrap();
    let e = c.get_skill("skill://nope/SKILL.md").await.unwrap_err();
    let rpc = e.rpc().expect("a JSON-RPC error");
    assert_eq!(rpc.code, -32602);
    assert_eq!(rpc.data, Some(json!({"uri": "skill://nope/SKILL.md"})));
    let e = c
        .read_directory("skill://alpha/SKILL.md")
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
    assert!(e.to_string().contains("is a file, not a directory"), "{e}");
    for outside in [
        "skill://alpha/../NOTES.txt",
        "skill://NOTES.txt",
        "skill://alpha/.hidden",
    ] {
        assert!(c.read_resource(outside).await.is_err(), "{outside}");
    }
}

#[tokio::test]
async fn skills_are_served_on_the_per_request_revision_with_caching_hints() {
    let dir = tree();
    let options = ClientOptions {
        protocol_version: "2026-07-28".into(),
        ..Default::default()
    };
    let c = Client::connect_with(Server::empty("skills").skills_dir(dir.path()), options)
        .await
        .unwrap();
    assert!(c.is_per_request());
    assert!(c.serves_skills());
    let raw: Value = c.request("skills/list", &json!({})).await.unwrap();
    assert_eq!(raw["skills"].as_array().unwrap().len(), 3);
    assert!(
        raw.get("ttlMs").is_some() && raw.get("cacheScope").is_some(),
        "{raw}"
    );
    let raw: Value = c
        .request("skills/get", &json!({"uri": "skill://gamma/SKILL.md"}))
        .await
        .unwrap();
    assert!(
        raw.get("ttlMs").is_some() && raw.get("nextCursor").is_none(),
        "{raw}"
    );
    let skill = c.get_skill("skill://gamma/SKILL.md").await.unwrap();
    c.load_skill(&skill).await.unwrap();
}

#[tokio::test]
async fn embedded_skills_serve_the_same_tree_from_the_binary() {
    const FILES: &[mcp_runtime::server::EmbeddedFile] =
        mcp_runtime::include_skills!("examples/everything/skills");
    let c = Client::connect(Server::empty("embedded").skills_embedded(FILES))
        .await
        .unwrap();
    let all = c.list_skills().await.unwrap();
    let names: Vec<_> = all.iter().filter_map(Skill::name).collect();
    assert_eq!(names, ["pdf-processing", "release-notes"]);
    for skill in &all {
        c.load_skill(skill).await.unwrap();
        let SkillResources::Files(files) = &skill.resources else {
            panic!("a manifest")
        };
        for f in files {
            let bytes = c.read_skill_file(skill, &f.uri).await.unwrap();
            let on_disk = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("examples/everything/skills")
                    .join(f.uri.strip_prefix("skill://").unwrap()),
            )
            .unwrap();
            assert_eq!(bytes, on_disk, "{}", f.uri);
        }
    }
    // The folded description of release-notes, as a YAML parser reads it.
    assert_eq!(
        all[1].frontmatter["description"],
        "Write release notes from a list of merged changes: group them by kind, lead with what users notice, and link each entry to its change."
    );
}

#[tokio::test]
async fn trees_that_break_the_rules_stop_the_server_with_the_file_and_the_fix() {
    let dir = TempDir::new("bad-name");
    dir.write("pdf/SKILL.md", &skill_md("pdf-tools", "Mismatched."));
    let e = Client::connect(Server::empty("s").skills_dir(dir.path()))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("pdf/SKILL.md") && e.to_string().contains("must equal"),
        "{e}"
    );

    let dir = TempDir::new("too-big");
    dir.write("big/SKILL.md", &skill_md("big", "Big."));
    let chunk = "x".repeat(1024 * 1024);
    for i in 0..17 {
        dir.write(&format!("big/blob{i}.txt"), &chunk);
    }
    let e = Client::connect(Server::empty("s").skills_dir(dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("16 MiB"), "{e}");

    let e = Client::connect(Server::empty("s").skills_dir("/nonexistent/skills"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/skills"), "{e}");
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_links_are_refused() {
    let dir = TempDir::new("link");
    dir.write("pdf/SKILL.md", &skill_md("pdf", "Reads PDFs."));
    let outside = TempDir::new("outside");
    outside.write("secret.txt", "secret");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("pdf/secret.txt"),
    )
    .unwrap();
    let e = Client::connect(Server::empty("s").skills_dir(dir.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
}

/// An entry whose manifest disagrees with what the server serves.
fn tampered(skill: &Skill, edit: impl FnOnce(&mut Skill)) -> Skill {
    let mut s = skill.clone();
    edit(&mut s);
    s
}

#[tokio::test]
async fn the_client_refuses_files_that_do_not_match_the_entry() {
    let dir = tree();
    let c = Client::connect(Server::empty("skills").skills_dir(dir.path()))
        .await
        .unwrap();
    let alpha = c.get_skill("skill://alpha/SKILL.md").await.unwrap();
    let files = |s: &mut Skill| match &mut s.resources {
        SkillResources::Files(f) => f.clone(),
        SkillResources::Dynamic(_) => unreachable!(),
    };
    let with_files = |s: &mut Skill, f| s.resources = SkillResources::Files(f);

    let bad_size = tampered(&alpha, |s| {
        let mut f = files(s);
        f[0].size += 1;
        with_files(s, f);
    });
    let e = c.load_skill(&bad_size).await.unwrap_err();
    assert!(matches!(e, ClientError::SkillVerification { .. }), "{e}");
    assert!(e.to_string().contains("bytes read"), "{e}");

    let bad_digest = tampered(&alpha, |s| {
        let mut f = files(s);
        f[1].digest = skills::digest(b"something else");
        with_files(s, f);
    });
    let e = c
        .read_skill_file(&bad_digest, "skill://alpha/references/GUIDE.md")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("digest"), "{e}");

    let bad_frontmatter = tampered(&alpha, |s| {
        s.frontmatter
            .insert("description".into(), "Something else.".into());
    });
    let e = c.load_skill(&bad_frontmatter).await.unwrap_err();
    assert!(e.to_string().contains("`description`"), "{e}");

    let e = c
        .read_skill_file(&alpha, "skill://gamma/SKILL.md")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not list it"), "{e}");
}

#[tokio::test]
async fn a_watched_directory_reloads_and_tells_clients() {
    let dir = tree();
    let c = Client::connect(
        Server::empty("watched")
            .skills_dir(dir.path())
            .watch_skills(Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let before = c.get_skill("skill://gamma/SKILL.md").await.unwrap();
    dir.write("gamma/SKILL.md", &skill_md("gamma", "Changed on disk."));
    dir.write("delta/SKILL.md", &skill_md("delta", "New skill."));
    let note = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let n = c.next_notification().await.expect("connected");
            if n.method == "notifications/resources/list_changed" {
                return n;
            }
        }
    })
    .await
    .expect("a list_changed notification after the change");
    assert_eq!(note.method, "notifications/resources/list_changed");
    let after = c.get_skill("skill://gamma/SKILL.md").await.unwrap();
    assert_ne!(before, after);
    assert_eq!(after.frontmatter["description"], "Changed on disk.");
    c.get_skill("skill://delta/SKILL.md").await.unwrap();

    // A change that breaks the tree keeps the last good one.
    dir.write("gamma/SKILL.md", "no front matter");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kept = c.get_skill("skill://gamma/SKILL.md").await.unwrap();
    assert_eq!(kept, after);
    c.load_skill(&kept).await.unwrap();
}
