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

    /// If `district` is still at `generation` as of a poll that started within `bound`, how much
    /// of the bound is left since that poll.
    fn unchanged_for(
        &self,
        district: DistrictId,
        generation: u64,
        bound: Duration,
    ) -> Option<Duration> {
        let state = self.read();
        let since_poll = state.last_poll_started?.elapsed();
        (state.seen.is_some()
            && since_poll < bound
            && *state.generations.get(&district).unwrap_or(&0) == generation)
            .then(|| bound - since_poll)
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
    /// The answer and how much longer it stays within the bound, if it is usable now.
    fn fresh(&self, staleness: Duration, tracker: &ChangeTracker) -> Option<Answer> {
        let guard = self.value.read().unwrap_or_else(|p| p.into_inner());
        let cached = guard.as_ref()?;
        let age = cached.computed.elapsed();
        if age < staleness {
            return Some(Answer {
                bytes: cached.bytes.clone(),
                fresh_for: staleness - age,
            });
        }
        let (district, generation) = cached.depends_on?;
        tracker
            .unchanged_for(district, generation, staleness)
            .map(|fresh_for| Answer {
                bytes: cached.bytes.clone(),
                fresh_for,
            })
    }

    fn size(&self) -> usize {
        self.value
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |c| c.bytes.len())
    }

    fn computed(&self) -> Option<Instant> {
        self.value
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|c| c.computed)
    }
}

/// A cached answer and how long it may still be reused (for `Cache-Control: max-age`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The serialised answer.
    pub bytes: Bytes,
    /// Remaining time within the staleness bound.
    pub fresh_for: Duration,
}

/// A cache of serialised answers keyed by `K`, bounded in keys and in bytes.
pub struct ResponseCache<K> {
    staleness: Duration,
    max_entries: usize,
    max_bytes: usize,
    bytes: std::sync::atomic::AtomicUsize,
    tracker: Arc<ChangeTracker>,
    slots: RwLock<HashMap<K, Arc<Slot>>>,
}

impl<K: Hash + Eq + Clone> ResponseCache<K> {
    /// A cache whose answers are at most `staleness` old, holding about `max_entries` keys,
    /// using `tracker` for answers that depend on one district.
    pub fn new(staleness: Duration, max_entries: usize, tracker: Arc<ChangeTracker>) -> Self {
        Self::with_byte_budget(staleness, max_entries, 256 << 20, tracker)
    }

    /// As [`ResponseCache::new`], holding at most about `max_bytes` of answers.
    pub fn with_byte_budget(
        staleness: Duration,
        max_entries: usize,
        max_bytes: usize,
        tracker: Arc<ChangeTracker>,
    ) -> Self {
        Self {
            staleness,
            max_entries,
            max_bytes,
            bytes: std::sync::atomic::AtomicUsize::new(0),
            tracker,
            slots: RwLock::new(HashMap::new()),
        }
    }

    /// Drops the oldest answers until the cache is within its key and byte budgets. Keys are
    /// client-chosen, so neither bound may depend on clients being reasonable.
    fn evict(&self, slots: &mut HashMap<K, Arc<Slot>>) {
        use std::sync::atomic::Ordering;
        let (staleness, tracker) = (self.staleness, &self.tracker);
        slots.retain(|_, s| {
            let keep = s.fresh(staleness, tracker).is_some();
            if !keep {
                self.bytes.fetch_sub(
                    s.size().min(self.bytes.load(Ordering::Relaxed)),
                    Ordering::Relaxed,
                );
            }
            keep
        });
        let over = |slots: &HashMap<K, Arc<Slot>>| {
            slots.len() >= self.max_entries || self.bytes.load(Ordering::Relaxed) > self.max_bytes
        };
        if !over(slots) {
            return;
        }
        let mut by_age: Vec<(Option<Instant>, K)> = slots
            .iter()
            .map(|(k, s)| (s.computed(), k.clone()))
            .collect();
        by_age.sort_by_key(|(at, _)| *at);
        for (_, key) in by_age {
            if !over(slots) && slots.len() < self.max_entries * 9 / 10 {
                break;
            }
            if let Some(s) = slots.remove(&key) {
                self.bytes.fetch_sub(
                    s.size().min(self.bytes.load(Ordering::Relaxed)),
                    Ordering::Relaxed,
                );
            }
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
        if slots.len() >= self.max_entries
            || self.bytes.load(std::sync::atomic::Ordering::Relaxed) > self.max_bytes
        {
            self.evict(&mut slots);
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
    ) -> Result<Answer, E>
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
        let previous = slot.size();
        *slot.value.write().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            computed,
            bytes: bytes.clone(),
            depends_on,
        });
        use std::sync::atomic::Ordering;
        self.bytes.fetch_add(bytes.len(), Ordering::Relaxed);
        self.bytes.fetch_sub(
            previous.min(self.bytes.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        Ok(Answer {
            bytes,
            fresh_for: self.staleness,
        })
    }

    /// As [`ResponseCache::get_or_compute`], the bytes only.
    #[cfg(test)]
    async fn get_bytes<E, F, Fut>(
        &self,
        key: K,
        depends_on: Option<DistrictId>,
        compute: F,
    ) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        self.get_or_compute(key, depends_on, compute)
            .await
            .map(|a| a.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn serves_fresh_answers_and_recomputes_stale_ones() {
        let cache = ResponseCache::new(
            Duration::from_millis(300),
            10,
            Arc::new(ChangeTracker::new()),
        );
        let calls = AtomicUsize::new(0);
        let compute = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Bytes::from(n.to_string()))
        };
        assert_eq!(
            cache.get_bytes(1, None, compute).await,
            Ok(Bytes::from("0"))
        );
        assert_eq!(
            cache.get_bytes(1, None, compute).await,
            Ok(Bytes::from("0"))
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(
            cache.get_bytes(1, None, compute).await,
            Ok(Bytes::from("1"))
        );
    }

    #[tokio::test]
    async fn district_answers_live_until_their_district_changes() {
        let tracker = Arc::new(ChangeTracker::new());
        let staleness = Duration::from_millis(400);
        let cache = ResponseCache::new(staleness, 10, tracker.clone());
        let (d, other) = (DistrictId(395), DistrictId(392));
        let calls = AtomicUsize::new(0);
        let compute = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Bytes::from(n.to_string()))
        };
        tracker.apply(Instant::now(), &[(d, 1), (other, 1)]);
        assert_eq!(
            cache.get_bytes(1, Some(d), compute).await,
            Ok(Bytes::from("0"))
        );
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            tracker.apply(Instant::now(), &[(d, 1), (other, 7)]);
            assert_eq!(
                cache.get_bytes(1, Some(d), compute).await,
                Ok(Bytes::from("0")),
                "unchanged district"
            );
        }
        tracker.apply(Instant::now(), &[(d, 2), (other, 7)]);
        assert_eq!(
            cache.get_bytes(1, Some(d), compute).await,
            Ok(Bytes::from("1")),
            "its district changed"
        );
        // If polling stops, the time bound rules again.
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(
            cache.get_bytes(1, Some(d), compute).await,
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
            .get_bytes(1, Some(d), || async move {
                // The poll that notices a change lands while the old data is being read.
                t.apply(Instant::now(), &[(d, 2)]);
                Ok::<_, ()>(Bytes::from_static(b"old"))
            })
            .await;
        assert_eq!(first, Ok(Bytes::from_static(b"old")));
        tokio::time::sleep(Duration::from_millis(70)).await;
        tracker.apply(Instant::now(), &[(d, 2)]);
        let second = cache
            .get_bytes(1, Some(d), || async {
                Ok::<_, ()>(Bytes::from_static(b"new"))
            })
            .await;
        assert_eq!(
            second,
            Ok(Bytes::from_static(b"new")),
            "recomputed after the time bound"
        );
    }

    #[tokio::test]
    async fn bytes_stay_within_budget_and_the_oldest_go_first() {
        let cache = ResponseCache::with_byte_budget(
            Duration::from_secs(60),
            1000,
            1000,
            Arc::new(ChangeTracker::new()),
        );
        for k in 0..30 {
            cache
                .get_bytes(k, None, || async {
                    Ok::<_, ()>(Bytes::from(vec![b'x'; 100]))
                })
                .await
                .expect("computes");
        }
        let held = cache.bytes.load(Ordering::SeqCst);
        assert!(held <= 1100, "{held} bytes held");
        let slots = cache.slots.read().expect("lock");
        assert!(
            slots.contains_key(&29) && !slots.contains_key(&0),
            "newest kept, oldest evicted"
        );
    }

    #[tokio::test]
    async fn max_age_reports_the_freshness_left() {
        let cache = ResponseCache::new(
            Duration::from_millis(500),
            10,
            Arc::new(ChangeTracker::new()),
        );
        let first = cache
            .get_or_compute(1, None, || async { Ok::<_, ()>(Bytes::new()) })
            .await
            .expect("computes");
        assert_eq!(first.fresh_for, Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let later = cache
            .get_or_compute(1, None, || async { Ok::<_, ()>(Bytes::new()) })
            .await
            .expect("hit");
        assert!(
            later.fresh_for <= Duration::from_millis(300),
            "{:?}",
            later.fresh_for
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
                    .get_bytes(7, None, || async {
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
                .get_bytes(k, None, || async { Ok::<_, ()>(Bytes::new()) })
                .await
                .expect("computes");
        }
        assert!(cache.slots.read().expect("not poisoned").len() <= 4);
    }
}
