//! The store's error type: what went wrong, classified so that callers can answer a client
//! without showing it database internals.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL's scheme names no backend we have.
    #[error("database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    /// A row with the same key exists.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// A row refers to something that does not exist (a district, a centre, a vaccine).
    #[error("missing reference: {0}")]
    MissingReference(String),
    /// A value broke a table constraint (a negative capacity, say).
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// Stored data could not be read back into domain types.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Creating the database's folder failed.
    #[error("cannot prepare database location: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else the driver reported.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration failed to apply.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// Which migration.
        version: i64,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &e {
            let message = db.message().to_owned();
            match db.kind() {
                ErrorKind::UniqueViolation => return StoreError::Duplicate(message),
                ErrorKind::ForeignKeyViolation => return StoreError::MissingReference(message),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return StoreError::Constraint(message);
                }
                _ => {}
            }
        }
        StoreError::Database(e)
    }
}

impl StoreError {
    /// Builds a [`StoreError::Corrupt`] from anything printable.
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}
