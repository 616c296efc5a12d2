//! Embedded migrations: each backend lists its own SQL files, applied in order, once.

/// One embedded migration.
pub(crate) struct Migration {
    /// Monotonic version.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// The backend-specific SQL.
    pub sql: &'static str,
}
