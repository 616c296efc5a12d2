//! The PostgreSQL backend: the production store, shared by many app processes. Where SQLite's
//! single writer gives serialisation for free, this backend takes explicit locks.

use crate::StoreError;
use crate::booking::booking_store_methods;
use crate::certificate::certificate_store_methods;
use crate::common::shared_store_methods;
use crate::desk::desk_store_methods;
use crate::identity::identity_store_methods;
use crate::ledger::ledger_store_methods;
use crate::migrate::Migration;
use crate::partner::partner_store_methods;
use crate::staff::staff_store_methods;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Advisory lock keys, so that concurrent processes take turns on one-at-a-time work.
const MIGRATION_LOCK: i64 = 0x7465_656b_6101;
const CENTRE_ID_LOCK: i64 = 0x7465_656b_6102;
/// The first key of two-key advisory locks on rate-limit buckets.
const BUCKET_LOCK_SPACE: i32 = 0x7465_656b;

/// The PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    const MIGRATIONS: &'static [Migration] = &[
        Migration {
            version: 1,
            name: "foundation",
            sql: include_str!("../migrations/postgres/0001_foundation.sql"),
        },
        Migration {
            version: 2,
            name: "availability_changes",
            sql: include_str!("../migrations/postgres/0002_availability_changes.sql"),
        },
        Migration {
            version: 3,
            name: "identity",
            sql: include_str!("../migrations/postgres/0003_identity.sql"),
        },
        Migration {
            version: 4,
            name: "booking",
            sql: include_str!("../migrations/postgres/0004_booking.sql"),
        },
        Migration {
            version: 5,
            name: "idempotency",
            sql: include_str!("../migrations/postgres/0005_idempotency.sql"),
        },
        Migration {
            version: 6,
            name: "staff",
            sql: include_str!("../migrations/postgres/0006_staff.sql"),
        },
        Migration {
            version: 7,
            name: "desk",
            sql: include_str!("../migrations/postgres/0007_desk.sql"),
        },
        Migration {
            version: 8,
            name: "ledger",
            sql: include_str!("../migrations/postgres/0008_ledger.sql"),
        },
        Migration {
            version: 9,
            name: "one_statement_append",
            sql: include_str!("../migrations/postgres/0009_one_statement_append.sql"),
        },
        Migration {
            version: 10,
            name: "ledger_head",
            sql: include_str!("../migrations/postgres/0010_ledger_head.sql"),
        },
        Migration {
            version: 11,
            name: "partners",
            sql: include_str!("../migrations/postgres/0011_partners.sql"),
        },
        Migration {
            version: 12,
            name: "certificates",
            sql: include_str!("../migrations/postgres/0012_certificates.sql"),
        },
        Migration {
            version: 13,
            name: "travel_details",
            sql: include_str!("../migrations/postgres/0013_travel_details.sql"),
        },
    ];

    /// Connects to the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Read committed, whatever the server's default: the ledger's head row and the capacity
    /// updates rely on a waiting update re-reading the row another transaction committed.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
    }

    async fn close_pools(&self) {
        self.pool.close().await;
    }

    async fn advisory_lock(
        tx: &mut Transaction<'static, Postgres>,
        key: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn lock_for_migration(tx: &mut Transaction<'static, Postgres>) -> Result<(), StoreError> {
        Self::advisory_lock(tx, MIGRATION_LOCK).await
    }

    async fn lock_for_id_allocation(
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), StoreError> {
        Self::advisory_lock(tx, CENTRE_ID_LOCK).await
    }

    /// Serialises work on one rate-limit bucket (a mobile, an IP, an account) across processes.
    /// Keys are keyed hashes or UUIDs, so their first bytes spread well; a collision only makes
    /// two unrelated buckets take turns.
    async fn lock_bucket(
        tx: &mut Transaction<'static, Postgres>,
        bucket: &[u8],
    ) -> Result<(), StoreError> {
        let mut first = [0u8; 4];
        for (slot, byte) in first.iter_mut().zip(bucket) {
            *slot = *byte;
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(BUCKET_LOCK_SPACE)
            .bind(i32::from_be_bytes(first))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// One access event, leaf and row, in one statement. Its number comes from the ledger's head
    /// row (migration 10), whose update locks the row until this transaction ends: one appender
    /// at a time, gap-free numbers in commit order, and a waiting appender, once let through,
    /// updates the row as the last one left it (read committed re-reads an updated row).
    /// Parameters as in the SQLite backend.
    const APPEND_ACCESS_EVENT: &'static str = "WITH head AS ( \
             UPDATE ledger_head SET last_seq = GREATEST(last_seq, (SELECT COALESCE(MAX(seq), 0) FROM ledger_leaves)) + 1 \
             RETURNING last_seq), \
         leaf AS ( \
             INSERT INTO ledger_leaves (seq, leaf_hash) SELECT (SELECT last_seq FROM head), $9 RETURNING seq) \
         INSERT INTO access_events (seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id) \
         SELECT seq, $1, $2, $3, $4, $5, $6, $7, $8 FROM leaf";

    /// After leaves are written by number (the backfill), the head row catches up with them.
    const RESYNC_LEDGER_HEAD: Option<&'static str> = Some(
        "UPDATE ledger_head SET last_seq = GREATEST(last_seq, (SELECT COALESCE(MAX(seq), 0) FROM ledger_leaves))",
    );

    /// `statement` with an access event beside it, as one statement: the event's append rides in
    /// its `WITH` clause (data-modifying sub-statements always run, once, in full), its nine
    /// parameters numbered from `first`.
    fn statement_with_entry(statement: &str, first: usize) -> String {
        let n = |i: usize| format!("${}", first + i);
        format!(
            "WITH entry_head AS ( \
                 UPDATE ledger_head SET last_seq = GREATEST(last_seq, (SELECT COALESCE(MAX(seq), 0) FROM ledger_leaves)) + 1 \
             RETURNING last_seq), \
             entry_leaf AS ( \
                 INSERT INTO ledger_leaves (seq, leaf_hash) SELECT (SELECT last_seq FROM entry_head), {} RETURNING seq), \
             entry_event AS ( \
                 INSERT INTO access_events (seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id) \
                 SELECT seq, {}, {}, {}, {}, {}, {}, {}, {} FROM entry_leaf) \
             {statement}",
            n(8),
            n(0),
            n(1),
            n(2),
            n(3),
            n(4),
            n(5),
            n(6),
            n(7)
        )
    }

    /// Holds the ledger still: the head row every append updates.
    async fn lock_for_ledger(tx: &mut Transaction<'static, Postgres>) -> Result<(), StoreError> {
        sqlx::query("SELECT last_seq FROM ledger_head WHERE only_row = 1 FOR UPDATE")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    shared_store_methods!(Postgres);
    identity_store_methods!(Postgres);
    booking_store_methods!(Postgres);
    staff_store_methods!(Postgres);
    desk_store_methods!(Postgres);
    ledger_store_methods!(Postgres);
    partner_store_methods!(Postgres);
    certificate_store_methods!(Postgres);
}
