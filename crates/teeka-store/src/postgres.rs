//! The PostgreSQL backend: the production store, shared by many app processes. Where SQLite's
//! single writer gives serialisation for free, this backend takes explicit locks.

use crate::StoreError;
use crate::booking::booking_store_methods;
use crate::common::shared_store_methods;
use crate::desk::desk_store_methods;
use crate::identity::identity_store_methods;
use crate::ledger::ledger_store_methods;
use crate::migrate::Migration;
use crate::staff::staff_store_methods;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Advisory lock keys, so that concurrent processes take turns on one-at-a-time work.
const MIGRATION_LOCK: i64 = 0x7465_656b_6101;
const CENTRE_ID_LOCK: i64 = 0x7465_656b_6102;
const LEDGER_LOCK: i64 = 0x7465_656b_6103;
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

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
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

    /// Access events take gap-free sequence numbers: one appender at a time.
    /// One access event, leaf and row, in one statement (after the ledger lock, so `MAX(seq)` is
    /// read from a snapshot taken once the lock is held). Parameters as in the SQLite backend.
    const APPEND_ACCESS_EVENT: &'static str = "WITH leaf AS ( \
             INSERT INTO ledger_leaves (seq, leaf_hash) \
             SELECT COALESCE(MAX(seq), 0) + 1, $9 FROM ledger_leaves RETURNING seq) \
         INSERT INTO access_events (seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id) \
         SELECT seq, $1, $2, $3, $4, $5, $6, $7, $8 FROM leaf";

    /// The extended protocol prepares one statement per call.
    const APPEND_IN_ONE_CALL: bool = false;

    async fn lock_for_ledger(tx: &mut Transaction<'static, Postgres>) -> Result<(), StoreError> {
        Self::advisory_lock(tx, LEDGER_LOCK).await
    }

    shared_store_methods!(Postgres);
    identity_store_methods!(Postgres);
    booking_store_methods!(Postgres);
    staff_store_methods!(Postgres);
    desk_store_methods!(Postgres);
    ledger_store_methods!(Postgres);
}
