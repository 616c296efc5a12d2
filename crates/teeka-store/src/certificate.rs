//! Certificates: one per valid dose, written in the dose's own transaction (and in a
//! correction's, which revokes the old one and issues its replacement). Rows identify a
//! certificate (id, dose, kind, signing key id, when, revoked when); the signed documents are
//! rebuilt from the dose when downloaded, so nothing personal is copied here.

use uuid::Uuid;

/// A certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// Its id, printed on it and hashed into revocation lists.
    pub certificate_id: String,
    /// The dose it certifies.
    pub dose_id: Uuid,
    /// Whose.
    pub subject_id: Uuid,
    /// `provisional`, `final` or `precaution`.
    pub kind: String,
    /// The issuer key generation that signs it.
    pub kid: String,
    /// Unix ms.
    pub issued_at_ms: i64,
    /// Unix ms, when revoked.
    pub revoked_at_ms: Option<i64>,
}

pub(crate) const CERTIFICATE_COLUMNS: &str =
    "certificate_id, dose_id, subject_id, kind, kid, issued_at, revoked_at";

/// Stamps the certificate methods onto a backend (see `common.rs` for why a macro).
macro_rules! certificate_store_methods {
    ($db:ty) => {
        /// Inserts a certificate inside a caller's transaction.
        async fn insert_certificate_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            c: &$crate::certificate::CertificateRow,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query(
                "INSERT INTO certificates (certificate_id, dose_id, subject_id, kind, kid, issued_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&c.certificate_id)
            .bind(c.dose_id)
            .bind(c.subject_id)
            .bind(&c.kind)
            .bind(&c.kid)
            .bind(c.issued_at_ms)
            .bind(c.revoked_at_ms)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Revokes a dose's live certificate inside a caller's transaction.
        async fn revoke_certificates_of_dose_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            dose_id: uuid::Uuid,
            at_ms: i64,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query("UPDATE certificates SET revoked_at = $2 WHERE dose_id = $1 AND revoked_at IS NULL")
                .bind(dose_id)
                .bind(at_ms)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        fn decode_certificate(
            r: &<$db as sqlx::Database>::Row,
        ) -> Result<$crate::certificate::CertificateRow, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::certificate::CertificateRow {
                certificate_id: r.try_get(0)?,
                dose_id: r.try_get(1)?,
                subject_id: r.try_get(2)?,
                kind: r.try_get(3)?,
                kid: r.try_get(4)?,
                issued_at_ms: r.try_get(5)?,
                revoked_at_ms: r.try_get(6)?,
            })
        }

        /// Every certificate of these people, live and revoked, oldest first.
        pub async fn certificates_of(
            &self,
            subject_ids: &[uuid::Uuid],
        ) -> Result<Vec<$crate::certificate::CertificateRow>, $crate::StoreError> {
            let mut out = Vec::new();
            for subject in subject_ids {
                let sql = format!(
                    "SELECT {} FROM certificates WHERE subject_id = $1 ORDER BY issued_at, certificate_id",
                    $crate::certificate::CERTIFICATE_COLUMNS
                );
                for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(subject)
                    .fetch_all(self.reader())
                    .await?
                {
                    out.push(Self::decode_certificate(&row)?);
                }
            }
            Ok(out)
        }

        /// A person's valid doses, in dose order.
        pub async fn valid_doses_of(
            &self,
            subject_id: uuid::Uuid,
        ) -> Result<Vec<$crate::desk::DeskDose>, $crate::StoreError> {
            let sql = format!(
                "SELECT {} FROM doses WHERE subject_id = $1 AND revoked = $2 ORDER BY dose_number",
                $crate::desk::DOSE_COLUMNS
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(subject_id)
                .bind(false)
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(Self::decode_desk_dose)
                .collect()
        }

        /// Issues a certificate for a dose that has no live one (doses recorded before
        /// certificates existed); the live certificate either way.
        pub async fn ensure_certificate(
            &self,
            c: &$crate::certificate::CertificateRow,
        ) -> Result<$crate::certificate::CertificateRow, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let live = format!(
                "SELECT {} FROM certificates WHERE dose_id = $1 AND revoked_at IS NULL",
                $crate::certificate::CERTIFICATE_COLUMNS
            );
            let existing = sqlx::query(sqlx::AssertSqlSafe(live))
                .bind(c.dose_id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = existing {
                tx.rollback().await?;
                return Self::decode_certificate(&row);
            }
            Self::insert_certificate_in(&mut tx, c).await?;
            tx.commit().await?;
            Ok(c.clone())
        }

        /// Issues many certificates in one transaction (the issuing benchmark's store step).
        pub async fn insert_certificates(
            &self,
            rows: &[$crate::certificate::CertificateRow],
        ) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            for c in rows {
                Self::insert_certificate_in(&mut tx, c).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// Keeps a person's sealed travel details (replacing earlier ones), with its access
        /// event, in one transaction.
        pub async fn put_travel_details(
            &self,
            subject_id: uuid::Uuid,
            details_sealed: &[u8],
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO travel_details (subject_id, details_sealed, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (subject_id) DO UPDATE SET details_sealed = $2, updated_at = $3",
            )
            .bind(subject_id)
            .bind(details_sealed)
            .bind(event.at_ms)
            .execute(&mut *tx)
            .await?;
            let mut e = event.clone();
            e.subject_id = Some(subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Removes a person's travel details, with its access event; whether there were any.
        pub async fn delete_travel_details(
            &self,
            subject_id: uuid::Uuid,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let removed = sqlx::query("DELETE FROM travel_details WHERE subject_id = $1")
                .bind(subject_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let mut e = event.clone();
            e.subject_id = Some(subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(removed > 0)
        }

        /// A person's sealed travel details, if they gave any, with `event` on the ledger in
        /// the same transaction when there are (the full date of birth is read).
        pub async fn read_travel_details(
            &self,
            subject_id: uuid::Uuid,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<Option<Vec<u8>>, $crate::StoreError> {
            use sqlx::Row;
            // Most people give none: a look first, so their downloads take no write lock.
            let any = sqlx::query("SELECT 1 FROM travel_details WHERE subject_id = $1")
                .bind(subject_id)
                .fetch_optional(self.reader())
                .await?;
            if any.is_none() {
                return Ok(None);
            }
            let mut tx = self.begin_write().await?;
            let sealed: Option<Vec<u8>> =
                sqlx::query("SELECT details_sealed FROM travel_details WHERE subject_id = $1")
                    .bind(subject_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
            if sealed.is_some() {
                let mut e = event.clone();
                e.subject_id = Some(subject_id);
                Self::append_access_event(&mut tx, &e).await?;
            }
            tx.commit().await?;
            Ok(sealed)
        }

        /// Revoked certificates' ids with when, oldest first (the revocation list's source).
        pub async fn revoked_certificates(&self) -> Result<Vec<(String, i64)>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT certificate_id, revoked_at FROM certificates WHERE revoked_at IS NOT NULL \
                 ORDER BY revoked_at, certificate_id",
            )
            .fetch_all(self.reader())
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        }
    };
}

pub(crate) use certificate_store_methods;
