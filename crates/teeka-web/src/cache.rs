//! The public availability cache: serialised answers kept for a bounded staleness, so that a
//! launch-day crowd asking about the same district costs one query per key per staleness period.
//! One computation runs per key at a time; the others wait for it instead of stampeding the
//! database.

use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// One key's slot: its latest answer and the lock that lets one request refresh it.
struct Slot {
    value: RwLock<Option<(Instant, Bytes)>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    fn fresh(&self, staleness: Duration) -> Option<Bytes> {
        let guard = self.value.read().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < staleness)
            .map(|(_, bytes)| bytes.clone())
    }
}

/// A cache of serialised answers keyed by `K`.
pub struct ResponseCache<K> {
    staleness: Duration,
    max_entries: usize,
    slots: RwLock<HashMap<K, Arc<Slot>>>,
}

impl<K: Hash + Eq + Clone> ResponseCache<K> {
    /// A cache whose answers are at most `staleness` old, holding about `max_entries` keys.
    pub fn new(staleness: Duration, max_entries: usize) -> Self {
        Self {
            staleness,
            max_entries,
            slots: RwLock::new(HashMap::new()),
        }
    }

    /// The staleness bound.
    pub fn staleness(&self) -> Duration {
        self.staleness
    }

    fn slot(&self, key: &K) -> Arc<Slot> {
        if let Some(slot) = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return slot.clone();
        }
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= self.max_entries {
            // Keys are client-chosen (any date, any district): drop what has gone stale rather
            // than grow without bound; if everything is fresh, start over.
            let staleness = self.staleness;
            slots.retain(|_, s| s.fresh(staleness).is_some());
            if slots.len() >= self.max_entries {
                slots.clear();
            }
        }
        slots
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Slot {
                    value: RwLock::new(None),
                    refresh: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// The cached answer for `key` if fresh, else the answer `compute` gives (stored on success).
    pub async fn get_or_compute<E, F, Fut>(&self, key: K, compute: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        let slot = self.slot(&key);
        if let Some(hit) = slot.fresh(self.staleness) {
            metrics::counter!("teeka_cache_hits_total").increment(1);
            return Ok(hit);
        }
        let _refreshing = slot.refresh.lock().await;
        if let Some(hit) = slot.fresh(self.staleness) {
            metrics::counter!("teeka_cache_hits_total").increment(1);
            return Ok(hit);
        }
        metrics::counter!("teeka_cache_misses_total").increment(1);
        let bytes = compute().await?;
        *slot.value.write().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), bytes.clone()));
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn serves_fresh_answers_and_recomputes_stale_ones() {
        let cache = ResponseCache::new(Duration::from_millis(50), 10);
        let calls = AtomicUsize::new(0);
        let compute = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Bytes::from(n.to_string()))
        };
        assert_eq!(cache.get_or_compute(1, compute).await, Ok(Bytes::from("0")));
        assert_eq!(cache.get_or_compute(1, compute).await, Ok(Bytes::from("0")));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get_or_compute(1, compute).await, Ok(Bytes::from("1")));
    }

    #[tokio::test]
    async fn concurrent_misses_compute_once() {
        let cache = Arc::new(ResponseCache::new(Duration::from_secs(5), 10));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(7, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(Bytes::from_static(b"x"))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("task runs"), Ok(Bytes::from_static(b"x")));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stays_bounded_when_keys_are_many() {
        let cache = ResponseCache::new(Duration::from_secs(5), 4);
        for k in 0..20 {
            cache
                .get_or_compute(k, || async { Ok::<_, ()>(Bytes::new()) })
                .await
                .expect("computes");
        }
        assert!(cache.slots.read().expect("not poisoned").len() <= 4);
    }
}
