//! Administration within a jurisdiction: staff accounts (create, list, disable, reset, unlock
//! and reinstate), alerts, centres, session plans and capacity. An administrator acts only on
//! what lies within their own centre, district or state, and creates only roles below their own.
//! Anything outside looks like it does not exist.

use crate::admin::{Facilities, FacilityInput, SessionInput, Sessions};
use crate::clock::today_in_india;
use crate::error::{AppError, Refusal};
use crate::staff::{
    Enrolment, FORBIDDEN, NO_SUCH_STAFF, Staff, StaffGrant, listing_filter, resolve_scope, scope_of,
};
use teeka_domain::{CentreId, Jurisdiction, StaffRole};
use teeka_store::staff::{StaffAlert, StaffRow};
use uuid::Uuid;

/// How senior a role is: an administrator creates and manages only roles below their own.
fn rank(role: StaffRole) -> u8 {
    match role {
        StaffRole::Vaccinator | StaffRole::Verifier => 0,
        StaffRole::CentreAdmin => 1,
        StaffRole::DistrictAdmin => 2,
        StaffRole::StateAdmin => 3,
        // National roles that only the national administrator appoints.
        StaffRole::Auditor | StaffRole::PartnerManager => 4,
        StaffRole::NationalAdmin => 5,
    }
}

fn is_admin(role: StaffRole) -> bool {
    matches!(
        role,
        StaffRole::CentreAdmin
            | StaffRole::DistrictAdmin
            | StaffRole::StateAdmin
            | StaffRole::NationalAdmin
    )
}

fn forbidden(message: &str) -> AppError {
    AppError::refused(Refusal::Forbidden, FORBIDDEN, message)
}

fn no_such_staff() -> AppError {
    AppError::refused(Refusal::NotFound, NO_SUCH_STAFF, "No such staff account")
}

/// A staff account as an administrator sees it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSummary {
    /// Sign-in name.
    pub username: String,
    /// Role.
    pub role: String,
    /// `centre`, `district`, `state` or `nation`.
    pub scope_kind: String,
    /// The centre, district or state id.
    pub scope_id: Option<i64>,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// Locked after failed sign-ins (until unlocked, or for a pause).
    pub locked: bool,
    /// Suspended by anomaly detection.
    pub suspended: bool,
    /// Must change the password at next sign-in.
    pub must_change_password: bool,
}

impl From<&StaffRow> for StaffSummary {
    fn from(r: &StaffRow) -> Self {
        Self {
            username: r.username.clone(),
            role: r.role.clone(),
            scope_kind: r.scope_kind.clone(),
            scope_id: r.scope_id,
            disabled: r.disabled,
            locked: r.locked_until > crate::clock::now_ms(),
            suspended: r.suspended,
            must_change_password: r.must_change_password,
        }
    }
}

/// The administration use cases.
pub struct Administration<'a> {
    /// Accounts (shares storage, keys and settings).
    pub accounts: Staff<'a>,
}

impl Administration<'_> {
    fn may_manage(caller: &StaffGrant, role: StaffRole, place: Jurisdiction) -> bool {
        is_admin(caller.role())
            && rank(role) < rank(caller.role())
            && caller.jurisdiction().contains(place)
    }

    /// Creates an account within the caller's jurisdiction, for a role below theirs.
    pub async fn create_staff(
        &self,
        caller: &StaffGrant,
        username: &str,
        role: StaffRole,
        scope_id: Option<i64>,
    ) -> Result<Enrolment, AppError> {
        if !is_admin(caller.role()) {
            return Err(forbidden("Your role may not manage staff"));
        }
        let place = resolve_scope(self.accounts.store, role.scope_kind(), scope_id).await?;
        if !Self::may_manage(caller, role, place) {
            return Err(forbidden(
                "You may create only roles below yours, within your jurisdiction",
            ));
        }
        let enrolment = self.accounts.create_user(username, role, scope_id).await?;
        tracing::info!(by = %caller.staff_id(), staff_id = %enrolment.staff_id, %role, "staff account created");
        Ok(enrolment)
    }

    /// An account the caller may manage, by username; anything else is "no such account".
    async fn managed(&self, caller: &StaffGrant, username: &str) -> Result<StaffRow, AppError> {
        let row = self
            .accounts
            .store
            .staff_by_username(username.trim())
            .await?
            .ok_or_else(no_such_staff)?;
        let (role, place) = scope_of(&row)?;
        if !Self::may_manage(caller, role, place) {
            return Err(no_such_staff());
        }
        Ok(row)
    }

    /// The accounts within the caller's jurisdiction that the caller may manage.
    pub async fn list_staff(&self, caller: &StaffGrant) -> Result<Vec<StaffSummary>, AppError> {
        if !is_admin(caller.role()) {
            return Err(forbidden("Your role may not manage staff"));
        }
        let (state, district) = listing_filter(caller.jurisdiction());
        let rows = self.accounts.store.list_staff(state, district).await?;
        Ok(rows
            .iter()
            .filter(|r| {
                scope_of(r).is_ok_and(|(role, place)| Self::may_manage(caller, role, place))
            })
            .map(StaffSummary::from)
            .collect())
    }

    /// Disables (ending its sessions) or re-enables an account.
    pub async fn set_disabled(
        &self,
        caller: &StaffGrant,
        username: &str,
        disabled: bool,
    ) -> Result<(), AppError> {
        let row = self.managed(caller, username).await?;
        self.accounts
            .store
            .set_staff_disabled(row.staff_id, disabled)
            .await?;
        tracing::warn!(by = %caller.staff_id(), staff_id = %row.staff_id, disabled, "staff account disabled flag set");
        Ok(())
    }

    /// A new temporary password and authenticator enrolment; every session of the account ends.
    pub async fn reset(&self, caller: &StaffGrant, username: &str) -> Result<Enrolment, AppError> {
        let row = self.managed(caller, username).await?;
        let enrolment = self.accounts.reset_user(&row).await?;
        tracing::warn!(by = %caller.staff_id(), staff_id = %row.staff_id, "staff credentials reset");
        Ok(enrolment)
    }

    /// Lifts a lock after failed sign-ins and a suspension by anomaly detection (after review).
    pub async fn unlock(&self, caller: &StaffGrant, username: &str) -> Result<(), AppError> {
        let row = self.managed(caller, username).await?;
        if row.suspended && caller.role() == StaffRole::CentreAdmin {
            // The centre's own administrator may be part of what the signal caught.
            return Err(forbidden(
                "A suspension is reviewed and lifted by the district, state or national administrators",
            ));
        }
        self.accounts
            .store
            .reinstate_staff(row.staff_id, crate::clock::now_ms())
            .await?;
        tracing::warn!(by = %caller.staff_id(), staff_id = %row.staff_id, "staff account unlocked and reinstated");
        Ok(())
    }

    /// Alerts within the caller's jurisdiction, newest first.
    pub async fn alerts(&self, caller: &StaffGrant) -> Result<Vec<StaffAlert>, AppError> {
        if !matches!(
            caller.role(),
            StaffRole::DistrictAdmin | StaffRole::StateAdmin | StaffRole::NationalAdmin
        ) {
            return Err(forbidden(
                "Alerts are for district, state and national administrators",
            ));
        }
        let (state, district) = listing_filter(caller.jurisdiction());
        Ok(self
            .accounts
            .store
            .staff_alerts_within(state, district, 500)
            .await?)
    }

    /// Marks an alert within the caller's jurisdiction reviewed.
    pub async fn review_alert(&self, caller: &StaffGrant, alert_id: &str) -> Result<(), AppError> {
        let missing = || AppError::refused(Refusal::NotFound, NO_SUCH_STAFF, "No such alert");
        let id: Uuid = alert_id.trim().parse().map_err(|_| missing())?;
        if !self.alerts(caller).await?.iter().any(|a| a.alert_id == id) {
            return Err(missing());
        }
        self.accounts.store.review_staff_alert(id).await?;
        Ok(())
    }

    /// Whether a centre lies within the caller's jurisdiction (and exists).
    async fn centre_within(&self, caller: &StaffGrant, centre: i64) -> Result<(), AppError> {
        let missing = || AppError::NotFound("centre");
        let c = self
            .accounts
            .store
            .get_centre(CentreId(centre))
            .await?
            .ok_or_else(missing)?
            .centre;
        if !caller
            .jurisdiction()
            .covers_centre(c.id, c.district_id, c.state_id)
        {
            return Err(missing());
        }
        Ok(())
    }

    /// Adds a centre within the caller's district or state; its id.
    pub async fn add_centre(
        &self,
        caller: &StaffGrant,
        input: &FacilityInput,
    ) -> Result<i64, AppError> {
        if !matches!(
            caller.role(),
            StaffRole::DistrictAdmin | StaffRole::StateAdmin | StaffRole::NationalAdmin
        ) {
            return Err(forbidden(
                "Centres are added by district, state and national administrators",
            ));
        }
        let place = Jurisdiction::District(
            teeka_domain::DistrictId(input.district_id),
            teeka_domain::StateId(input.state_id),
        );
        if !caller.jurisdiction().contains(place) {
            return Err(forbidden("That district is outside your jurisdiction"));
        }
        let id = Facilities::new(self.accounts.store).add(input).await?;
        Ok(id.0)
    }

    /// A centre within the caller's jurisdiction.
    pub async fn centre(
        &self,
        caller: &StaffGrant,
        centre: i64,
    ) -> Result<teeka_store::CentreView, AppError> {
        self.centre_within(caller, centre).await?;
        self.accounts
            .store
            .get_centre(CentreId(centre))
            .await?
            .ok_or(AppError::NotFound("centre"))
    }

    /// Plans a session at a centre within the caller's jurisdiction; its id.
    pub async fn add_session(
        &self,
        caller: &StaffGrant,
        input: &SessionInput,
    ) -> Result<Uuid, AppError> {
        if !is_admin(caller.role()) {
            return Err(forbidden("Your role may not plan sessions"));
        }
        self.centre_within(caller, input.center_id).await?;
        Sessions::new(self.accounts.store)
            .add(input, today_in_india())
            .await
    }

    /// The sessions of the next 30 days at a centre within the caller's jurisdiction.
    pub async fn sessions(
        &self,
        caller: &StaffGrant,
        centre: i64,
    ) -> Result<Vec<teeka_store::SessionAvailability>, AppError> {
        self.centre_within(caller, centre).await?;
        let today = today_in_india();
        let found = self
            .accounts
            .store
            .find_sessions(&teeka_store::SessionQuery {
                scope: teeka_store::SessionScope::Centre(CentreId(centre)),
                from: today,
                until: today.plus_days(30),
                vaccine: None,
            })
            .await?;
        Ok(found.into_iter().flat_map(|c| c.sessions).collect())
    }

    /// Changes a session's online and on-site shares (never below what is booked or used).
    pub async fn set_capacity(
        &self,
        caller: &StaffGrant,
        session_id: &str,
        online: [u32; 3],
        onsite: [u32; 3],
    ) -> Result<(), AppError> {
        if !is_admin(caller.role()) {
            return Err(forbidden("Your role may not change capacity"));
        }
        let missing = || AppError::NotFound("session");
        let id: Uuid = session_id.trim().parse().map_err(|_| missing())?;
        let session = self
            .accounts
            .store
            .get_session(id)
            .await?
            .ok_or_else(missing)?;
        self.centre_within(caller, session.plan.centre_id.0).await?;
        let small = |v: u32| {
            i32::try_from(v)
                .ok()
                .filter(|v| v.unsigned_abs() <= teeka_domain::Capacity::MAX_SHARE)
                .ok_or_else(|| AppError::BadInput("a share is too large".into()))
        };
        let online = [small(online[0])?, small(online[1])?, small(online[2])?];
        let onsite = [small(onsite[0])?, small(onsite[1])?, small(onsite[2])?];
        if !self
            .accounts
            .store
            .set_session_capacity(id, online, onsite)
            .await?
        {
            return Err(AppError::BadInput(
                "an on-site share is below the walk-ins already registered".into(),
            ));
        }
        Ok(())
    }
}
