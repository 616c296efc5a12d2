//! The SQLite backend: the embedded default. WAL journal; readers share a pool while every write
//! goes through a one-connection pool and starts with `BEGIN IMMEDIATE`, so writers queue for the
//! lock up front instead of failing on upgrade.

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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The SQLite store: a reader pool and a single-writer pool over one file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    const MIGRATIONS: &'static [Migration] = &[
        Migration {
            version: 1,
            name: "foundation",
            sql: include_str!("../migrations/sqlite/0001_foundation.sql"),
        },
        Migration {
            version: 2,
            name: "availability_changes",
            sql: include_str!("../migrations/sqlite/0002_availability_changes.sql"),
        },
        Migration {
            version: 3,
            name: "identity",
            sql: include_str!("../migrations/sqlite/0003_identity.sql"),
        },
        Migration {
            version: 4,
            name: "booking",
            sql: include_str!("../migrations/sqlite/0004_booking.sql"),
        },
        Migration {
            version: 5,
            name: "idempotency",
            sql: include_str!("../migrations/sqlite/0005_idempotency.sql"),
        },
        Migration {
            version: 6,
            name: "staff",
            sql: include_str!("../migrations/sqlite/0006_staff.sql"),
        },
        Migration {
            version: 7,
            name: "desk",
            sql: include_str!("../migrations/sqlite/0007_desk.sql"),
        },
        Migration {
            version: 8,
            name: "ledger",
            sql: include_str!("../migrations/sqlite/0008_ledger.sql"),
        },
        Migration {
            version: 9,
            name: "one_statement_append",
            sql: include_str!("../migrations/sqlite/0009_one_statement_append.sql"),
        },
        // Version 10 (the ledger's head row) is PostgreSQL's alone: SQLite's single writer
        // already numbers entries in order.
        Migration {
            version: 11,
            name: "partners",
            sql: include_str!("../migrations/sqlite/0011_partners.sql"),
        },
        Migration {
            version: 12,
            name: "certificates",
            sql: include_str!("../migrations/sqlite/0012_certificates.sql"),
        },
        Migration {
            version: 13,
            name: "travel_details",
            sql: include_str!("../migrations/sqlite/0013_travel_details.sql"),
        },
    ];

    /// Opens (creating if missing) the database at `url` (`sqlite://PATH` or `sqlite::memory:`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Other processes (the CLI beside a running server) may hold the write lock briefly.
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(false))
            .await?;
        Ok(Self { read, write })
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    async fn close_pools(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// `BEGIN IMMEDIATE` already holds the only write lock.
    async fn lock_for_migration(_tx: &mut Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        Ok(())
    }

    /// `BEGIN IMMEDIATE` already holds the only write lock.
    async fn lock_for_id_allocation(
        _tx: &mut Transaction<'static, Sqlite>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// `BEGIN IMMEDIATE` already serialises every writer.
    async fn lock_bucket(
        _tx: &mut Transaction<'static, Sqlite>,
        _bucket: &[u8],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// One access event, leaf and row, in one statement: the view's trigger takes the next number
    /// (see migration 9). Parameters: at, actor kind, actor id, role, action, subject, purpose,
    /// request id, leaf hash.
    const APPEND_ACCESS_EVENT: &'static str = "INSERT INTO ledger_append \
         (at, actor_kind, actor_id, role, action, subject_id, purpose, request_id, leaf_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

    /// The next number is read from the leaves themselves: nothing to catch up.
    const RESYNC_LEDGER_HEAD: Option<&'static str> = None;

    /// `statement` with an access event beside it, in one call: the event's insert first, its
    /// nine parameters numbered from `first` (the statements of one call share their numbers).
    fn statement_with_entry(statement: &str, first: usize) -> String {
        let numbered: Vec<String> = (first..first + 9).map(|n| format!("${n}")).collect();
        format!(
            "INSERT INTO ledger_append \
             (at, actor_kind, actor_id, role, action, subject_id, purpose, request_id, leaf_hash) \
             VALUES ({}); {statement}",
            numbered.join(", ")
        )
    }

    /// `BEGIN IMMEDIATE` already serialises every writer.
    async fn lock_for_ledger(_tx: &mut Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        Ok(())
    }

    shared_store_methods!(Sqlite);
    identity_store_methods!(Sqlite);
    booking_store_methods!(Sqlite);
    staff_store_methods!(Sqlite);
    desk_store_methods!(Sqlite);
    ledger_store_methods!(Sqlite);
    partner_store_methods!(Sqlite);
    certificate_store_methods!(Sqlite);
}
