//! The access ledger's use cases: signed checkpoints of the Merkle log of access events,
//! inclusion and consistency proofs, a citizen's access history with proofs, the breach report
//! and its notifications, retention, and the verifier that recomputes everything from storage.
//!
//! The tree is rebuilt in memory from the stored leaf hashes (32 bytes each) and kept up to date
//! incrementally; proofs are then O(log² n) hashes. Checkpoints are signed with the key ring's
//! Ed25519 ledger key, named by the log's origin.

use crate::access::{CitizenGrant, Grant, breach_notification};
use crate::clock::now_ms;
use crate::staff::StaffGrant;
use crate::vault::Vault;
use crate::{AppError, Refusal};
use std::collections::{BTreeMap, BTreeSet};
use teeka_crypto::Ed25519Key;
use teeka_crypto::merkle::{Hash, MerkleTree};
use teeka_crypto::note::{self, Checkpoint};
use teeka_domain::{Mobile, StaffRole};
use teeka_store::Store;
use teeka_store::identity::{AccessEventRecord, OutboxMessage, SealedColumn, StoredAccessEvent};
use teeka_store::ledger::StoredCheckpoint;
use uuid::Uuid;

/// Ours: no such entry or tree size, or a proof between sizes the log does not have.
pub const NO_SUCH_ENTRY: &str = "TKALDG0001";
/// Ours: the breach report's window or actor is unusable.
pub const BAD_REPORT: &str = "TKALDG0002";
/// Ours: the role may not run breach reports, or the actor is outside the caller's area.
pub const REPORT_FORBIDDEN: &str = "TKALDG0003";

/// The shortest retention the ledger accepts: a year, as the law asks of access logs.
pub const MIN_RETENTION_DAYS: u32 = 365;
/// The longest breach-report window: a quarter.
const MAX_REPORT_WINDOW_MS: i64 = 92 * 24 * 3_600_000;
/// Leaves read per page when catching the tree up.
const PAGE: i64 = 20_000;

/// The ledger's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The log's name: the first line of every checkpoint, and the signature's key name.
    pub origin: String,
    /// How long access-event details are kept (their leaves are kept for ever).
    pub retention_days: u32,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            origin: "teeka.local/access-ledger".into(),
            retention_days: MIN_RETENTION_DAYS,
        }
    }
}

/// A checkpoint as served: the signed note and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The C2SP signed note.
    pub note: String,
}

impl TryFrom<&StoredCheckpoint> for SignedCheckpoint {
    type Error = AppError;
    fn try_from(c: &StoredCheckpoint) -> Result<Self, AppError> {
        let corrupt = || AppError::Store(teeka_store::StoreError::corrupt("checkpoint"));
        Ok(Self {
            size: u64::try_from(c.tree_size).map_err(|_| corrupt())?,
            root: c.root_hash.as_slice().try_into().map_err(|_| corrupt())?,
            note: c.note.clone(),
        })
    }
}

/// One entry of a person's access history, as the citizen sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Ledger sequence number (leaf index + 1).
    pub seq: u64,
    /// When (unix ms).
    pub at_ms: i64,
    /// `citizen`, `staff`, `partner` or `system`.
    pub actor_kind: String,
    /// The actor's role.
    pub actor_role: String,
    /// The centre (or partner) the actor acted for, by name, when known.
    pub place: Option<String>,
    /// The actor's id, masked.
    pub actor_masked: String,
    /// What was done.
    pub action: String,
    /// Why.
    pub purpose: String,
    /// The entry's leaf hash.
    pub leaf_hash: Hash,
    /// Its audit path to the checkpoint's root.
    pub inclusion_proof: Vec<Hash>,
}

/// A person's access history with the checkpoint its proofs lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessHistory {
    /// The checkpoint every proof verifies against.
    pub checkpoint: SignedCheckpoint,
    /// The entries, oldest first (the last one is this reading).
    pub entries: Vec<HistoryEntry>,
}

/// Who asks for a breach report.
#[derive(Debug, Clone, Copy)]
pub enum ReportCaller<'a> {
    /// A signed-in auditor or administrator (API).
    Staff(&'a StaffGrant),
    /// The operator at the server's shell (`teeka ledger report`), who already holds the
    /// database and the keys.
    Operator,
}

/// What a breach report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// The suspected credential: a staff account's id or sign-in name, or any ledger actor id.
    pub actor: String,
    /// Window start (unix ms), inclusive.
    pub from_ms: i64,
    /// Window end (unix ms), exclusive.
    pub to_ms: i64,
    /// Queue an SMS to each affected account.
    pub notify: bool,
}

/// One person to notify: what notification needs and nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedEntry {
    /// Their reference id.
    pub reference_id: String,
    /// Their account's mobile, masked.
    pub mobile_masked: String,
    /// How many of the actor's accesses touched them.
    pub accesses: usize,
}

/// A breach report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachReport {
    /// The actor id as on the ledger.
    pub actor_id: String,
    /// The window.
    pub from_ms: i64,
    /// The window's end.
    pub to_ms: i64,
    /// Accesses by the actor in the window.
    pub events: usize,
    /// The people they touched.
    pub affected: Vec<AffectedEntry>,
    /// Per action: (accesses, distinct people).
    pub by_action: BTreeMap<String, (usize, usize)>,
    /// SMS queued (one per account) when `notify` was asked.
    pub notices_queued: usize,
}

impl BreachReport {
    /// The summary as CSV, for a regulator's report: one row per action and a total; no
    /// personal data.
    #[must_use]
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "actor_id,window_start_utc,window_end_utc,action,accesses,affected_people\n",
        );
        let (from, to) = (utc(self.from_ms), utc(self.to_ms));
        for (action, (events, people)) in &self.by_action {
            out.push_str(&format!(
                "{},{from},{to},{action},{events},{people}\n",
                self.actor_id
            ));
        }
        out.push_str(&format!(
            "{},{from},{to},ALL,{},{}\n",
            self.actor_id,
            self.events,
            self.affected.len()
        ));
        out
    }
}

/// RFC 3339 in UTC, for reports.
#[must_use]
pub fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// An RFC 3339 time as unix milliseconds (report windows from the CLI and the API).
#[must_use]
pub fn parse_instant(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
}

/// The access ledger of one installation.
#[derive(Debug)]
pub struct Ledger {
    store: Store,
    key: Ed25519Key,
    config: LedgerConfig,
    tree: tokio::sync::Mutex<MerkleTree>,
}

impl Ledger {
    /// The ledger over `store`, signing with `key`.
    #[must_use]
    pub fn new(store: Store, key: Ed25519Key, config: LedgerConfig) -> Self {
        Self {
            store,
            key,
            config,
            tree: tokio::sync::Mutex::new(MerkleTree::new()),
        }
    }

    /// The log's origin line.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.config.origin
    }

    /// The checkpoint key as a C2SP verifier key (`name+hash+key`): what a witness pins.
    #[must_use]
    pub fn verifier_key(&self) -> String {
        note::verifier_key(&self.config.origin, &self.key.public())
    }

    /// The tree, caught up with every stored leaf.
    async fn synced(&self) -> Result<tokio::sync::MutexGuard<'_, MerkleTree>, AppError> {
        let mut tree = self.tree.lock().await;
        loop {
            let size = i64::try_from(tree.size()).unwrap_or(i64::MAX);
            let page = self.store.ledger_leaves(size, PAGE).await?;
            if page.is_empty() {
                return Ok(tree);
            }
            for (seq, hash) in page {
                if u64::try_from(seq).ok() != Some(tree.size() + 1) {
                    return Err(AppError::Store(teeka_store::StoreError::corrupt(
                        "ledger leaves have a gap",
                    )));
                }
                tree.push(hash);
            }
        }
    }

    /// The newest checkpoint, signing a new one first when the log has grown since.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, AppError> {
        let tree = self.synced().await?;
        let size = tree.size();
        let latest = self.store.latest_checkpoint().await?;
        if let Some(latest) = &latest
            && u64::try_from(latest.tree_size).unwrap_or(0) >= size
        {
            drop(tree);
            return self.covered(latest).await;
        }
        let root = tree
            .root_at(size)
            .unwrap_or_else(teeka_crypto::merkle::empty_root);
        let note = Checkpoint {
            origin: self.config.origin.clone(),
            size,
            root,
        }
        .sign(&self.config.origin, &self.key);
        drop(tree);
        let size_i64 = i64::try_from(size).unwrap_or(i64::MAX);
        self.store
            .record_checkpoint(size_i64, &root, &note, now_ms())
            .await?;
        // Another process may have stored a larger one meanwhile: the newest is the answer.
        let latest =
            self.store.latest_checkpoint().await?.ok_or_else(|| {
                AppError::Store(teeka_store::StoreError::corrupt("no checkpoint"))
            })?;
        self.covered(&latest).await
    }

    /// A stored checkpoint, with the in-memory tree caught up to at least its size.
    async fn covered(&self, c: &StoredCheckpoint) -> Result<SignedCheckpoint, AppError> {
        let signed = SignedCheckpoint::try_from(c)?;
        if self.synced().await?.size() < signed.size {
            return Err(AppError::Store(teeka_store::StoreError::corrupt(
                "checkpoint beyond the stored leaves",
            )));
        }
        Ok(signed)
    }

    /// The leaf hash and audit path of entry `seq` in the tree of `size` entries.
    ///
    /// # Errors
    /// [`NO_SUCH_ENTRY`] when the entry or size is outside the log.
    pub async fn inclusion_proof(
        &self,
        seq: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), AppError> {
        let tree = self.synced().await?;
        let index = seq.checked_sub(1).ok_or_else(no_such_entry)?;
        let proof = tree
            .inclusion_proof(index, size)
            .ok_or_else(no_such_entry)?;
        let leaf = tree.leaf(index).ok_or_else(no_such_entry)?;
        Ok((leaf, proof))
    }

    /// The consistency proof between two tree sizes.
    ///
    /// # Errors
    /// [`NO_SUCH_ENTRY`] when `first > second` or `second` is beyond the log.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, AppError> {
        self.synced()
            .await?
            .consistency_proof(first, second)
            .ok_or_else(no_such_entry)
    }

    /// Every access to one of the citizen's beneficiaries, with proofs against a fresh
    /// checkpoint; the reading itself is on the ledger (and in the list).
    ///
    /// # Errors
    /// Not found (the same answer as elsewhere) when the reference id is not the account's.
    pub async fn history(
        &self,
        grant: &CitizenGrant,
        reference_id: &str,
        request_id: &str,
    ) -> Result<AccessHistory, AppError> {
        if !crate::citizen::is_reference_id(reference_id) {
            return Err(crate::citizen::not_found());
        }
        let read = grant.event(
            "access_history.read",
            "the person's own access history",
            request_id,
        );
        let (_, events) = self
            .store
            .subject_access_history(grant.account_id(), reference_id, &read)
            .await?
            .ok_or_else(crate::citizen::not_found)?;
        let checkpoint = self.checkpoint().await?;
        let places = self.places(&events).await?;
        let tree = self.synced().await?;
        let mut entries = Vec::with_capacity(events.len());
        for stored in events {
            let seq = u64::try_from(stored.seq).unwrap_or(0);
            // Entries after the checkpoint (a concurrent access) wait for the next one.
            if seq == 0 || seq > checkpoint.size {
                continue;
            }
            let (Some(leaf), Some(proof)) = (
                tree.leaf(seq - 1),
                tree.inclusion_proof(seq - 1, checkpoint.size),
            ) else {
                continue;
            };
            let e = stored.event;
            entries.push(HistoryEntry {
                seq,
                at_ms: e.at_ms,
                place: places.get(&e.actor_id).cloned().flatten(),
                actor_masked: mask_actor(&e.actor_id),
                actor_kind: e.actor_kind,
                actor_role: e.role,
                action: e.action,
                purpose: e.purpose,
                leaf_hash: leaf,
                inclusion_proof: proof,
            });
        }
        Ok(AccessHistory {
            checkpoint,
            entries,
        })
    }

    /// The centre names of the staff among the events' actors.
    async fn places(
        &self,
        events: &[StoredAccessEvent],
    ) -> Result<BTreeMap<String, Option<String>>, AppError> {
        let staff: BTreeSet<Uuid> = events
            .iter()
            .filter(|e| e.event.actor_kind == "staff")
            .filter_map(|e| e.event.actor_id.parse().ok())
            .collect();
        let staff: Vec<Uuid> = staff.into_iter().collect();
        Ok(self
            .store
            .staff_places(&staff)
            .await?
            .into_iter()
            .map(|p| {
                let place = p
                    .centre_name
                    .map(|name| format!("{name} (centre {})", p.centre_id.unwrap_or_default()));
                (p.staff_id.to_string(), place)
            })
            .collect())
    }

    /// The breach report: everyone whose data the actor touched in the window, and with
    /// `notify`, an SMS to each affected account through the outbox.
    ///
    /// # Errors
    /// [`BAD_REPORT`] for an empty or over-long window; [`REPORT_FORBIDDEN`] for a role that may
    /// not report or an actor outside the caller's area.
    pub async fn breach_report(
        &self,
        vault: &Vault,
        caller: ReportCaller<'_>,
        query: &ReportQuery,
        request_id: &str,
    ) -> Result<BreachReport, AppError> {
        if query.to_ms <= query.from_ms || query.to_ms - query.from_ms > MAX_REPORT_WINDOW_MS {
            return Err(AppError::refused(
                Refusal::Invalid,
                BAD_REPORT,
                "The window must end after it starts and span at most 92 days",
            ));
        }
        let actor_id = self.report_actor(caller, query.actor.trim()).await?;
        let events = self
            .store
            .actor_access_events(&actor_id, query.from_ms, query.to_ms)
            .await?;
        let mut per_subject: BTreeMap<Uuid, usize> = BTreeMap::new();
        let mut by_action: BTreeMap<String, (usize, BTreeSet<Uuid>)> = BTreeMap::new();
        for e in &events {
            let slot = by_action.entry(e.event.action.clone()).or_default();
            slot.0 += 1;
            if let Some(subject) = e.event.subject_id {
                *per_subject.entry(subject).or_default() += 1;
                slot.1.insert(subject);
            }
        }
        let subjects: Vec<Uuid> = per_subject.keys().copied().collect();
        let purpose = format!(
            "breach report on actor {actor_id} from {} to {}",
            utc(query.from_ms),
            utc(query.to_ms)
        );
        let read = report_event(caller, "breach.report", &purpose, request_id);
        let people = self.store.affected_people(&subjects, &read).await?;
        let grant = breach_notification(&people);
        let mut affected = Vec::with_capacity(people.len());
        let mut mobiles: BTreeMap<Uuid, (Mobile, Vec<String>, Vec<Uuid>)> = BTreeMap::new();
        for p in &people {
            let mobile = open_mobile(vault, &grant, p)?;
            affected.push(AffectedEntry {
                reference_id: p.reference_id.clone(),
                mobile_masked: mobile.masked(),
                accesses: per_subject.get(&p.subject_id).copied().unwrap_or(0),
            });
            let slot = mobiles
                .entry(p.account_id)
                .or_insert_with(|| (mobile, Vec::new(), Vec::new()));
            slot.1.push(p.reference_id.clone());
            slot.2.push(p.subject_id);
        }
        let mut notices_queued = 0;
        if query.notify {
            let now = now_ms();
            let (mut messages, mut notified) = (Vec::new(), Vec::new());
            // One message per account, one ledger entry per person it tells.
            for (mobile, references, subjects) in mobiles.values() {
                messages.push(notice(vault, mobile, references, query, now)?);
                for subject in subjects {
                    let mut e = report_event(
                        caller,
                        "breach.notify",
                        &format!("notified of a breach by actor {actor_id}"),
                        request_id,
                    );
                    e.subject_id = Some(*subject);
                    notified.push(e);
                }
            }
            notices_queued = messages.len();
            self.store.queue_notices(&messages, &notified).await?;
        }
        tracing::warn!(actor = %actor_id, events = events.len(), people = affected.len(), notify = query.notify, "breach report");
        Ok(BreachReport {
            actor_id,
            from_ms: query.from_ms,
            to_ms: query.to_ms,
            events: events.len(),
            affected,
            by_action: by_action
                .into_iter()
                .map(|(k, (n, s))| (k, (n, s.len())))
                .collect(),
            notices_queued,
        })
    }

    /// The ledger actor id for a report, checking the caller may report on it.
    async fn report_actor(
        &self,
        caller: ReportCaller<'_>,
        actor: &str,
    ) -> Result<String, AppError> {
        let forbidden = || {
            AppError::refused(
                Refusal::Forbidden,
                REPORT_FORBIDDEN,
                "You may not report on that account",
            )
        };
        if actor.is_empty() || actor.len() > teeka_store::ledger::MAX_FIELD_BYTES {
            return Err(AppError::refused(
                Refusal::Invalid,
                BAD_REPORT,
                "Name the actor: a staff account's id or sign-in name",
            ));
        }
        let row = match actor.parse::<Uuid>() {
            Ok(id) => self.store.staff_by_id(id).await?,
            Err(_) => self.store.staff_by_username(actor).await?,
        };
        let ReportCaller::Staff(grant) = caller else {
            // The operator may report on any actor, staff or not (a partner, a citizen session).
            return Ok(row.map_or_else(|| actor.to_owned(), |r| r.staff_id.to_string()));
        };
        let nationwide = matches!(grant.role(), StaffRole::Auditor | StaffRole::NationalAdmin);
        let regional = matches!(
            grant.role(),
            StaffRole::StateAdmin | StaffRole::DistrictAdmin
        );
        if !nationwide && !regional {
            return Err(forbidden());
        }
        match row {
            Some(row) => {
                let (_, place) = crate::staff::scope_of(&row)?;
                if nationwide || grant.jurisdiction().contains(place) {
                    Ok(row.staff_id.to_string())
                } else {
                    Err(forbidden())
                }
            }
            // Only nationwide roles report on actors that are not staff accounts.
            None if nationwide => Ok(actor.to_owned()),
            None => Err(forbidden()),
        }
    }

    /// Removes access-event details older than the retention period; their leaves stay.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prune(&self, now_ms: i64) -> Result<u64, AppError> {
        let days = i64::from(self.config.retention_days.max(MIN_RETENTION_DAYS));
        let before = now_ms - days * 24 * 3_600_000;
        let event = AccessEventRecord {
            at_ms: now_ms,
            actor_kind: "system".into(),
            actor_id: "retention".into(),
            role: "system".into(),
            action: "ledger.prune".into(),
            subject_id: None,
            purpose: String::new(),
            request_id: format!("prune-{now_ms}"),
        };
        Ok(self.store.prune_access_events(before, &event).await?)
    }
}

fn no_such_entry() -> AppError {
    AppError::refused(
        Refusal::NotFound,
        NO_SUCH_ENTRY,
        "No such ledger entry or tree size",
    )
}

/// The first 8 characters of an id, the rest hidden: enough to tell actors apart in one history.
fn mask_actor(id: &str) -> String {
    let shown: String = id.chars().take(8).collect();
    format!("{shown}…")
}

fn report_event(
    caller: ReportCaller<'_>,
    action: &str,
    purpose: &str,
    request_id: &str,
) -> AccessEventRecord {
    match caller {
        ReportCaller::Staff(grant) => {
            crate::access::staff_event(grant.staff_id(), grant.role(), action, purpose, request_id)
        }
        ReportCaller::Operator => AccessEventRecord {
            at_ms: now_ms(),
            actor_kind: "system".into(),
            actor_id: "operator".into(),
            role: "operator".into(),
            action: action.into(),
            subject_id: None,
            purpose: purpose.into(),
            request_id: request_id.into(),
        },
    }
}

fn open_mobile(
    vault: &Vault,
    grant: &impl Grant,
    p: &teeka_store::ledger::AffectedPerson,
) -> Result<Mobile, AppError> {
    let plain = vault.open(
        grant,
        p.account_id,
        &p.mobile_sealed,
        &SealedColumn::AccountMobile.bound_to(&p.mobile_index),
    )?;
    String::from_utf8(plain)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| AppError::Crypto("stored mobile is not a mobile".into()))
}

/// The SMS telling an account's holder that their people's data was reached by a credential
/// under investigation.
fn notice(
    vault: &Vault,
    mobile: &Mobile,
    references: &[String],
    query: &ReportQuery,
    now: i64,
) -> Result<OutboxMessage, AppError> {
    let message_id = Uuid::new_v4();
    let masked: Vec<String> = references
        .iter()
        .map(|r| format!("ending {}", &r[r.len().saturating_sub(4)..]))
        .collect();
    let payload = serde_json::json!({
        "to": mobile.as_str(),
        "template": "breach_notice",
        "text": format!(
            "Teeka: the vaccination record(s) {} on your mobile were accessed between {} and {} UTC by a staff account now under investigation. See who accessed your data under Access history; to complain, reply or call 1075.",
            masked.join(", "),
            utc(query.from_ms),
            utc(query.to_ms)
        ),
    });
    Ok(OutboxMessage {
        message_id,
        channel: "sms".into(),
        template: "breach_notice".into(),
        payload_sealed: vault.seal(
            payload.to_string().as_bytes(),
            &SealedColumn::OutboxPayload.bound_to(message_id.as_bytes()),
        )?,
        attempts: 0,
        next_attempt_at_ms: now,
        created_at_ms: now,
    })
}
