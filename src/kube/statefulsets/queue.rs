//! The controller's work queue, with client-go `workqueue` semantics: a key is queued at most
//! once, a key being processed is never handed to a second worker (it is re-queued when the
//! first one calls [`Queue::done`]), delayed adds (`AddAfter`), and per-key exponential
//! backoff for failed syncs (`AddRateLimited`, client-go's `ItemExponentialFailureRateLimiter`
//! 5 ms → 1000 s, reset by [`Queue::forget`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// A StatefulSet, by namespace and name.
pub type SetKey = (String, String);

/// First retry delay of a failing key (client-go's default controller rate limiter).
const BASE_DELAY: Duration = Duration::from_millis(5);
/// Longest retry delay of a failing key.
const MAX_DELAY: Duration = Duration::from_secs(1000);

#[derive(Default)]
struct State {
    /// Keys waiting for a worker, in arrival order.
    order: VecDeque<SetKey>,
    /// Keys that need a sync (queued, or added again while processing).
    dirty: HashSet<SetKey>,
    /// Keys a worker holds right now.
    processing: HashSet<SetKey>,
    /// Consecutive failures per key (the backoff exponent).
    failures: HashMap<SetKey, u32>,
    /// Set by [`Queue::shut_down`]: `get` returns `None` from then on.
    shut_down: bool,
}

/// Shared handle; cloning is cheap.
#[derive(Clone, Default)]
pub struct Queue {
    /// The queue's state; held only for O(1) bookkeeping, never across an await.
    state: Arc<Mutex<State>>,
    /// Wakes one waiting worker per newly queued key.
    ready: Arc<Notify>,
}

impl Queue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `key` unless it is already waiting; a key being processed is queued again when
    /// its worker calls [`Queue::done`].
    pub fn add(&self, key: SetKey) {
        let mut s = self.state();
        if s.shut_down || !s.dirty.insert(key.clone()) {
            return;
        }
        if !s.processing.contains(&key) {
            s.order.push_back(key);
            drop(s);
            self.ready.notify_one();
        }
    }

    /// Queues `key` after `delay`.
    pub fn add_after(&self, key: SetKey, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(key);
        });
    }

    /// Queues `key` after its backoff delay, and lengthens that delay for next time.
    pub fn add_rate_limited(&self, key: SetKey) {
        let delay = {
            let mut s = self.state();
            let n = s.failures.entry(key.clone()).or_insert(0);
            let d = backoff(*n);
            *n = n.saturating_add(1);
            d
        };
        self.add_after(key, delay);
    }

    /// Clears `key`'s backoff after a successful sync.
    pub fn forget(&self, key: &SetKey) {
        self.state().failures.remove(key);
    }

    /// Waits for a key and marks it processing; `None` once shut down.
    pub async fn get(&self) -> Option<SetKey> {
        loop {
            let notified = self.ready.notified();
            {
                let mut s = self.state();
                if s.shut_down {
                    return None;
                }
                if let Some(key) = s.order.pop_front() {
                    s.dirty.remove(&key);
                    s.processing.insert(key.clone());
                    return Some(key);
                }
            }
            notified.await;
        }
    }

    /// Releases `key`; queues it again if it was added while processing.
    pub fn done(&self, key: &SetKey) {
        let mut s = self.state();
        s.processing.remove(key);
        if s.dirty.contains(key) {
            s.order.push_back(key.clone());
            drop(s);
            self.ready.notify_one();
        }
    }

    /// Stops handing out keys; waiting workers get `None`.
    pub fn shut_down(&self) {
        self.state().shut_down = true;
        self.ready.notify_waiters();
    }

    /// Keys waiting or being processed (for tests and logs).
    pub fn len(&self) -> usize {
        let s = self.state();
        s.order.len() + s.processing.len()
    }

    /// Whether nothing is waiting or being processed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `ItemExponentialFailureRateLimiter`: 5 ms · 2^failures, capped at 1000 s.
fn backoff(failures: u32) -> Duration {
    BASE_DELAY.saturating_mul(2u32.saturating_pow(failures.min(31))).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> SetKey {
        ("default".into(), n.into())
    }

    #[tokio::test]
    async fn a_key_is_queued_once_and_never_held_by_two_workers() {
        let q = Queue::default();
        q.add(key("web"));
        q.add(key("web"));
        q.add(key("db"));
        assert_eq!(q.get().await, Some(key("web")));
        // Added again while processing: not handed out until done.
        q.add(key("web"));
        assert_eq!(q.get().await, Some(key("db")));
        assert_eq!(q.len(), 2);
        q.done(&key("db"));
        q.done(&key("web"));
        assert_eq!(q.get().await, Some(key("web")));
        q.done(&key("web"));
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn shut_down_wakes_waiting_workers() {
        let q = Queue::default();
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(waiter.await.ok().flatten(), None);
        q.add(key("web"));
        assert!(q.is_empty(), "no adds after shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_until_forgotten() {
        assert_eq!(backoff(0), Duration::from_millis(5));
        assert_eq!(backoff(3), Duration::from_millis(40));
        assert_eq!(backoff(40), MAX_DELAY);
        let q = Queue::default();
        q.add_rate_limited(key("web"));
        q.add_rate_limited(key("web"));
        tokio::time::sleep(Duration::from_millis(4)).await;
        assert!(q.is_empty(), "nothing before the first delay");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(q.get().await, Some(key("web")));
        q.done(&key("web"));
        q.forget(&key("web"));
        assert_eq!(q.state().failures.get(&key("web")), None);
    }
}
