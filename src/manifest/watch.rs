//! Watching manifest files: which file changed, debounced.
//!
//! Editors rarely write a file in place: many write a temporary file and rename it over the
//! original, which replaces the inode a per-file watch was on. So every watch is on a
//! *directory* (the directory given, or the parent of a file given) and events are matched by
//! name: an in-place write, a rename onto the name, a new file and a deletion all count.
//! Directory watches report the `*.yaml|*.yml|*.json` files that appear, change or disappear
//! in them (same rule as [`super::discover`]). Bursts (write + chmod + rename, or an editor's
//! several writes) collapse into one notification per file after [`DEBOUNCE`] of quiet.
//!
//! A notification only names the file; the receiver reloads it (and a file that no longer
//! exists has been deleted).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::ManifestError;
use super::load::is_manifest_name;

/// Quiet period after the last event on a file before it is reported.
pub const DEBOUNCE: Duration = Duration::from_millis(75);

/// Keeps the watch alive; dropping it stops watching (the receiver then ends).
pub struct ManifestWatcher {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ManifestWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for ManifestWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestWatcher").finish_non_exhaustive()
    }
}

/// What one given path watches for.
#[derive(Debug, Clone)]
struct Target {
    /// Canonical directory that is watched.
    dir: PathBuf,
    /// `Some(name)` for a file given by the user; `None` for a directory (any manifest file).
    file: Option<std::ffi::OsString>,
    /// The path as the user gave it (reported for files; joined with the name for directories).
    given: PathBuf,
}

impl Target {
    fn matches(&self, event_path: &Path) -> Option<PathBuf> {
        let name = event_path.file_name()?;
        let parent = event_path.parent()?;
        if parent != self.dir && std::fs::canonicalize(parent).ok()?.as_path() != self.dir {
            return None;
        }
        match &self.file {
            Some(file) => (file == name).then(|| self.given.clone()),
            None => is_manifest_name(event_path).then(|| self.given.join(name)),
        }
    }
}

/// Watch files and directories (as given to [`super::discover`]) and receive the path of each
/// manifest file that changed, was replaced, created or deleted, at most once per
/// [`DEBOUNCE`] burst. Must be called inside a tokio runtime.
pub fn watch(
    paths: Vec<PathBuf>,
) -> Result<(ManifestWatcher, mpsc::Receiver<PathBuf>), ManifestError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        ManifestError::new(
            Path::new(""),
            None,
            "manifest watching needs a tokio runtime",
        )
    })?;
    let mut targets = Vec::new();
    for path in &paths {
        let fail = |e: &dyn std::fmt::Display| {
            ManifestError::new(path, None, format!("cannot watch: {e}"))
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
        let target = if meta.is_dir() {
            Target {
                dir: std::fs::canonicalize(path).map_err(|e| fail(&e))?,
                file: None,
                given: path.clone(),
            }
        } else {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Target {
                dir: std::fs::canonicalize(parent).map_err(|e| fail(&e))?,
                file: path.file_name().map(ToOwned::to_owned),
                given: path.clone(),
            }
        };
        targets.push(target);
    }

    let (raw_tx, raw_rx) = mpsc::unbounded_channel::<PathBuf>();
    let handler_targets = targets.clone();
    let mut watcher =
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
            Ok(event) => {
                if matches!(event.kind, EventKind::Access(_) | EventKind::Other)
                    && !is_close_write(&event.kind)
                {
                    return;
                }
                for p in &event.paths {
                    for t in &handler_targets {
                        if let Some(report) = t.matches(p) {
                            let _ = raw_tx.send(report);
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("manifest watch error: {e}"),
        })
        .map_err(|e| {
            ManifestError::new(
                Path::new(""),
                None,
                format!("cannot start file watcher: {e}"),
            )
        })?;
    let mut watched = Vec::new();
    for t in &targets {
        if watched.contains(&t.dir) {
            continue;
        }
        watcher
            .watch(&t.dir, RecursiveMode::NonRecursive)
            .map_err(|e| ManifestError::new(&t.given, None, format!("cannot watch: {e}")))?;
        watched.push(t.dir.clone());
    }

    let (tx, rx) = mpsc::channel(256);
    let task =
        runtime.spawn(debounce(raw_rx, tx).instrument(tracing::info_span!("manifest_watch")));
    Ok((
        ManifestWatcher {
            _watcher: watcher,
            task,
        },
        rx,
    ))
}

fn is_close_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(notify::event::AccessKind::Close(
            notify::event::AccessMode::Write
        ))
    )
}

async fn debounce(mut raw: mpsc::UnboundedReceiver<PathBuf>, out: mpsc::Sender<PathBuf>) {
    let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
    loop {
        let next = pending.values().min().copied();
        tokio::select! {
            msg = raw.recv() => match msg {
                Some(path) => {
                    pending.insert(path, Instant::now() + DEBOUNCE);
                }
                None => return,
            },
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                let mut due: Vec<PathBuf> =
                    pending.iter().filter(|(_, t)| **t <= now).map(|(p, _)| p.clone()).collect();
                due.sort();
                for path in due {
                    pending.remove(&path);
                    tracing::debug!(path = %path.display(), "manifest changed");
                    if out.send(path).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
