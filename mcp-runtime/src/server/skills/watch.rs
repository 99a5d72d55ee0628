//! The opt-in watch of skills directories ([`Server::watch_skills`](crate::Server::watch_skills)).
//!
//! A poll, not file-system events: every interval the watch sums up each directory (paths,
//! sizes, modification times, without reading the files); when that changes it loads the
//! sources again on a blocking thread and, if the skills differ, swaps them in and tells
//! every client with `notifications/resources/list_changed`. Polling works the same on
//! every platform and in containers, and costs one directory walk per interval.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::SkillSource;
use crate::server::ServerCore;
use crate::server::registration::handle::{RESOURCES, broadcast};

/// Starts the watch of `core`'s skills directories; it ends with the server. Needs a tokio
/// runtime; without one (a server built outside any) there is no watch, and a warning says so.
pub(crate) fn spawn(core: &Arc<ServerCore>, interval: Duration) {
    let Some(skills) = core.skills.as_ref() else {
        return;
    };
    let dirs: Vec<_> = skills
        .config
        .sources
        .iter()
        .filter_map(|s| match s {
            SkillSource::Dir(d) => Some(d.clone()),
            SkillSource::Embedded(_) => None,
        })
        .collect();
    if dirs.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("watch_skills: no tokio runtime, so the skills directories are not watched");
        return;
    };
    let weak: Weak<ServerCore> = Arc::downgrade(core);
    runtime.spawn(async move {
        let summary = move || dirs.iter().map(|d| super::load::fingerprint(d)).collect::<Vec<_>>();
        let summary = Arc::new(summary);
        // No summary yet: the first look loads the tree again, which catches a change made
        // between the server's load and this task's start (without a notification when
        // nothing changed).
        let mut last = None;
        loop {
            tokio::time::sleep(interval).await;
            if weak.strong_count() == 0 {
                return;
            }
            let s = Arc::clone(&summary);
            let Ok(now) = tokio::task::spawn_blocking(move || s()).await else {
                return;
            };
            if last.as_ref() == Some(&now) {
                continue;
            }
            last = Some(now);
            let Some(core) = weak.upgrade() else {
                return;
            };
            let reloaded = tokio::task::spawn_blocking({
                let core = Arc::clone(&core);
                move || core.skills.as_ref().map(|s| s.reload())
            })
            .await;
            match reloaded {
                Ok(Some(Ok(true))) => {
                    tracing::info!("skills changed on disk; reloaded");
                    broadcast(&core, RESOURCES);
                }
                Ok(Some(Ok(false))) | Ok(None) => {}
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "skills changed on disk but do not load; still serving the previous ones");
                }
                Err(_) => return,
            }
        }
    });
}
