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
//! Manifests mounted from a ConfigMap change by Kubernetes swapping the `..data` symlink the
//! visible files point through; that swap counts as a change of every manifest file there.
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

/// The name Kubernetes' atomic writer swaps (a symlink to a fresh timestamped directory) when a
/// ConfigMap or Secret volume changes; the visible files are symlinks through it.
const KUBE_ATOMIC_LINK: &str = "..data";

impl Target {
    /// The manifest paths an event on `event_path` concerns, pushed to `out`.
    fn matches(&self, event_path: &Path, out: &mut Vec<PathBuf>) {
        let (Some(name), Some(parent)) = (event_path.file_name(), event_path.parent()) else {
            return;
        };
        if parent != self.dir && std::fs::canonicalize(parent).ok().as_deref() != Some(self.dir.as_path()) {
            return;
        }
        if name == KUBE_ATOMIC_LINK {
            return self.everything(out);
        }
        match &self.file {
            Some(file) if file == name => out.push(self.given.clone()),
            Some(_) => {}
            None if is_manifest_name(event_path) => out.push(self.given.join(name)),
            None => {}
        }
    }

    /// Every manifest path this target covers.
    fn everything(&self, out: &mut Vec<PathBuf>) {
        match &self.file {
            Some(_) => out.push(self.given.clone()),
            None => out.extend(super::discover(std::slice::from_ref(&self.given)).unwrap_or_default()),
        }
    }
}

/// Watch files and directories (as given to [`super::discover`]) and receive the path of each
/// manifest file that changed, was replaced, created or deleted, at most once per
/// [`DEBOUNCE`](super::WATCH_DEBOUNCE) burst (75 ms). Must be called inside a tokio runtime.
pub fn watch(paths: Vec<PathBuf>) -> Result<(ManifestWatcher, mpsc::Receiver<PathBuf>), ManifestError> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| ManifestError::new(Path::new(""), None, "manifest watching needs a tokio runtime"))?;
    let mut targets = Vec::new();
    for path in &paths {
        let fail = |e: &dyn std::fmt::Display| ManifestError::new(path, None, format!("cannot watch: {e}"));
        let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
        let target = if meta.is_dir() {
            Target { dir: std::fs::canonicalize(path).map_err(|e| fail(&e))?, file: None, given: path.clone() }
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
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
        Ok(event) => {
            let mut changed = Vec::new();
            if event.need_rescan() {
                // Events were lost (inotify queue overflow): everything may have changed.
                for t in &handler_targets {
                    t.everything(&mut changed);
                }
            } else if matches!(event.kind, EventKind::Access(_) | EventKind::Other) && !is_close_write(&event.kind) {
                return;
            }
            for p in &event.paths {
                for t in &handler_targets {
                    t.matches(p, &mut changed);
                }
            }
            for path in changed {
                let _ = raw_tx.send(path);
            }
        }
        Err(e) => tracing::warn!("manifest watch error: {e}"),
    })
    .map_err(|e| ManifestError::new(Path::new(""), None, format!("cannot start file watcher: {e}")))?;
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
    let task = runtime.spawn(debounce(raw_rx, tx).instrument(tracing::info_span!("manifest_watch")));
    Ok((ManifestWatcher { _watcher: watcher, task }, rx))
}

fn is_close_write(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bursts_collapse_into_one_notification_per_file() {
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(debounce(raw_rx, tx));
        let start = Instant::now();
        for p in ["b.yaml", "a.yaml", "b.yaml", "b.yaml", "a.yaml"] {
            raw_tx.send(PathBuf::from(p)).unwrap();
        }
        assert_eq!(rx.recv().await, Some(PathBuf::from("a.yaml")));
        assert_eq!(rx.recv().await, Some(PathBuf::from("b.yaml")));
        assert!(start.elapsed() >= DEBOUNCE);
        assert!(tokio::time::timeout(Duration::from_millis(200), rx.recv()).await.is_err());
        drop(raw_tx);
        task.await.unwrap();
        assert_eq!(rx.recv().await, None);
    }
}
