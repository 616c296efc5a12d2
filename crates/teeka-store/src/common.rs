//! The SQL both backends share, written once. SQLite and PostgreSQL agree on `$n` placeholders,
//! `ON CONFLICT`, `RETURNING` and the queries below, so one macro stamps the same method bodies
//! onto each backend's concrete pool type (sqlx's generic executor bounds would say the same thing
//! at three times the length). Backend-specific parts (connection set-up, locking, migrations)
//! live in `sqlite.rs` and `postgres.rs`.

/// The centre columns of every availability query, in the order `decode_centre` reads them.
macro_rules! centre_columns {
    () => {
        "c.centre_id, c.centre_name, c.address, c.state_id, c.district_id, b.block_name, \
         c.pincode, c.lat, c.long, c.fee_type, c.fees, c.opens_minute, c.closes_minute, \
         st.state_name, d.district_name"
    };
}

/// The session columns, in the order `decode_session` reads them (after the centre's 15).
macro_rules! session_columns {
    () => {
        "s.session_id, s.session_date, s.vaccine_name, s.min_age, s.max_age, s.allow_all_age, \
         s.dose1_online, s.dose1_onsite, s.dose2_online, s.dose2_onsite, s.precaution_online, \
         s.precaution_onsite, s.dose1_booked, s.dose2_booked, s.precaution_booked, s.slots, \
         s.centre_id"
    };
}

/// Joins that give a centre its block, district and state names.
macro_rules! centre_joins {
    () => {
        " FROM centres c JOIN blocks b ON b.block_id = c.block_id \
         JOIN districts d ON d.district_id = c.district_id \
         JOIN states st ON st.state_id = c.state_id "
    };
}

/// One availability query per scope; `$2`/`$3` are the date range, `$4` an optional vaccine.
macro_rules! sessions_where {
    ($cond:literal) => {
        concat!(
            "SELECT ",
            centre_columns!(),
            ", ",
            session_columns!(),
            centre_joins!(),
            " JOIN sessions s ON s.centre_id = c.centre_id WHERE ",
            $cond,
            " AND s.session_date >= $2 AND s.session_date < $3 \
             AND ($4 IS NULL OR s.vaccine_name = $4) \
             ORDER BY c.centre_id, s.session_date, s.session_id"
        )
    };
}

pub(crate) const SESSIONS_BY_DISTRICT: &str = sessions_where!("c.district_id = $1");
pub(crate) const SESSIONS_BY_PINCODE: &str = sessions_where!("c.pincode = $1");
pub(crate) const SESSIONS_BY_CENTRE: &str = sessions_where!("c.centre_id = $1");

pub(crate) const SESSION_BY_ID: &str = concat!(
    "SELECT ",
    centre_columns!(),
    ", ",
    session_columns!(),
    centre_joins!(),
    " JOIN sessions s ON s.centre_id = c.centre_id WHERE s.session_id = $1"
);

pub(crate) const CENTRE_BY_ID: &str = concat!(
    "SELECT ",
    centre_columns!(),
    centre_joins!(),
    " WHERE c.centre_id = $1"
);

pub(crate) const CENTRES_IN_BOX: &str = concat!(
    "SELECT ",
    centre_columns!(),
    centre_joins!(),
    " WHERE c.lat BETWEEN $1 AND $2 AND c.long BETWEEN $3 AND $4 \
     ORDER BY (c.lat - $6) * (c.lat - $6) + (c.long - $7) * (c.long - $7) * $8, c.centre_id LIMIT $5"
);

pub(crate) const INSERT_CENTRE: &str = "INSERT INTO centres (centre_id, centre_name, address, \
     state_id, district_id, block_id, pincode, lat, long, fee_type, fees, opens_minute, \
     closes_minute) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

pub(crate) const UPSERT_BLOCK: &str = "INSERT INTO blocks (district_id, block_name) VALUES ($1, $2) \
     ON CONFLICT (district_id, block_name) DO UPDATE SET block_name = excluded.block_name \
     RETURNING block_id";

pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (session_id, centre_id, session_date, \
     vaccine_name, min_age, max_age, allow_all_age, dose1_online, dose1_onsite, dose2_online, \
     dose2_onsite, precaution_online, precaution_onsite, slots) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

pub(crate) const BUMP_DISTRICT: &str = "INSERT INTO availability_changes (district_id, change_count) \
     VALUES ($1, 1) ON CONFLICT (district_id) DO UPDATE SET change_count = availability_changes.change_count + 1";

pub(crate) const BUMP_ALL_DISTRICTS: &str = "INSERT INTO availability_changes (district_id, change_count) \
     SELECT district_id, 1 FROM districts WHERE true \
     ON CONFLICT (district_id) DO UPDATE SET change_count = availability_changes.change_count + 1";

/// Formats a list of numbers as the comma-separated text the master-data columns hold.
pub(crate) fn join_numbers<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses comma-separated numbers back.
pub(crate) fn split_numbers<T: std::str::FromStr>(text: &str) -> Result<Vec<T>, crate::StoreError> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| crate::StoreError::corrupt("number list"))
        })
        .collect()
}

/// Formats fees as `COVISHIELD=780,COVAXIN=1410`.
pub(crate) fn encode_fees(fees: &[teeka_domain::VaccineFee]) -> String {
    fees.iter()
        .map(|f| format!("{}={}", f.vaccine, f.fee))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses fees written by [`encode_fees`].
pub(crate) fn decode_fees(text: &str) -> Result<Vec<teeka_domain::VaccineFee>, crate::StoreError> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, fee) = pair
                .split_once('=')
                .ok_or_else(|| crate::StoreError::corrupt("fees"))?;
            Ok(teeka_domain::VaccineFee {
                vaccine: name.parse().map_err(crate::StoreError::corrupt)?,
                fee: fee.parse().map_err(crate::StoreError::corrupt)?,
            })
        })
        .collect()
}

/// Converts a stored non-negative integer back to `u32`.
pub(crate) fn non_negative(v: i32) -> Result<u32, crate::StoreError> {
    u32::try_from(v).map_err(|_| crate::StoreError::corrupt("negative count"))
}

/// Converts a stored small integer (age, minute) back.
pub(crate) fn small<T: TryFrom<i32>>(v: i32) -> Result<T, crate::StoreError> {
    T::try_from(v).map_err(|_| crate::StoreError::corrupt("value out of range"))
}

/// Stamps the shared method bodies onto a backend whose concrete database type is `$db`.
/// The backend provides `reader(&self) -> &Pool<$db>` and `begin_write(&self)`.
macro_rules! shared_store_methods {
    ($db:ty) => {
        /// Checks the database answers.
        pub async fn ping(&self) -> Result<(), $crate::StoreError> {
            sqlx::query("SELECT 1").execute(self.reader()).await?;
            Ok(())
        }

        /// Closes the pools.
        pub async fn close(&self) {
            self.close_pools().await;
        }

        /// Inserts or updates states.
        pub async fn upsert_states(&self, states: &[$crate::StateRecord]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let mut changed = 0;
            for s in states {
                changed += sqlx::query(
                    "INSERT INTO states (state_id, state_name, pin_prefixes) VALUES ($1, $2, $3) \
                     ON CONFLICT (state_id) DO UPDATE SET state_name = excluded.state_name, \
                     pin_prefixes = excluded.pin_prefixes \
                     WHERE states.state_name <> excluded.state_name OR states.pin_prefixes <> excluded.pin_prefixes",
                )
                .bind(s.id.0)
                .bind(&s.name)
                .bind($crate::common::join_numbers(&s.pin_prefixes))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            // Names appear in cached answers: a renamed state makes every answer stale.
            if changed > 0 {
                sqlx::query($crate::common::BUMP_ALL_DISTRICTS).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// Inserts or updates districts.
        pub async fn upsert_districts(&self, districts: &[$crate::DistrictRecord]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let mut changed = 0;
            for d in districts {
                changed += sqlx::query(
                    "INSERT INTO districts (district_id, state_id, district_name) VALUES ($1, $2, $3) \
                     ON CONFLICT (district_id) DO UPDATE SET state_id = excluded.state_id, \
                     district_name = excluded.district_name \
                     WHERE districts.state_id <> excluded.state_id OR districts.district_name <> excluded.district_name",
                )
                .bind(d.id.0)
                .bind(d.state_id.0)
                .bind(&d.name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            if changed > 0 {
                sqlx::query($crate::common::BUMP_ALL_DISTRICTS).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// Inserts or updates vaccines.
        pub async fn upsert_vaccines(&self, vaccines: &[teeka_domain::Vaccine]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            for v in vaccines {
                sqlx::query(
                    "INSERT INTO vaccines (vaccine_name, manufacturer, primary_doses, min_interval_days, \
                     precaution_after_days) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (vaccine_name) \
                     DO UPDATE SET manufacturer = excluded.manufacturer, primary_doses = excluded.primary_doses, \
                     min_interval_days = excluded.min_interval_days, \
                     precaution_after_days = excluded.precaution_after_days",
                )
                .bind(v.name.as_str())
                .bind(&v.manufacturer)
                .bind(i32::from(v.primary_doses))
                .bind($crate::common::join_numbers(&v.min_interval_days))
                .bind(i32::from(v.precaution_after_days))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// Records PIN code → district pairs; the first district named for a PIN code stays.
        pub async fn upsert_pincodes(
            &self,
            pins: &[(teeka_domain::Pincode, teeka_domain::DistrictId)],
        ) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            for (pin, district) in pins {
                Self::record_pincode(&mut tx, *pin, *district).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn record_pincode(
            tx: &mut sqlx::Transaction<'static, $db>,
            pin: teeka_domain::Pincode,
            district: teeka_domain::DistrictId,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query(
                "INSERT INTO pincodes (pincode, district_id) VALUES ($1, $2) ON CONFLICT (pincode) DO NOTHING",
            )
            .bind(i32::try_from(pin.get()).map_err($crate::StoreError::corrupt)?)
            .bind(district.0)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// All states, by name (bytewise, as CoWIN listed them).
        pub async fn list_states(&self) -> Result<Vec<$crate::StateRecord>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT state_id, state_name, pin_prefixes FROM states")
                .fetch_all(self.reader())
                .await?;
            let mut states = rows
                .iter()
                .map(|r| {
                    Ok($crate::StateRecord {
                        id: teeka_domain::StateId(r.try_get(0)?),
                        name: r.try_get(1)?,
                        pin_prefixes: $crate::common::split_numbers(&r.try_get::<String, _>(2)?)?,
                    })
                })
                .collect::<Result<Vec<_>, $crate::StoreError>>()?;
            states.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            Ok(states)
        }

        /// The districts of one state, by name (bytewise, as CoWIN listed them).
        pub async fn list_districts(
            &self,
            state: teeka_domain::StateId,
        ) -> Result<Vec<$crate::DistrictRecord>, $crate::StoreError> {
            let rows = sqlx::query("SELECT district_id, state_id, district_name FROM districts WHERE state_id = $1")
                .bind(state.0)
                .fetch_all(self.reader())
                .await?;
            let mut districts = rows.iter().map(Self::decode_district).collect::<Result<Vec<_>, _>>()?;
            // Sorted here, not in SQL: PostgreSQL's locale collation and SQLite's BINARY disagree.
            districts.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            Ok(districts)
        }

        /// Every district, by id.
        pub async fn list_all_districts(&self) -> Result<Vec<$crate::DistrictRecord>, $crate::StoreError> {
            let rows = sqlx::query("SELECT district_id, state_id, district_name FROM districts ORDER BY district_id")
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(Self::decode_district).collect()
        }

        /// One district.
        pub async fn get_district(
            &self,
            id: teeka_domain::DistrictId,
        ) -> Result<Option<$crate::DistrictRecord>, $crate::StoreError> {
            let row = sqlx::query("SELECT district_id, state_id, district_name FROM districts WHERE district_id = $1")
                .bind(id.0)
                .fetch_optional(self.reader())
                .await?;
            row.as_ref().map(Self::decode_district).transpose()
        }

        fn decode_district(r: &<$db as sqlx::Database>::Row) -> Result<$crate::DistrictRecord, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::DistrictRecord {
                id: teeka_domain::DistrictId(r.try_get(0)?),
                state_id: teeka_domain::StateId(r.try_get(1)?),
                name: r.try_get(2)?,
            })
        }

        /// All vaccines.
        pub async fn list_vaccines(&self) -> Result<Vec<teeka_domain::Vaccine>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT vaccine_name, manufacturer, primary_doses, min_interval_days, precaution_after_days \
                 FROM vaccines ORDER BY vaccine_name",
            )
            .fetch_all(self.reader())
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(teeka_domain::Vaccine {
                        name: r.try_get::<String, _>(0)?.parse().map_err($crate::StoreError::corrupt)?,
                        manufacturer: r.try_get(1)?,
                        primary_doses: $crate::common::small(r.try_get(2)?)?,
                        min_interval_days: $crate::common::split_numbers(&r.try_get::<String, _>(3)?)?,
                        precaution_after_days: $crate::common::small(r.try_get(4)?)?,
                    })
                })
                .collect()
        }

        async fn insert_centre_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            c: &teeka_domain::Centre,
        ) -> Result<(), $crate::StoreError> {
            use sqlx::Row;
            let block_id: i64 = sqlx::query($crate::common::UPSERT_BLOCK)
                .bind(c.district_id.0)
                .bind(&c.block_name)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            Self::record_pincode(tx, c.pincode, c.district_id).await?;
            sqlx::query($crate::common::INSERT_CENTRE)
                .bind(c.id.0)
                .bind(&c.name)
                .bind(&c.address)
                .bind(c.state_id.0)
                .bind(c.district_id.0)
                .bind(block_id)
                .bind(i32::try_from(c.pincode.get()).map_err($crate::StoreError::corrupt)?)
                .bind(c.lat)
                .bind(c.long)
                .bind(c.fee_type.as_str())
                .bind($crate::common::encode_fees(&c.fees))
                .bind(i32::from(c.hours.from_minute))
                .bind(i32::from(c.hours.to_minute))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Bumps the change counters of the districts whose availability a write changed.
        async fn note_availability_change(
            tx: &mut sqlx::Transaction<'static, $db>,
            districts: impl IntoIterator<Item = teeka_domain::DistrictId>,
        ) -> Result<(), $crate::StoreError> {
            let distinct: std::collections::BTreeSet<i32> = districts.into_iter().map(|d| d.0).collect();
            for district in distinct {
                sqlx::query($crate::common::BUMP_DISTRICT)
                    .bind(district)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        /// Every district's change counter.
        pub async fn availability_changes(&self) -> Result<Vec<(teeka_domain::DistrictId, i64)>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT district_id, change_count FROM availability_changes")
                .fetch_all(self.reader())
                .await?;
            rows.iter()
                .map(|r| Ok((teeka_domain::DistrictId(r.try_get(0)?), r.try_get(1)?)))
                .collect()
        }

        /// Inserts centres, all or none.
        pub async fn insert_centres(&self, centres: &[teeka_domain::Centre]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            for c in centres {
                Self::insert_centre_in(&mut tx, c).await?;
            }
            Self::note_availability_change(&mut tx, centres.iter().map(|c| c.district_id)).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Inserts one centre under the next free id.
        pub async fn insert_centre_with_next_id(
            &self,
            centre: &teeka_domain::Centre,
        ) -> Result<teeka_domain::CentreId, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            Self::lock_for_id_allocation(&mut tx).await?;
            let next: i64 = sqlx::query("SELECT COALESCE(MAX(centre_id), 0) + 1 FROM centres")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let mut with_id = centre.clone();
            with_id.id = teeka_domain::CentreId(next);
            Self::insert_centre_in(&mut tx, &with_id).await?;
            Self::note_availability_change(&mut tx, [with_id.district_id]).await?;
            tx.commit().await?;
            Ok(with_id.id)
        }

        /// One centre.
        pub async fn get_centre(
            &self,
            id: teeka_domain::CentreId,
        ) -> Result<Option<$crate::CentreView>, $crate::StoreError> {
            let row = sqlx::query($crate::common::CENTRE_BY_ID)
                .bind(id.0)
                .fetch_optional(self.reader())
                .await?;
            row.as_ref().map(Self::decode_centre).transpose()
        }

        fn decode_centre(r: &<$db as sqlx::Database>::Row) -> Result<$crate::CentreView, $crate::StoreError> {
            use sqlx::Row;
            let pincode: i32 = r.try_get(6)?;
            let centre = teeka_domain::Centre {
                id: teeka_domain::CentreId(r.try_get(0)?),
                name: r.try_get(1)?,
                address: r.try_get(2)?,
                state_id: teeka_domain::StateId(r.try_get(3)?),
                district_id: teeka_domain::DistrictId(r.try_get(4)?),
                block_name: r.try_get(5)?,
                pincode: teeka_domain::Pincode::try_from(u32::try_from(pincode).map_err($crate::StoreError::corrupt)?)
                    .map_err($crate::StoreError::corrupt)?,
                lat: r.try_get(7)?,
                long: r.try_get(8)?,
                fee_type: r.try_get::<String, _>(9)?.parse().map_err($crate::StoreError::corrupt)?,
                fees: $crate::common::decode_fees(&r.try_get::<String, _>(10)?)?,
                hours: teeka_domain::OpeningHours {
                    from_minute: $crate::common::small(r.try_get(11)?)?,
                    to_minute: $crate::common::small(r.try_get(12)?)?,
                },
            };
            Ok($crate::CentreView {
                centre,
                state_name: r.try_get(13)?,
                district_name: r.try_get(14)?,
            })
        }

        /// Decodes the session columns that start at index 15.
        fn decode_session(r: &<$db as sqlx::Database>::Row) -> Result<$crate::SessionAvailability, $crate::StoreError> {
            use sqlx::Row;
            use $crate::common::{non_negative, small};
            const S: usize = 15;
            let share = |online: usize, onsite: usize| -> Result<teeka_domain::DoseShare, $crate::StoreError> {
                Ok(teeka_domain::DoseShare {
                    online: non_negative(r.try_get(S + online)?)?,
                    onsite: non_negative(r.try_get(S + onsite)?)?,
                })
            };
            let capacity = teeka_domain::Capacity {
                dose1: share(6, 7)?,
                dose2: share(8, 9)?,
                precaution: share(10, 11)?,
            };
            let booked = |i: usize| -> Result<u32, $crate::StoreError> { non_negative(r.try_get(S + i)?) };
            let available = $crate::DoseCounts {
                dose1: capacity.dose1.online.saturating_sub(booked(12)?),
                dose2: capacity.dose2.online.saturating_sub(booked(13)?),
                precaution: capacity.precaution.online.saturating_sub(booked(14)?),
            };
            let max_age: Option<i32> = r.try_get(S + 4)?;
            let plan = teeka_domain::SessionPlan {
                id: r.try_get(S)?,
                centre_id: teeka_domain::CentreId(r.try_get(S + 16)?),
                date: teeka_domain::CowinDate(r.try_get(S + 1)?),
                vaccine: r.try_get::<String, _>(S + 2)?.parse().map_err($crate::StoreError::corrupt)?,
                age: teeka_domain::AgeLimits {
                    min_age: small(r.try_get(S + 3)?)?,
                    max_age: max_age.map(small).transpose()?,
                    allow_all_age: r.try_get(S + 5)?,
                },
                capacity,
                slots: teeka_domain::SlotBand::parse_list(&r.try_get::<String, _>(S + 15)?)
                    .map_err($crate::StoreError::corrupt)?,
            };
            Ok($crate::SessionAvailability { plan, available })
        }

        /// Inserts sessions, all or none.
        pub async fn insert_sessions(&self, sessions: &[teeka_domain::SessionPlan]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            for s in sessions {
                let c = &s.capacity;
                let count = |v: u32| i32::try_from(v).map_err($crate::StoreError::corrupt);
                sqlx::query($crate::common::INSERT_SESSION)
                    .bind(s.id)
                    .bind(s.centre_id.0)
                    .bind(s.date.date())
                    .bind(s.vaccine.as_str())
                    .bind(i32::from(s.age.min_age))
                    .bind(s.age.max_age.map(i32::from))
                    .bind(s.age.allow_all_age)
                    .bind(count(c.dose1.online)?)
                    .bind(count(c.dose1.onsite)?)
                    .bind(count(c.dose2.online)?)
                    .bind(count(c.dose2.onsite)?)
                    .bind(count(c.precaution.online)?)
                    .bind(count(c.precaution.onsite)?)
                    .bind(s.slots.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
                    .execute(&mut *tx)
                    .await?;
            }
            let centres: std::collections::BTreeSet<i64> = sessions.iter().map(|s| s.centre_id.0).collect();
            let mut districts = Vec::with_capacity(centres.len());
            for centre in centres {
                let district: i32 = sqlx::query("SELECT district_id FROM centres WHERE centre_id = $1")
                    .bind(centre)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::RowNotFound => $crate::StoreError::MissingReference(format!("centre {centre}")),
                        other => other.into(),
                    })
                    .and_then(|r| sqlx::Row::try_get(&r, 0).map_err(Into::into))?;
                districts.push(teeka_domain::DistrictId(district));
            }
            Self::note_availability_change(&mut tx, districts).await?;
            tx.commit().await?;
            Ok(())
        }

        /// One session.
        pub async fn get_session(&self, id: uuid::Uuid) -> Result<Option<$crate::SessionAvailability>, $crate::StoreError> {
            let row = sqlx::query($crate::common::SESSION_BY_ID)
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
            row.as_ref().map(Self::decode_session).transpose()
        }

        /// Sessions matching a query, grouped by centre.
        pub async fn find_sessions(
            &self,
            query: &$crate::SessionQuery,
        ) -> Result<Vec<$crate::CentreSessions>, $crate::StoreError> {
            use $crate::SessionScope;
            let q = match &query.scope {
                SessionScope::District(d) => sqlx::query($crate::common::SESSIONS_BY_DISTRICT).bind(i64::from(d.0)),
                SessionScope::Pincode(p) => sqlx::query($crate::common::SESSIONS_BY_PINCODE).bind(i64::from(p.get())),
                SessionScope::Centre(c) => sqlx::query($crate::common::SESSIONS_BY_CENTRE).bind(c.0),
            };
            let rows = q
                .bind(query.from.date())
                .bind(query.until.date())
                .bind(query.vaccine.as_ref().map(|v| v.as_str().to_owned()))
                .fetch_all(self.reader())
                .await?;
            let mut out: Vec<$crate::CentreSessions> = Vec::new();
            for r in &rows {
                let session = Self::decode_session(r)?;
                match out.last_mut() {
                    Some(last) if last.centre.centre.id == session.plan.centre_id => last.sessions.push(session),
                    _ => out.push($crate::CentreSessions {
                        centre: Self::decode_centre(r)?,
                        sessions: vec![session],
                    }),
                }
            }
            Ok(out)
        }

        /// Centres within a box of ±`delta` degrees.
        pub async fn centres_in_box(
            &self,
            lat: f64,
            long: f64,
            delta: f64,
            limit: i64,
        ) -> Result<Vec<$crate::CentreView>, $crate::StoreError> {
            let rows = sqlx::query($crate::common::CENTRES_IN_BOX)
                .bind(lat - delta)
                .bind(lat + delta)
                .bind(long - delta)
                .bind(long + delta)
                .bind(limit)
                .bind(lat)
                .bind(long)
                // A degree of longitude shrinks with latitude: weigh it by cos² so that the
                // nearest by this measure are (very nearly) the nearest on the ground.
                .bind(lat.to_radians().cos().powi(2))
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(Self::decode_centre).collect()
        }

        /// Row counts of the main tables.
        pub async fn counts(&self) -> Result<$crate::StoreCounts, $crate::StoreError> {
            use sqlx::Row;
            let r = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM states), (SELECT COUNT(*) FROM districts), \
                 (SELECT COUNT(*) FROM centres), (SELECT COUNT(*) FROM sessions)",
            )
            .fetch_one(self.reader())
            .await?;
            Ok($crate::StoreCounts {
                states: r.try_get(0)?,
                districts: r.try_get(1)?,
                centres: r.try_get(2)?,
                sessions: r.try_get(3)?,
            })
        }

        /// Applies the backend's embedded migrations that are not yet applied.
        pub async fn migrate(&self) -> Result<usize, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            Self::lock_for_migration(&mut tx).await?;
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS teeka_migrations (version BIGINT PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            let applied: Vec<i64> = sqlx::query("SELECT version FROM teeka_migrations")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let mut count = 0;
            for m in Self::MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
                sqlx::raw_sql(m.sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| $crate::StoreError::Migration { version: m.version, source })?;
                sqlx::query("INSERT INTO teeka_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.name)
                    .bind(time::OffsetDateTime::now_utc().unix_timestamp())
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(version = m.version, name = m.name, "applied migration");
                count += 1;
            }
            tx.commit().await?;
            Ok(count)
        }
    };
}

pub(crate) use shared_store_methods;
