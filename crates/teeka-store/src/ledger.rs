//! Storage for the access ledger as a Merkle log: each access event's canonical leaf (no
//! plaintext personal data: the subject is a pseudonymous id), its leaf hash written in the same
//! transaction as the access, the signed checkpoints, the reads that the access history and the
//! breach report need, and retention.
//!
//! Leaf hashes live in `ledger_leaves`, apart from the event details in `access_events`, so that
//! retention can drop details past their time while every leaf (and so every root) remains.

use crate::identity::{AccessEventRecord, StoredAccessEvent};
use crate::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// What the leaf format starts with; a change of format changes this.
const LEAF_FORMAT: &[u8] = b"teeka.access-event.v2";

/// The first format, which also bound the entry's sequence number (kept to verify old leaves).
const LEAF_FORMAT_V1: &[u8] = b"teeka.access-event.v1";

/// The purpose of a retention event: this, then the last sequence number whose details went.
pub const PRUNED_THROUGH: &str = "pruned through ";

/// The longest text field an access event may carry, in bytes: what bounds an entry's size.
pub const MAX_FIELD_BYTES: usize = 200;

/// The canonical bytes of an event: the format tag, then every field in a fixed order, numbers
/// as 8-byte big-endian, text as a 2-byte length and UTF-8, the subject as a presence byte and
/// 16 bytes. Unambiguous, so two different events never share a leaf. The sequence number is
/// not in it: the leaf's place in the tree binds it.
#[must_use]
pub fn leaf_data(e: &AccessEventRecord) -> Vec<u8> {
    canonical(LEAF_FORMAT, None, e)
}

fn canonical(format: &[u8], seq: Option<i64>, e: &AccessEventRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(format);
    if let Some(seq) = seq {
        out.extend_from_slice(&seq.to_be_bytes());
    }
    out.extend_from_slice(&e.at_ms.to_be_bytes());
    for field in [
        &e.actor_kind,
        &e.actor_id,
        &e.role,
        &e.action,
        &e.purpose,
        &e.request_id,
    ] {
        let bytes = field.as_bytes();
        // Lengths are checked on append (at most MAX_FIELD_BYTES), so this never saturates there.
        out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    match e.subject_id {
        Some(subject) => {
            out.push(1);
            out.extend_from_slice(subject.as_bytes());
        }
        None => out.push(0),
    }
    out
}

/// The Merkle leaf hash of an event, as appended now.
#[must_use]
pub fn leaf_hash(e: &AccessEventRecord) -> [u8; 32] {
    teeka_crypto::merkle::leaf_hash(&leaf_data(e))
}

/// Which format each leaf was written in: entries up to `v1_through` in the first (which held the
/// sequence number), later ones in the current. Fixed by migration 9 when it ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeafFormats {
    /// The last entry written in the first format (0: none).
    pub v1_through: i64,
}

impl LeafFormats {
    /// The leaf hash entry `seq` must have.
    #[must_use]
    pub fn leaf_hash(self, seq: i64, e: &AccessEventRecord) -> [u8; 32] {
        if seq <= self.v1_through {
            leaf_hash_v1(seq, e)
        } else {
            leaf_hash(e)
        }
    }

    /// The leaf hash of entry `seq` in the format its stored leaf was written in, when either
    /// format fits it (else in the expected one). An older server still running beside a
    /// migrated one may write v1 leaves past `v1_through`; both formats bind the whole event
    /// under distinct tags, so accepting either lets nothing through that a hash would not.
    #[must_use]
    pub fn recompute(self, seq: i64, e: &AccessEventRecord, stored: &[u8; 32]) -> [u8; 32] {
        let expected = self.leaf_hash(seq, e);
        if expected == *stored {
            return expected;
        }
        let other = if seq <= self.v1_through {
            leaf_hash(e)
        } else {
            leaf_hash_v1(seq, e)
        };
        if other == *stored { other } else { expected }
    }
}

fn leaf_hash_v1(seq: i64, e: &AccessEventRecord) -> [u8; 32] {
    teeka_crypto::merkle::leaf_hash(&canonical(LEAF_FORMAT_V1, Some(seq), e))
}

/// Refuses an event whose text would make its entry unbounded.
pub(crate) fn check_bounded(e: &AccessEventRecord) -> Result<(), StoreError> {
    for (name, field) in [
        ("actor_kind", &e.actor_kind),
        ("actor_id", &e.actor_id),
        ("role", &e.role),
        ("action", &e.action),
        ("purpose", &e.purpose),
        ("request_id", &e.request_id),
    ] {
        if field.len() > MAX_FIELD_BYTES {
            return Err(StoreError::Constraint(format!(
                "access event {name} longer than {MAX_FIELD_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

static LEDGER_SKIPPED_FOR_BASELINE: AtomicBool = AtomicBool::new(false);

/// For the ledger-cost benchmark only (`teeka bench ledger`, on its own throwaway database):
/// when on, access events are not written, so the same booking transaction can be timed with and
/// without its ledger write in one run. Nothing else calls this; no setting reaches it.
#[doc(hidden)]
pub fn skip_ledger_writes_for_baseline_benchmark(skip: bool) {
    LEDGER_SKIPPED_FOR_BASELINE.store(skip, Ordering::SeqCst);
}

pub(crate) fn ledger_skipped_for_baseline() -> bool {
    LEDGER_SKIPPED_FOR_BASELINE.load(Ordering::Relaxed)
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Order of creation.
    pub checkpoint_id: i64,
    /// Tree size it commits to.
    pub tree_size: i64,
    /// Root hash at that size.
    pub root_hash: Vec<u8>,
    /// The signed note text.
    pub note: String,
    /// When it was made (unix ms).
    pub created_at_ms: i64,
}

/// A person named in a breach report: enough to notify them, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPerson {
    /// The beneficiary's pseudonymous id.
    pub subject_id: Uuid,
    /// Their reference id.
    pub reference_id: String,
    /// The account (mobile) they are registered on.
    pub account_id: Uuid,
    /// The account's mobile, sealed.
    pub mobile_sealed: Vec<u8>,
    /// The mobile's blind index (what the sealed mobile is bound to).
    pub mobile_index: Vec<u8>,
}

/// Where a member of staff works: their centre's id and name, if they are a centre's staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPlace {
    /// The account.
    pub staff_id: Uuid,
    /// Centre id, when scoped to a centre.
    pub centre_id: Option<i64>,
    /// Centre name.
    pub centre_name: Option<String>,
}

macro_rules! ledger_store_methods {
    ($db:ty) => {
        /// Leaf hashes after `after_seq`, in order, at most `limit`.
        pub async fn ledger_leaves(&self, after_seq: i64, limit: i64) -> Result<Vec<(i64, [u8; 32])>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT seq, leaf_hash FROM ledger_leaves WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after_seq)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
            rows.iter()
                .map(|r| {
                    let hash: Vec<u8> = r.try_get(1)?;
                    let hash: [u8; 32] = hash
                        .try_into()
                        .map_err(|_| $crate::StoreError::Corrupt("a leaf hash is not 32 bytes".into()))?;
                    Ok((r.try_get(0)?, hash))
                })
                .collect()
        }

        /// Stores a checkpoint unless a larger one is already stored (sizes only grow, in order of
        /// creation). Taken under the ledger lock, so two processes cannot interleave.
        pub async fn record_checkpoint(&self, tree_size: i64, root_hash: &[u8], note: &str, now_ms: i64) -> Result<bool, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            Self::lock_for_ledger(&mut tx).await?;
            let largest: i64 = sqlx::query("SELECT COALESCE(MAX(tree_size), 0) FROM ledger_checkpoints")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let leaves: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM ledger_leaves")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if tree_size < largest || tree_size > leaves {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("INSERT INTO ledger_checkpoints (tree_size, root_hash, note, created_at) VALUES ($1, $2, $3, $4)")
                .bind(tree_size)
                .bind(root_hash)
                .bind(note)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Every stored checkpoint in order of creation.
        pub async fn ledger_checkpoints(&self) -> Result<Vec<$crate::ledger::StoredCheckpoint>, $crate::StoreError> {
            let rows = sqlx::query("SELECT checkpoint_id, tree_size, root_hash, note, created_at FROM ledger_checkpoints ORDER BY checkpoint_id")
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(Self::checkpoint_row).collect()
        }

        /// Which format each leaf was written in.
        pub async fn leaf_formats(&self) -> Result<$crate::ledger::LeafFormats, $crate::StoreError> {
            use sqlx::Row;
            let v1_through: i64 = sqlx::query("SELECT v1_through FROM ledger_leaf_formats")
                .fetch_one(self.reader())
                .await?
                .try_get(0)?;
            Ok($crate::ledger::LeafFormats { v1_through })
        }

        /// The newest checkpoint.
        pub async fn latest_checkpoint(&self) -> Result<Option<$crate::ledger::StoredCheckpoint>, $crate::StoreError> {
            let row = sqlx::query("SELECT checkpoint_id, tree_size, root_hash, note, created_at FROM ledger_checkpoints ORDER BY checkpoint_id DESC LIMIT 1")
                .fetch_optional(self.reader())
                .await?;
            row.as_ref().map(Self::checkpoint_row).transpose()
        }

        fn checkpoint_row(r: &<$db as sqlx::Database>::Row) -> Result<$crate::ledger::StoredCheckpoint, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::ledger::StoredCheckpoint {
                checkpoint_id: r.try_get(0)?,
                tree_size: r.try_get(1)?,
                root_hash: r.try_get(2)?,
                note: r.try_get(3)?,
                created_at_ms: r.try_get(4)?,
            })
        }

        /// The access events of the beneficiary `reference_id` of `account_id`, oldest first,
        /// with `read` (the reading of this history) appended first in the same transaction;
        /// `None` when the account has no such beneficiary.
        pub async fn subject_access_history(&self, account_id: uuid::Uuid, reference_id: &str, read: &$crate::identity::AccessEventRecord) -> Result<Option<(uuid::Uuid, Vec<$crate::identity::StoredAccessEvent>)>, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let subject: Option<uuid::Uuid> = sqlx::query("SELECT subject_id FROM beneficiaries WHERE reference_id = $1 AND account_id = $2")
                .bind(reference_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let Some(subject_id) = subject else {
                tx.rollback().await?;
                return Ok(None);
            };
            let mut e = read.clone();
            e.subject_id = Some(subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            let rows = sqlx::query(
                "SELECT seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id \
                 FROM access_events WHERE subject_id = $1 ORDER BY seq",
            )
            .bind(subject_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let events = rows.iter().map(Self::event_row).collect::<Result<Vec<_>, _>>()?;
            Ok(Some((subject_id, events)))
        }

        /// The events of one actor in `[from_ms, to_ms)`, oldest first.
        pub async fn actor_access_events(&self, actor_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<$crate::identity::StoredAccessEvent>, $crate::StoreError> {
            let rows = sqlx::query(
                "SELECT seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id \
                 FROM access_events WHERE actor_id = $1 AND at >= $2 AND at < $3 ORDER BY seq",
            )
            .bind(actor_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(self.reader())
            .await?;
            rows.iter().map(Self::event_row).collect()
        }

        /// One `access_events` row (columns in the order every query here selects them).
        pub(crate) fn event_row(r: &<$db as sqlx::Database>::Row) -> Result<$crate::identity::StoredAccessEvent, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::identity::StoredAccessEvent {
                seq: r.try_get(0)?,
                event: $crate::identity::AccessEventRecord {
                    at_ms: r.try_get(1)?,
                    actor_kind: r.try_get(2)?,
                    actor_id: r.try_get(3)?,
                    role: r.try_get(4)?,
                    action: r.try_get(5)?,
                    subject_id: r.try_get(6)?,
                    purpose: r.try_get(7)?,
                    request_id: r.try_get(8)?,
                },
            })
        }

        /// The people behind `subjects` with their accounts' sealed mobiles, for notification; one
        /// access event per person (`event` with the subject filled in) in the same transaction.
        pub async fn affected_people(&self, subjects: &[uuid::Uuid], event: &$crate::identity::AccessEventRecord) -> Result<Vec<$crate::ledger::AffectedPerson>, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let mut out = Vec::with_capacity(subjects.len());
            for subject in subjects {
                let row = sqlx::query(
                    "SELECT b.reference_id, b.account_id, a.mobile_sealed, a.mobile_index FROM beneficiaries b \
                     JOIN accounts a ON a.account_id = b.account_id WHERE b.subject_id = $1",
                )
                .bind(subject)
                .fetch_optional(&mut *tx)
                .await?;
                // A person deleted since has nobody left to notify here.
                let Some(row) = row else { continue };
                let mut e = event.clone();
                e.subject_id = Some(*subject);
                Self::append_access_event(&mut tx, &e).await?;
                out.push($crate::ledger::AffectedPerson {
                    subject_id: *subject,
                    reference_id: row.try_get(0)?,
                    account_id: row.try_get(1)?,
                    mobile_sealed: row.try_get(2)?,
                    mobile_index: row.try_get(3)?,
                });
            }
            tx.commit().await?;
            Ok(out)
        }

        /// Queues breach notices, each with the access event of the notification, in one
        /// transaction.
        pub async fn queue_notices(&self, messages: &[$crate::identity::OutboxMessage], events: &[$crate::identity::AccessEventRecord]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            for message in messages {
                Self::insert_outbox(&mut tx, message).await?;
            }
            for event in events {
                Self::append_access_event(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// Where each of these staff accounts works.
        pub async fn staff_places(&self, ids: &[uuid::Uuid]) -> Result<Vec<$crate::ledger::StaffPlace>, $crate::StoreError> {
            use sqlx::Row;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let row = sqlx::query(
                    "SELECT s.scope_kind, s.scope_id, c.centre_name FROM staff_accounts s \
                     LEFT JOIN centres c ON s.scope_kind = 'centre' AND c.centre_id = s.scope_id WHERE s.staff_id = $1",
                )
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
                if let Some(row) = row {
                    let kind: String = row.try_get(0)?;
                    out.push($crate::ledger::StaffPlace {
                        staff_id: *id,
                        centre_id: if kind == "centre" { row.try_get(1)? } else { None },
                        centre_name: row.try_get(2)?,
                    });
                }
            }
            Ok(out)
        }

        /// Removes the details of access events older than `before_ms` (their leaves stay), and
        /// records on the ledger, in the same transaction, the last entry removed
        /// (`event.purpose` becomes `pruned through <seq>`), so a verifier can tell retention from
        /// deletion. Returns how many were removed.
        pub async fn prune_access_events(&self, before_ms: i64, event: &$crate::identity::AccessEventRecord) -> Result<u64, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let through: Option<i64> = sqlx::query("SELECT MAX(seq) FROM access_events WHERE at < $1")
                .bind(before_ms)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let Some(through) = through else {
                tx.rollback().await?;
                return Ok(0);
            };
            sqlx::query("UPDATE ledger_prune_window SET before_ms = $1").bind(before_ms).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM access_events WHERE at < $1").bind(before_ms).execute(&mut *tx).await?;
            sqlx::query("UPDATE ledger_prune_window SET before_ms = 0").execute(&mut *tx).await?;
            let mut e = event.clone();
            e.purpose = format!("{}{through}", $crate::ledger::PRUNED_THROUGH);
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        }

        /// Writes the leaves of events recorded before the ledger had leaves (databases made
        /// before migration 8); how many.
        pub async fn backfill_ledger_leaves(&self) -> Result<u64, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            Self::lock_for_ledger(&mut tx).await?;
            let rows = sqlx::query(
                "SELECT seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id \
                 FROM access_events WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM ledger_leaves) ORDER BY seq",
            )
            .fetch_all(&mut *tx)
            .await?;
            let mut done = 0;
            for row in &rows {
                let stored = Self::event_row(row)?;
                sqlx::query("INSERT INTO ledger_leaves (seq, leaf_hash) VALUES ($1, $2)")
                    .bind(stored.seq)
                    .bind(&$crate::ledger::leaf_hash(&stored.event)[..])
                    .execute(&mut *tx)
                    .await?;
                done += 1;
            }
            // Only after writing leaves, and only ever forwards: a head behind the leaves would
            // hand out numbers twice, a head moved back would hide a deleted tail.
            if let Some(resync) = Self::RESYNC_LEDGER_HEAD.filter(|_| done > 0) {
                sqlx::query(resync).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(done)
        }
    };
}

pub(crate) use ledger_store_methods;

impl Store {
    /// Leaf hashes after `after_seq`, in order.
    pub async fn ledger_leaves(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, [u8; 32])>, StoreError> {
        dispatch!(self, s => s.ledger_leaves(after_seq, limit).await)
    }

    /// Stores a checkpoint unless a larger one exists or the tree is smaller; whether stored.
    pub async fn record_checkpoint(
        &self,
        tree_size: i64,
        root_hash: &[u8],
        note: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.record_checkpoint(tree_size, root_hash, note, now_ms).await)
    }

    /// Every stored checkpoint in order of creation.
    pub async fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        dispatch!(self, s => s.ledger_checkpoints().await)
    }

    /// The newest checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        dispatch!(self, s => s.latest_checkpoint().await)
    }

    /// Which format each leaf was written in (the verifier recomputes each in its own).
    pub async fn leaf_formats(&self) -> Result<LeafFormats, StoreError> {
        dispatch!(self, s => s.leaf_formats().await)
    }

    /// One person's access history (a beneficiary of `account_id`), its own reading appended
    /// first in the same transaction; with the person's subject id.
    pub async fn subject_access_history(
        &self,
        account_id: Uuid,
        reference_id: &str,
        read: &AccessEventRecord,
    ) -> Result<Option<(Uuid, Vec<StoredAccessEvent>)>, StoreError> {
        dispatch!(self, s => s.subject_access_history(account_id, reference_id, read).await)
    }

    /// The events of one actor in `[from_ms, to_ms)`.
    pub async fn actor_access_events(
        &self,
        actor_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredAccessEvent>, StoreError> {
        dispatch!(self, s => s.actor_access_events(actor_id, from_ms, to_ms).await)
    }

    /// The people behind `subjects`, for notification, each read on the ledger.
    pub async fn affected_people(
        &self,
        subjects: &[Uuid],
        event: &AccessEventRecord,
    ) -> Result<Vec<AffectedPerson>, StoreError> {
        dispatch!(self, s => s.affected_people(subjects, event).await)
    }

    /// Queues notices with their access events.
    pub async fn queue_notices(
        &self,
        messages: &[crate::identity::OutboxMessage],
        events: &[AccessEventRecord],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.queue_notices(messages, events).await)
    }

    /// Where these staff accounts work.
    pub async fn staff_places(&self, ids: &[Uuid]) -> Result<Vec<StaffPlace>, StoreError> {
        dispatch!(self, s => s.staff_places(ids).await)
    }

    /// Removes event details older than `before_ms`; leaves stay; the prune is recorded.
    pub async fn prune_access_events(
        &self,
        before_ms: i64,
        event: &AccessEventRecord,
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.prune_access_events(before_ms, event).await)
    }

    /// Writes leaves for events that predate them.
    pub async fn backfill_ledger_leaves(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.backfill_ledger_leaves().await)
    }
}

#[cfg(test)]
// A panic is how a test reports failure.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event() -> AccessEventRecord {
        AccessEventRecord {
            at_ms: 1_700_000_000_000,
            actor_kind: "citizen".into(),
            actor_id: "acct".into(),
            role: "citizen".into(),
            action: "beneficiary.read".into(),
            subject_id: Some(Uuid::from_u128(7)),
            purpose: "test".into(),
            request_id: "r1".into(),
        }
    }

    /// Written out by hand, so a change to either format shows here.
    fn by_hand(tag: &[u8], seq: Option<i64>) -> Vec<u8> {
        let mut out = tag.to_vec();
        if let Some(seq) = seq {
            out.extend_from_slice(&seq.to_be_bytes());
        }
        out.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        for text in [
            "citizen",
            "acct",
            "citizen",
            "beneficiary.read",
            "test",
            "r1",
        ] {
            out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        out.push(1);
        out.extend_from_slice(Uuid::from_u128(7).as_bytes());
        out
    }

    #[test]
    fn leaves_before_the_format_change_keep_their_sequence_number() {
        let e = event();
        assert_eq!(leaf_data(&e), by_hand(b"teeka.access-event.v2", None));
        let formats = LeafFormats { v1_through: 5 };
        let v1 = teeka_crypto::merkle::leaf_hash(&by_hand(b"teeka.access-event.v1", Some(5)));
        assert_eq!(formats.leaf_hash(5, &e), v1);
        assert_eq!(formats.leaf_hash(6, &e), leaf_hash(&e));
        assert_ne!(v1, leaf_hash(&e));
        assert_eq!(LeafFormats::default().leaf_hash(1, &e), leaf_hash(&e));
        // A v1 leaf past the boundary (an old server beside a migrated one) still fits...
        assert_eq!(LeafFormats::default().recompute(5, &e, &v1), v1);
        // ...but an edited event fits neither format.
        let mut edited = e.clone();
        edited.purpose = "other".into();
        assert_ne!(LeafFormats::default().recompute(5, &edited, &v1), v1);
    }
}
