//! The public availability cache: serialised answers that are never older than a staleness
//! bound, so that a launch-day crowd costs the database almost nothing.
//!
//! Two ways an answer stays usable:
//! - **time**: it was computed less than the staleness bound ago;
//! - **change tracking** (answers about one district): every write that changes a district's
//!   availability bumps that district's counter in the same transaction, and each process polls
//!   the counters at least twice per staleness period ([`ChangeTracker`]). An answer whose
//!   district has not changed as of a poll that started within the bound is still exact, so it
//!   is served without recomputing. This is what keeps 756 districts × a 5 s bound from costing
//!   150 queries a second while nothing changes.
//!
//! One computation runs per key at a time; the others wait for it instead of stampeding the
//! database.

use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use teeka_domain::DistrictId;

/// What this process knows of each district's change counter.
#[derive(Default)]
pub struct ChangeTracker {
    state: RwLock<TrackerState>,
}

#[derive(Default)]
struct TrackerState {
    /// In-memory generation per district: bumped when a poll sees its counter move.
    generations: HashMap<DistrictId, u64>,
    /// The counters the last poll saw; `None` until the first poll.
    seen: Option<HashMap<DistrictId, i64>>,
    /// When the last successful poll started.
    last_poll_started: Option<Instant>,
}

impl ChangeTracker {
    /// A tracker that has not polled yet (everything falls back to time).
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TrackerState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The district's generation, once the tracker has polled at least once.
    pub fn generation(&self, district: DistrictId) -> Option<u64> {
        let state = self.read();
        state
            .seen
            .is_some()
            .then(|| *state.generations.get(&district).unwrap_or(&0))
    }

    /// Whether `district` is still at `generation` as of a poll that started within `bound`.
    fn unchanged(&self, district: DistrictId, generation: u64, bound: Duration) -> bool {
        let state = self.read();
        state.seen.is_some()
            && state
                .last_poll_started
                .is_some_and(|at| at.elapsed() < bound)
            && *state.generations.get(&district).unwrap_or(&0) == generation
    }

    /// Records a poll that started at `started` and read `counters`.
    pub fn apply(&self, started: Instant, counters: &[(DistrictId, i64)]) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let TrackerState {
            generations,
            seen,
            last_poll_started,
        } = &mut *state;
        match seen {
            Some(previous) => {
                for (district, count) in counters {
                    if previous.insert(*district, *count) != Some(*count) {
                        *generations.entry(*district).or_insert(0) += 1;
                    }
                }
            }
            None => *seen = Some(counters.iter().copied().collect()),
        }
        *last_poll_started = Some(started);
    }
}

/// A computed answer.
struct Cached {
    computed: Instant,
    bytes: Bytes,
    /// The district it depends on and that district's generation when computing began.
    depends_on: Option<(DistrictId, u64)>,
}

/// One key's slot: its latest answer and the lock that lets one request refresh it.
struct Slot {
    value: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    fn fresh(&self, staleness: Duration, tracker: &ChangeTracker) -> Option<Bytes> {
        let guard = self.value.read().unwrap_or_else(|p| p.into_inner());
        let cached = guard.as_ref()?;
        let by_time = cached.computed.elapsed() < staleness;
        let by_change = || {
            cached.depends_on.is_some_and(|(district, generation)| {
                tracker.unchanged(district, generation, staleness)
            })
        };
        (by_time || by_change()).then(|| cached.bytes.clone())
    }
}

/// A cache of serialised answers keyed by `K`.
pub struct ResponseCache<K> {
    staleness: Duration,
    max_entries: usize,
    tracker: Arc<ChangeTracker>,
    slots: RwLock<HashMap<K, Arc<Slot>>>,
}

impl<K: Hash + Eq + Clone> ResponseCache<K> {
    /// A cache whose answers are at most `staleness` old, holding about `max_entries` keys,
    /// using `tracker` for answers that depend on one district.
    pub fn new(staleness: Duration, max_entries: usize, tracker: Arc<ChangeTracker>) -> Self {
        Self {
            staleness,
            max_entries,
            tracker,
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
            let (staleness, tracker) = (self.staleness, &self.tracker);
            slots.retain(|_, s| s.fresh(staleness, tracker).is_some());
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
    /// `depends_on` names the one district the answer is about, if it is about one.
    pub async fn get_or_compute<E, F, Fut>(
        &self,
        key: K,
        depends_on: Option<DistrictId>,
        compute: F,
    ) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        let slot = self.slot(&key);
        if let Some(hit) = slot.fresh(self.staleness, &self.tracker) {
            metrics::counter!("teeka_cache_hits_total").increment(1);
            return Ok(hit);
        }
        let _refreshing = slot.refresh.lock().await;
        if let Some(hit) = slot.fresh(self.staleness, &self.tracker) {
            metrics::counter!("teeka_cache_hits_total").increment(1);
            return Ok(hit);
        }
        metrics::counter!("teeka_cache_misses_total").increment(1);
        // Read the generation before computing: a change that lands mid-computation moves it,
        // so the answer is not trusted beyond its time bound.
        let depends_on = depends_on.and_then(|d| self.tracker.generation(d).map(|g| (d, g)));
        let computed = Instant::now();
        let bytes = compute().await?;
        *slot.value.write().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            computed,
            bytes: bytes.clone(),
            depends_on,
        });
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn serves_fresh_answers_and_recomputes_stale_ones() {
        let cache = ResponseCache::new(
            Duration::from_millis(50),
            10,
            Arc::new(ChangeTracker::new()),
        );
        let calls = AtomicUsize::new(0);
        let compute = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Bytes::from(n.to_string()))
        };
        assert_eq!(
            cache.get_or_compute(1, None, compute).await,
            Ok(Bytes::from("0"))
        );
        assert_eq!(
            cache.get_or_compute(1, None, compute).await,
            Ok(Bytes::from("0"))
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            cache.get_or_compute(1, None, compute).await,
            Ok(Bytes::from("1"))
        );
    }

    #[tokio::test]
    async fn district_answers_live_until_their_district_changes() {
        let tracker = Arc::new(ChangeTracker::new());
        let staleness = Duration::from_millis(60);
        let cache = ResponseCache::new(staleness, 10, tracker.clone());
        let (d, other) = (DistrictId(395), DistrictId(392));
        let calls = AtomicUsize::new(0);
        let compute = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Bytes::from(n.to_string()))
        };
        tracker.apply(Instant::now(), &[(d, 1), (other, 1)]);
        assert_eq!(
            cache.get_or_compute(1, Some(d), compute).await,
            Ok(Bytes::from("0"))
        );
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            tracker.apply(Instant::now(), &[(d, 1), (other, 7)]);
            assert_eq!(
                cache.get_or_compute(1, Some(d), compute).await,
                Ok(Bytes::from("0")),
                "unchanged district"
            );
        }
        tracker.apply(Instant::now(), &[(d, 2), (other, 7)]);
        assert_eq!(
            cache.get_or_compute(1, Some(d), compute).await,
            Ok(Bytes::from("1")),
            "its district changed"
        );
        // If polling stops, the time bound rules again.
        tokio::time::sleep(Duration::from_millis(70)).await;
        assert_eq!(
            cache.get_or_compute(1, Some(d), compute).await,
            Ok(Bytes::from("2")),
            "no recent poll"
        );
    }

    #[tokio::test]
    async fn a_change_during_computation_is_not_lost() {
        let tracker = Arc::new(ChangeTracker::new());
        let staleness = Duration::from_millis(60);
        let cache = ResponseCache::new(staleness, 10, tracker.clone());
        let d = DistrictId(395);
        tracker.apply(Instant::now(), &[(d, 1)]);
        let t = tracker.clone();
        let first = cache
            .get_or_compute(1, Some(d), || async move {
                // The poll that notices a change lands while the old data is being read.
                t.apply(Instant::now(), &[(d, 2)]);
                Ok::<_, ()>(Bytes::from_static(b"old"))
            })
            .await;
        assert_eq!(first, Ok(Bytes::from_static(b"old")));
        tokio::time::sleep(Duration::from_millis(70)).await;
        tracker.apply(Instant::now(), &[(d, 2)]);
        let second = cache
            .get_or_compute(1, Some(d), || async {
                Ok::<_, ()>(Bytes::from_static(b"new"))
            })
            .await;
        assert_eq!(
            second,
            Ok(Bytes::from_static(b"new")),
            "recomputed after the time bound"
        );
    }

    #[test]
    fn an_unprimed_tracker_vouches_for_nothing() {
        let tracker = ChangeTracker::new();
        assert_eq!(tracker.generation(DistrictId(1)), None);
        tracker.apply(Instant::now(), &[]);
        assert_eq!(tracker.generation(DistrictId(1)), Some(0));
    }

    #[tokio::test]
    async fn concurrent_misses_compute_once() {
        let cache = Arc::new(ResponseCache::new(
            Duration::from_secs(5),
            10,
            Arc::new(ChangeTracker::new()),
        ));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(7, None, || async {
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
        let cache = ResponseCache::new(Duration::from_secs(5), 4, Arc::new(ChangeTracker::new()));
        for k in 0..20 {
            cache
                .get_or_compute(k, None, || async { Ok::<_, ()>(Bytes::new()) })
                .await
                .expect("computes");
        }
        assert!(cache.slots.read().expect("not poisoned").len() <= 4);
    }
}
