//! `ordinal serve -f FILE|DIR` in embedded mode: apply each manifest file at startup (like
//! `kubectl apply`, all-or-nothing per file), mark the DNS cache synced, then watch the files:
//! a changed file is re-applied and the objects that came from it (annotation
//! `ordinal.dev/source`) but are gone from it are deleted; a deleted file deletes its objects;
//! a broken edit is logged with the loader's messages and the last good state keeps serving.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::store::{Key, Kind};
use super::{Cluster, Handle, Stopped};
use crate::manifest::{self, ManifestError};

impl Cluster {
    /// Applies one file's text and prunes what the file no longer holds.
    /// With `skip_unchanged` (startup), a file whose objects were all applied from this very
    /// text is left alone (returns no results).
    pub fn apply_file(
        &mut self,
        source: &str,
        text: &str,
        skip_unchanged: bool,
    ) -> Result<Vec<super::apply::ApplyResult>, super::ApiError> {
        let hash = super::apply::text_hash(text);
        if skip_unchanged {
            let src = format!("/metadata/annotations/{}", super::apply::SOURCE_ANNOTATION.replace('/', "~1"));
            let hp = format!("/metadata/annotations/{}", super::apply::SOURCE_HASH_ANNOTATION.replace('/', "~1"));
            let mut from_file = self
                .store
                .all()
                .filter(|(_, v)| v.pointer(&src).and_then(serde_json::Value::as_str) == Some(source))
                .peekable();
            if from_file.peek().is_some()
                && from_file.all(|(_, v)| v.pointer(&hp).and_then(serde_json::Value::as_str) == Some(hash.as_str()))
            {
                tracing::info!(file = source, "unchanged since it was last applied; not re-applied");
                return Ok(Vec::new());
            }
        }
        let results = self.apply_text_annotated(source, text, Some(&hash))?;
        let keep: BTreeSet<Key> = results
            .iter()
            .filter_map(|r| Some(Key::new(Kind::from_name(&r.kind)?, r.namespace.as_deref().unwrap_or(""), &r.name)))
            .collect();
        for k in self.prune_source(source, &keep) {
            tracing::info!(file = source, object = %format!("{}/{}", k.kind.plural(), k.name), "deleted: no longer in its manifest file");
        }
        Ok(results)
    }
}

async fn apply_path(handle: &Handle, file: &Path, startup: bool) -> Result<(), Stopped> {
    let source = file.display().to_string();
    if !file.exists() {
        let src = source.clone();
        let gone = handle.call(move |c| c.prune_source(&src, &BTreeSet::new())).await?;
        tracing::info!(file = %source, deleted = gone.len(), "manifest file removed: its objects were deleted");
        return Ok(());
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(file = %source, error = %e, "cannot read manifest file (the last good state keeps serving)");
            return Ok(());
        }
    };
    let src = source.clone();
    match handle.call(move |c| c.apply_file(&src, &text, startup)).await? {
        Ok(results) => {
            for r in &results {
                tracing::info!(file = %source, "{}/{} {}", r.kind.to_ascii_lowercase(), r.name, r.action);
            }
        }
        Err(e) => {
            for line in e.message.lines() {
                tracing::error!("{line}");
            }
            tracing::error!(file = %source, "manifest file rejected; nothing from it was applied (the last good state keeps serving)");
        }
    }
    Ok(())
}

/// Runs until `shutdown`: initial apply, mark synced, then follow file changes.
pub async fn run(
    handle: Handle,
    roots: Vec<PathBuf>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ManifestError> {
    let files = if roots.is_empty() { Vec::new() } else { manifest::discover(&roots)? };
    for file in &files {
        if apply_path(&handle, file, true).await.is_err() {
            return Ok(());
        }
    }
    if handle.call(|c| c.mark_synced()).await.is_err() {
        return Ok(());
    }
    tracing::info!(files = files.len(), "embedded cluster ready; cache synced");
    tokio::pin!(shutdown);
    if roots.is_empty() {
        shutdown.await;
        return Ok(());
    }
    let (_watcher, mut changes) = manifest::watch(roots)?;
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            changed = changes.recv() => {
                let Some(file) = changed else { shutdown.await; return Ok(()) };
                if apply_path(&handle, &file, false).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}
