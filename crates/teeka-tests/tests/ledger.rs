//! The access ledger against a database administrator, on both backends: an edited entry (with
//! and without its leaf rewritten), a deleted entry, two entries swapped, a truncated tail, a
//! forged checkpoint and a rollback only a witness's copy reveals are each caught by the
//! verifier; an untouched ledger of 100,000 entries verifies; retention keeps the tree whole.

use teeka_app::ledger::{Ledger, LedgerConfig};
use teeka_app::ledger_verify::{ProblemKind, VerifyReport, verify};
use teeka_store::Store;
use teeka_store::identity::AccessEventRecord;
use teeka_tests::{
    Backend, TestDb, backends, prepared_store, raw_execute, raw_try_execute, test_vault,
};

fn event(seq: i64) -> AccessEventRecord {
    AccessEventRecord {
        at_ms: 1_780_000_000_000 + seq,
        actor_kind: "staff".into(),
        actor_id: format!("actor-{}", seq % 7),
        role: "vaccinator".into(),
        action: "desk.checkin".into(),
        subject_id: None,
        purpose: "appointment code".into(),
        request_id: format!("req-{seq}"),
    }
}

fn blob(backend: Backend, bytes: &[u8]) -> String {
    match backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Backend::Postgres => format!("decode('{}', 'hex')", hex::encode(bytes)),
    }
}

/// Appends events `from..=to` as the store would (row and leaf), in batches, through raw SQL:
/// fast enough for 100,000, and the same bytes `append_access_event` writes.
async fn append(db: &TestDb, from: i64, to: i64) {
    let mut seq = from;
    while seq <= to {
        let last = (seq + 999).min(to);
        let (mut rows, mut leaves) = (Vec::new(), Vec::new());
        for s in seq..=last {
            let e = event(s);
            rows.push(format!(
                "({s}, {}, '{}', '{}', '{}', '{}', NULL, '{}', '{}')",
                e.at_ms, e.actor_kind, e.actor_id, e.role, e.action, e.purpose, e.request_id
            ));
            leaves.push(format!(
                "({s}, {})",
                blob(db.backend, &teeka_store::ledger::leaf_hash(&e))
            ));
        }
        raw_execute(
            db,
            &format!(
                "INSERT INTO access_events (seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id) VALUES {}; \
                 INSERT INTO ledger_leaves (seq, leaf_hash) VALUES {};",
                rows.join(","),
                leaves.join(",")
            ),
        )
        .await;
        seq = last + 1;
    }
    // PostgreSQL numbers appends from the ledger's head row (migration 10): a bulk writer keeps
    // it up to date, as the store's own backfill does.
    if db.backend == Backend::Postgres {
        raw_execute(
            db,
            "UPDATE ledger_head SET last_seq = (SELECT MAX(seq) FROM ledger_leaves)",
        )
        .await;
    }
}

/// What a database administrator does first: switch off the append-only guards.
async fn drop_guards(db: &TestDb) {
    let sql = match db.backend {
        Backend::Sqlite => {
            "DROP TRIGGER access_events_no_update; DROP TRIGGER access_events_no_delete; \
             DROP TRIGGER ledger_leaves_no_update; DROP TRIGGER ledger_leaves_no_delete;"
        }
        Backend::Postgres => {
            "ALTER TABLE access_events DISABLE TRIGGER USER; ALTER TABLE ledger_leaves DISABLE TRIGGER USER;"
        }
    };
    raw_execute(db, sql).await;
}

struct Fixture {
    db: TestDb,
    store: Store,
    _ledger: Ledger,
    key: [u8; 32],
    origin: String,
    /// The checkpoint at 200 entries, as a witness would have kept it.
    witnessed: String,
}

/// 200 entries with checkpoints at 100 and 200.
async fn fixture(backend: Backend) -> Fixture {
    let db = TestDb::new(backend).await;
    let store = prepared_store(&db).await;
    let vault = test_vault();
    let config = LedgerConfig::default();
    let origin = config.origin.clone();
    let ledger = Ledger::new(store.clone(), vault.ledger_key(), config);
    append(&db, 1, 100).await;
    assert_eq!(ledger.checkpoint().await.expect("checkpoint").size, 100);
    append(&db, 101, 200).await;
    let witnessed = ledger.checkpoint().await.expect("checkpoint").note;
    let f = Fixture {
        db,
        store,
        _ledger: ledger,
        key: vault.ledger_key().public(),
        origin,
        witnessed,
    };
    let clean = f.verify(None).await;
    assert!(clean.clean(), "{backend:?}: {clean:?}");
    assert_eq!((clean.entries, clean.checkpoints), (200, 2));
    drop_guards(&f.db).await;
    f
}

impl Fixture {
    async fn verify(&self, outside: Option<&str>) -> VerifyReport {
        verify(&self.store, &self.origin, &self.key, outside)
            .await
            .expect("verify runs")
    }
}

fn kinds(r: &VerifyReport) -> Vec<ProblemKind> {
    r.problems.iter().map(|p| p.kind).collect()
}

#[tokio::test]
async fn every_kind_of_tampering_is_caught() {
    let mut agreed = 0;
    for backend in backends() {
        // An edited entry: its content no longer hashes to its leaf.
        let f = fixture(backend).await;
        raw_execute(
            &f.db,
            "UPDATE access_events SET action = 'desk.dose' WHERE seq = 50",
        )
        .await;
        let r = f.verify(None).await;
        assert!(
            kinds(&r).contains(&ProblemKind::Edited),
            "{backend:?}: {r:?}"
        );
        assert_eq!(r.first_bad_entry, Some(50), "{backend:?}: {r:?}");
        agreed += 1;

        // Edited with its leaf rewritten to match: the signed roots no longer agree.
        let f = fixture(backend).await;
        let mut e = event(120);
        e.purpose = "nothing to see".into();
        raw_execute(&f.db, &format!(
            "UPDATE access_events SET purpose = 'nothing to see' WHERE seq = 120; UPDATE ledger_leaves SET leaf_hash = {} WHERE seq = 120",
            blob(backend, &teeka_store::ledger::leaf_hash(&e))
        )).await;
        let r = f.verify(None).await;
        assert!(
            kinds(&r).contains(&ProblemKind::Edited),
            "{backend:?}: {r:?}"
        );
        assert_eq!(
            r.first_bad_entry,
            Some(101),
            "{backend:?}: after the last good checkpoint: {r:?}"
        );
        agreed += 1;

        // A deleted entry, row and leaf.
        let f = fixture(backend).await;
        raw_execute(
            &f.db,
            "DELETE FROM access_events WHERE seq = 70; DELETE FROM ledger_leaves WHERE seq = 70",
        )
        .await;
        let r = f.verify(None).await;
        assert!(
            kinds(&r).contains(&ProblemKind::Deleted),
            "{backend:?}: {r:?}"
        );
        assert_eq!(r.first_bad_entry, Some(70), "{backend:?}: {r:?}");
        agreed += 1;

        // Only the details deleted, inside the retention period.
        let f = fixture(backend).await;
        raw_execute(&f.db, "DELETE FROM access_events WHERE seq = 71").await;
        let r = f.verify(None).await;
        assert_eq!(kinds(&r), vec![ProblemKind::Deleted], "{backend:?}: {r:?}");
        assert_eq!(r.first_bad_entry, Some(71));
        agreed += 1;

        // Two entries swapped.
        let f = fixture(backend).await;
        raw_execute(&f.db, "UPDATE access_events SET seq = -80 WHERE seq = 80; UPDATE access_events SET seq = 80 WHERE seq = 81; UPDATE access_events SET seq = 81 WHERE seq = -80").await;
        let r = f.verify(None).await;
        assert!(
            kinds(&r).contains(&ProblemKind::Reordered),
            "{backend:?}: {r:?}"
        );
        assert_eq!(r.first_bad_entry, Some(80), "{backend:?}: {r:?}");
        agreed += 1;

        // A truncated tail: the newest checkpoint covers entries that are gone.
        let f = fixture(backend).await;
        raw_execute(
            &f.db,
            "DELETE FROM access_events WHERE seq > 180; DELETE FROM ledger_leaves WHERE seq > 180",
        )
        .await;
        let r = f.verify(None).await;
        assert!(
            kinds(&r).contains(&ProblemKind::Truncated),
            "{backend:?}: {r:?}"
        );
        assert_eq!(r.first_bad_entry, Some(181), "{backend:?}: {r:?}");
        agreed += 1;

        // A forged checkpoint: the right shape, another key.
        let f = fixture(backend).await;
        let forger = teeka_crypto::Ed25519Key::generate().expect("key");
        let forged = teeka_crypto::note::Checkpoint {
            origin: f.origin.clone(),
            size: 200,
            root: [9; 32],
        }
        .sign(&f.origin, &forger);
        f.store
            .record_checkpoint(200, &[9; 32], &forged, 0)
            .await
            .expect("insert");
        let r = f.verify(None).await;
        assert_eq!(kinds(&r), vec![ProblemKind::Forged], "{backend:?}: {r:?}");
        agreed += 1;

        // A rollback that storage alone cannot show: the tail and the checkpoints that cover
        // it are gone, consistently. The witness's copy reveals it.
        let f = fixture(backend).await;
        raw_execute(&f.db, "DELETE FROM access_events WHERE seq > 150; DELETE FROM ledger_leaves WHERE seq > 150; DELETE FROM ledger_checkpoints WHERE tree_size > 150").await;
        assert!(
            f.verify(None).await.clean(),
            "{backend:?}: storage agrees with itself"
        );
        let r = f.verify(Some(&f.witnessed)).await;
        assert!(
            kinds(&r).contains(&ProblemKind::RolledBack),
            "{backend:?}: {r:?}"
        );
        assert!(
            kinds(&r).contains(&ProblemKind::Truncated),
            "{backend:?}: {r:?}"
        );
        f.store.close().await;
        agreed += 1;

        // A stored checkpoint that goes backwards (an old, genuine one replayed as the newest).
        let f = fixture(backend).await;
        let old = f.store.ledger_checkpoints().await.expect("cps")[0].clone();
        raw_execute(&f.db, &format!("INSERT INTO ledger_checkpoints (tree_size, root_hash, note, created_at) VALUES (100, {}, '{}', 1)", blob(backend, &old.root_hash), old.note)).await;
        let r = f.verify(None).await;
        assert_eq!(
            kinds(&r),
            vec![ProblemKind::RolledBack],
            "{backend:?}: {r:?}"
        );
        agreed += 1;
        f.store.close().await;
    }
    println!("ledger tampering: the verifier caught {agreed} of {agreed} tamperings");
}

#[tokio::test]
async fn a_hundred_thousand_entries_verify_and_retention_keeps_the_tree() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let vault = test_vault();
        let ledger = Ledger::new(store.clone(), vault.ledger_key(), LedgerConfig::default());
        append(&db, 1, 100_000).await;
        let cp = ledger.checkpoint().await.expect("checkpoint");
        assert_eq!(cp.size, 100_000);
        let key = vault.ledger_key().public();
        let origin = LedgerConfig::default().origin;
        let started = std::time::Instant::now();
        let r = verify(&store, &origin, &key, Some(&cp.note))
            .await
            .expect("verify");
        assert!(r.clean(), "{backend:?}: {:?}", r.problems);
        assert_eq!(r.entries, 100_000);
        println!(
            "{backend:?}: verified 100,000 entries in {:?}",
            started.elapsed()
        );

        // Retention: every entry here is from 2026-05 or so; "now" a year and a day later
        // prunes them all, and the log still verifies by its leaves.
        let year_later = 1_780_000_000_000 + 366 * 24 * 3_600_000;
        let pruned = ledger.prune(year_later).await.expect("prune");
        assert_eq!(pruned, 100_000);
        let r = verify(&store, &origin, &key, Some(&cp.note))
            .await
            .expect("verify");
        assert!(r.clean(), "{backend:?}: {:?}", r.problems);
        assert_eq!((r.entries, r.pruned), (100_001, 100_000));
        // The pruning itself is not an open door: deleting a recent entry is still caught.
        assert!(
            teeka_tests::raw_try_execute(&db, "DELETE FROM access_events WHERE seq = 100001")
                .await
                .is_err(),
            "{backend:?}: the guard refuses a recent deletion"
        );
        store.close().await;
    }
}

/// PostgreSQL numbers entries from the ledger's head row: without it an append must fail (and
/// its access with it), never go through without its entry.
#[tokio::test]
async fn an_append_without_the_head_row_fails_closed() {
    for backend in backends() {
        if backend != Backend::Postgres {
            continue;
        }
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let vault = test_vault();
        let ledger = Ledger::new(store.clone(), vault.ledger_key(), LedgerConfig::default());
        append(&db, 1, 20).await;
        assert!(
            raw_try_execute(&db, "DELETE FROM ledger_head")
                .await
                .is_err(),
            "the head row is guarded"
        );
        assert!(raw_try_execute(&db, "TRUNCATE ledger_head").await.is_err());
        raw_execute(
            &db,
            "ALTER TABLE ledger_head DISABLE TRIGGER USER; DELETE FROM ledger_head;",
        )
        .await;
        let year_later = 1_780_000_000_000 + 366 * 24 * 3_600_000;
        assert!(
            ledger.prune(year_later).await.is_err(),
            "an append with no number must fail"
        );
        let events = store.access_events(0, 1_000).await.expect("events");
        assert_eq!(events.len(), 20, "nothing pruned, nothing appended");
        store.close().await;
    }
}
