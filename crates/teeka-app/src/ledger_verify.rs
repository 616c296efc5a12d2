//! `teeka ledger verify`: recomputes the access ledger's Merkle tree from the stored events,
//! checks each entry against its recorded leaf, every stored checkpoint's signature, order,
//! root and consistency with the one before, and optionally a checkpoint kept outside (a
//! witness's copy), and names the first bad entry.
//!
//! What it catches: an edited entry (its content no longer hashes to its leaf, or, when the leaf
//! was rewritten too, the tree no longer has the signed root), a deleted entry (a gap, or details
//! missing inside the retention period), a reordering (two entries whose contents fit each
//! other's places), a truncated tail (a checkpoint larger than the log) and a forged or
//! rolled-back checkpoint (a bad signature, a size that shrinks, or an outside checkpoint larger
//! than any stored one).

use crate::AppError;
use std::collections::BTreeMap;
use teeka_crypto::merkle::{Hash, MerkleTree, verify_consistency};
use teeka_crypto::note::{self, Checkpoint};
use teeka_store::Store;
use teeka_store::ledger::{LeafFormats, PRUNED_THROUGH};

/// Rows read per page.
const PAGE: i64 = 20_000;
/// Mismatched entries examined for a move (each against every other mismatch).
const MOVES_EXAMINED: usize = 64;

/// What kind of damage a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An entry's content does not match what was recorded or signed.
    Edited,
    /// An entry is gone.
    Deleted,
    /// Entries were moved to other places.
    Reordered,
    /// The log is shorter than a checkpoint says.
    Truncated,
    /// A checkpoint's signature does not verify.
    Forged,
    /// A checkpoint is older (smaller) than one seen before it.
    RolledBack,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Its kind.
    pub kind: ProblemKind,
    /// The entry it concerns, when one can be named.
    pub seq: Option<u64>,
    /// What was found.
    pub detail: String,
}

/// The verifier's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Entries (leaves) in the log.
    pub entries: u64,
    /// Entries whose details retention removed (checked by their leaf only).
    pub pruned: u64,
    /// Stored checkpoints checked.
    pub checkpoints: usize,
    /// Whether an outside checkpoint was checked too.
    pub outside_checkpoint: bool,
    /// The root of the whole log as recomputed.
    pub root: String,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
    /// The lowest entry any problem names.
    pub first_bad_entry: Option<u64>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    #[must_use]
    pub fn clean(&self) -> bool {
        self.problems.is_empty()
    }
}

fn problem(kind: ProblemKind, seq: Option<u64>, detail: String) -> Problem {
    Problem { kind, seq, detail }
}

/// Recomputes and checks the ledger in `store` against the checkpoint key (`origin`, `public`),
/// and against `outside` (a signed checkpoint note kept elsewhere) when given.
///
/// # Errors
/// Storage failures only; damage is reported in the [`VerifyReport`].
pub async fn verify(
    store: &Store,
    origin: &str,
    public: &[u8; 32],
    outside: Option<&str>,
) -> Result<VerifyReport, AppError> {
    let mut problems = Vec::new();
    // Stored leaves, in order; a gap is a deleted entry, kept as a hole so that later entries
    // stay in their places.
    let mut stored: Vec<Hash> = Vec::new();
    let mut holes = std::collections::BTreeSet::new();
    let mut after = 0;
    loop {
        let page = store.ledger_leaves(after, PAGE).await?;
        let Some(&(last, _)) = page.last() else { break };
        for (seq, hash) in page {
            let expected = stored.len() as i64 + 1;
            if seq > expected {
                problems.push(problem(
                    ProblemKind::Deleted,
                    u64::try_from(expected).ok(),
                    format!("entries {expected} to {} are missing from the log", seq - 1),
                ));
                for hole in expected..seq {
                    holes.insert(hole as u64);
                    stored.push([0; 32]);
                }
            }
            stored.push(hash);
        }
        after = last;
    }
    // Events, recomputed; positions with no event wait for the retention check.
    let formats = store.leaf_formats().await?;
    let mut recomputed: Vec<Option<Hash>> = vec![None; stored.len()];
    let mut pruned_through = 0u64;
    let mut orphans = Vec::new();
    // The events that do not match their leaves, kept (the first few) to tell moves from edits.
    let mut misfits = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store.access_events(after, PAGE).await?;
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        for e in page {
            match usize::try_from(e.seq - 1)
                .ok()
                .filter(|i| *i < stored.len())
            {
                Some(i) => {
                    let hash = formats.recompute(e.seq, &e.event, &stored[i]);
                    recomputed[i] = Some(hash);
                    if hash != stored[i] && misfits.len() < MOVES_EXAMINED {
                        misfits.insert(i, e.event.clone());
                    }
                }
                None => orphans.push(e.seq),
            }
            if e.event.action == "ledger.prune"
                && let Some(n) = e.event.purpose.strip_prefix(PRUNED_THROUGH)
            {
                pruned_through = pruned_through.max(n.parse().unwrap_or(0));
            }
        }
        after = last;
    }
    // Events appended after the leaves were read (a live server) have their leaves by now.
    let grown_to = stored.len() as i64
        + store
            .ledger_leaves(stored.len() as i64, i64::from(u32::MAX))
            .await?
            .len() as i64;
    for seq in orphans.into_iter().filter(|seq| *seq > grown_to) {
        problems.push(problem(
            ProblemKind::Edited,
            u64::try_from(seq).ok(),
            format!("entry {seq} has no leaf in the log"),
        ));
    }
    let mut tree = MerkleTree::new();
    let mut mismatched = Vec::new();
    let mut pruned = 0;
    for (i, leaf) in stored.iter().enumerate() {
        let seq = i as u64 + 1;
        match recomputed[i] {
            Some(hash) => {
                if hash != *leaf {
                    mismatched.push(i);
                }
                tree.push(hash);
            }
            None if holes.contains(&seq) => tree.push(*leaf),
            None if seq <= pruned_through => {
                pruned += 1;
                tree.push(*leaf);
            }
            None => {
                problems.push(problem(
                    ProblemKind::Deleted,
                    Some(seq),
                    format!("entry {seq} was removed inside the retention period"),
                ));
                tree.push(*leaf);
            }
        }
    }
    problems.extend(classify_mismatches(formats, &mismatched, &stored, &misfits));
    let bound = check_checkpoints(store, origin, public, outside, &tree, &mut problems).await?;
    // An entry named exactly comes first; else the first entry after the last checkpoint that
    // still agrees with the log.
    let first_bad_entry = problems.iter().filter_map(|p| p.seq).min().or(bound);
    Ok(VerifyReport {
        entries: stored.len() as u64,
        pruned,
        checkpoints: store.ledger_checkpoints().await?.len(),
        outside_checkpoint: outside.is_some(),
        root: hex::encode(
            tree.root_at(tree.size())
                .unwrap_or_else(teeka_crypto::merkle::empty_root),
        ),
        problems,
        first_bad_entry,
    })
}

/// Entries whose content does not hash to their leaf: moved (each fits another's place) or
/// edited.
fn classify_mismatches(
    formats: LeafFormats,
    mismatched: &[usize],
    stored: &[Hash],
    events: &BTreeMap<usize, teeka_store::identity::AccessEventRecord>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    // Only the events kept (the first few) are examined for moves; every one is reported.
    for &i in mismatched {
        let seq = i as u64 + 1;
        let moved_from = events.get(&i).and_then(|event| {
            mismatched.iter().find(|&&j| {
                j != i && formats.recompute(j as i64 + 1, event, &stored[j]) == stored[j]
            })
        });
        out.push(match moved_from {
            Some(j) => problem(
                ProblemKind::Reordered,
                Some(seq),
                format!("entry {seq} holds what was recorded as entry {}", j + 1),
            ),
            None => problem(
                ProblemKind::Edited,
                Some(seq),
                format!("entry {seq} does not match its recorded leaf hash"),
            ),
        });
    }
    out
}

/// Every stored checkpoint in order, then the outside one.
async fn check_checkpoints(
    store: &Store,
    origin: &str,
    public: &[u8; 32],
    outside: Option<&str>,
    tree: &MerkleTree,
    problems: &mut Vec<Problem>,
) -> Result<Option<u64>, AppError> {
    let stored = store.ledger_checkpoints().await?;
    let mut seen = Agreement::default();
    let mut previous: Option<Checkpoint> = None;
    let mut largest = 0;
    for row in &stored {
        let label = format!("stored checkpoint #{}", row.checkpoint_id);
        let Some(cp) = check_one(&label, &row.note, origin, public, tree, &mut seen, problems)
        else {
            continue;
        };
        if let Some(prev) = &previous {
            if cp.size < prev.size {
                problems.push(problem(
                    ProblemKind::RolledBack,
                    None,
                    format!(
                        "{label} goes back from {} to {} entries",
                        prev.size, cp.size
                    ),
                ));
            } else if let Some(proof) = tree.consistency_proof(prev.size, cp.size)
                && !verify_consistency(prev.size, cp.size, &prev.root, &cp.root, &proof)
            {
                problems.push(problem(
                    ProblemKind::Edited,
                    None,
                    format!(
                        "{label} is not consistent with the checkpoint of {} entries before it",
                        prev.size
                    ),
                ));
            }
        }
        largest = largest.max(cp.size);
        previous = Some(cp);
    }
    if let Some(note_text) = outside
        && let Some(cp) = check_one(
            "the outside checkpoint",
            note_text,
            origin,
            public,
            tree,
            &mut seen,
            problems,
        )
        && cp.size > largest
    {
        problems.push(problem(
            ProblemKind::RolledBack,
            None,
            format!(
                "the outside checkpoint covers {} entries but the newest stored checkpoint only {largest}: stored checkpoints were removed",
                cp.size
            ),
        ));
    }
    Ok(seen.bound)
}

/// What the checkpoints checked so far say about where damage starts.
#[derive(Default)]
struct Agreement {
    /// The largest checkpoint that agreed with the log: the first bad entry lies after it.
    good_through: u64,
    /// The first entry that may be bad, once a checkpoint disagreed.
    bound: Option<u64>,
}

/// Checks one signed checkpoint against the recomputed tree; a root that disagrees sets `bound`
/// (the first entry that may be bad) when none is set.
fn check_one(
    label: &str,
    note_text: &str,
    origin: &str,
    public: &[u8; 32],
    tree: &MerkleTree,
    seen: &mut Agreement,
    problems: &mut Vec<Problem>,
) -> Option<Checkpoint> {
    let cp = match note::verify_checkpoint(note_text, origin, origin, public) {
        Ok(cp) => cp,
        Err(e) => {
            problems.push(problem(
                ProblemKind::Forged,
                None,
                format!("{label} does not verify: {e}"),
            ));
            return None;
        }
    };
    match tree.root_at(cp.size) {
        None => problems.push(problem(
            ProblemKind::Truncated,
            Some(tree.size() + 1),
            format!(
                "{label} covers {} entries but the log holds {}: its tail was cut",
                cp.size,
                tree.size()
            ),
        )),
        Some(root) if root != cp.root => problems.push(problem(
            ProblemKind::Edited,
            {
                seen.bound.get_or_insert(seen.good_through + 1);
                None
            },
            format!(
                "{label} (size {}) does not match the log: an entry after {} was changed, removed or moved since it was signed",
                cp.size, seen.good_through
            ),
        )),
        Some(_) => seen.good_through = seen.good_through.max(cp.size),
    }
    Some(cp)
}
