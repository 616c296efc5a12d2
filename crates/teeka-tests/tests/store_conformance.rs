//! The storage conformance suite: every storage method, the same assertions, on SQLite and on
//! PostgreSQL. A backend passes only if it behaves exactly like the other.

use teeka_domain::{
    AgeLimits, Capacity, Centre, CentreId, CowinDate, DistrictId, DoseShare, FeeType, OpeningHours,
    Pincode, SessionPlan, SlotBand, StateId, VaccineFee,
};
use teeka_store::{SessionQuery, SessionScope, StoreError};
use teeka_tests::{each_backend, fixture_json};

fn centre(id: i64, district: i32, state: i32, pin: u32, lat: f64, long: f64) -> Centre {
    Centre {
        id: CentreId(id),
        name: format!("Test Centre {id}"),
        address: "1 Hospital Road".into(),
        state_id: StateId(state),
        district_id: DistrictId(district),
        block_name: "Ward T".into(),
        pincode: Pincode::try_from(pin).expect("valid pin"),
        lat,
        long,
        fee_type: FeeType::Paid,
        fees: vec![VaccineFee {
            vaccine: "COVISHIELD".parse().expect("name"),
            fee: 780,
        }],
        hours: OpeningHours {
            from_minute: 570,
            to_minute: 960,
        },
    }
}

fn date(s: &str) -> CowinDate {
    s.parse().expect("valid date")
}

fn session(centre: i64, day: &str, vaccine: &str, dose1: u32, dose2: u32) -> SessionPlan {
    SessionPlan {
        id: uuid::Uuid::new_v4(),
        centre_id: CentreId(centre),
        date: date(day),
        vaccine: vaccine.parse().expect("name"),
        age: AgeLimits::new(18, Some(44)).expect("ages"),
        capacity: Capacity {
            dose1: DoseShare {
                online: dose1,
                onsite: 3,
            },
            dose2: DoseShare {
                online: dose2,
                onsite: 2,
            },
            precaution: DoseShare {
                online: 4,
                onsite: 1,
            },
        },
        slots: SlotBand::parse_list("09:30AM-10:30AM,10:30AM-11:30AM").expect("slots"),
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_master_data_is_loaded() {
    each_backend(|backend, store| async move {
        assert_eq!(
            store.migrate().await.expect("migrate again"),
            0,
            "{backend:?}: nothing left to apply"
        );
        teeka_app::master::prepare_store(&store)
            .await
            .expect("loading master data twice is harmless");
        let counts = store.counts().await.expect("counts");
        assert_eq!((counts.states, counts.districts), (37, 756), "{backend:?}");
        let vaccines = store.list_vaccines().await.expect("vaccines");
        let covishield = vaccines
            .iter()
            .find(|v| v.name.as_str() == "COVISHIELD")
            .expect("COVISHIELD");
        assert_eq!(covishield.min_interval_days, vec![84], "{backend:?}");
        assert_eq!(covishield.precaution_after_days, 182, "{backend:?}");
        for name in ["COVAXIN", "SPUTNIK V", "CORBEVAX", "COVOVAX"] {
            assert!(
                vaccines.iter().any(|v| v.name.as_str() == name),
                "{backend:?}: {name}"
            );
        }
        store.ping().await.expect("ping");
    })
    .await;
}

#[tokio::test]
async fn states_and_districts_match_cowin_ids_and_names() {
    let states_fixture = fixture_json("india/cowin_states.json");
    let maharashtra_fixture = fixture_json("cowin-api/districts_responses.json");
    let all_districts_fixture = fixture_json("india/cowin_districts.json");
    each_backend(|backend, store| {
        let (states_fixture, maharashtra_fixture, all_districts_fixture) = (
            states_fixture.clone(),
            maharashtra_fixture.clone(),
            all_districts_fixture.clone(),
        );
        async move {
            let states = store.list_states().await.expect("states");
            let expected: Vec<(i64, String)> = states_fixture["states"]
                .as_array()
                .expect("states array")
                .iter()
                .map(|s| {
                    (
                        s["state_id"].as_i64().expect("id"),
                        s["state_name"].as_str().expect("name").to_owned(),
                    )
                })
                .collect();
            let got: Vec<(i64, String)> = states
                .iter()
                .map(|s| (i64::from(s.id.0), s.name.clone()))
                .collect();
            assert_eq!(
                got, expected,
                "{backend:?}: same ids, names and CoWIN's order"
            );

            let maharashtra = store.list_districts(StateId(21)).await.expect("districts");
            let got: Vec<(i64, &str)> = maharashtra
                .iter()
                .map(|d| (i64::from(d.id.0), d.name.as_str()))
                .collect();
            let expected: Vec<(i64, &str)> = maharashtra_fixture["districts"]
                .as_array()
                .expect("districts")
                .iter()
                .map(|d| {
                    (
                        d["district_id"].as_i64().expect("id"),
                        d["district_name"].as_str().expect("name"),
                    )
                })
                .collect();
            assert_eq!(
                got, expected,
                "{backend:?}: same ids, names (with CoWIN's trailing space) and order"
            );

            let all = store.list_all_districts().await.expect("all districts");
            for d in all_districts_fixture.as_array().expect("array") {
                let id = d["district_id"].as_i64().expect("id") as i32;
                let ours = all
                    .iter()
                    .find(|x| x.id.0 == id)
                    .expect("every fixture district exists");
                assert_eq!(
                    ours.name,
                    d["district_name"].as_str().expect("name"),
                    "{backend:?}"
                );
                assert_eq!(
                    i64::from(ours.state_id.0),
                    d["state_id"].as_i64().expect("state"),
                    "{backend:?}"
                );
            }
            assert!(
                store
                    .list_districts(StateId(99))
                    .await
                    .expect("unknown state")
                    .is_empty()
            );
            assert!(
                store
                    .get_district(DistrictId(9999))
                    .await
                    .expect("lookup")
                    .is_none()
            );
        }
    })
    .await;
}

#[tokio::test]
async fn centres_round_trip_and_batches_are_all_or_nothing() {
    each_backend(|backend, store| async move {
        let mumbai = centre(724109, 395, 21, 400080, 19.1726, 72.9425);
        store
            .insert_centres(std::slice::from_ref(&mumbai))
            .await
            .expect("insert");
        let view = store
            .get_centre(mumbai.id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(view.centre, mumbai, "{backend:?}: every field round-trips");
        assert_eq!(
            (view.state_name.as_str(), view.district_name.as_str()),
            ("Maharashtra", "Mumbai")
        );

        let fresh = centre(800001, 395, 21, 400081, 19.0, 72.8);
        let err = store
            .insert_centres(&[fresh.clone(), mumbai.clone()])
            .await
            .expect_err("duplicate id refused");
        assert!(
            matches!(err, StoreError::Duplicate(_)),
            "{backend:?}: {err:?}"
        );
        assert!(
            store.get_centre(fresh.id).await.expect("get").is_none(),
            "{backend:?}: the batch rolled back"
        );

        let orphan = centre(800002, 9999, 21, 400082, 19.0, 72.8);
        let err = store
            .insert_centres(&[orphan])
            .await
            .expect_err("unknown district refused");
        assert!(
            matches!(err, StoreError::MissingReference(_)),
            "{backend:?}: {err:?}"
        );

        let next = store
            .insert_centre_with_next_id(&fresh)
            .await
            .expect("allocate");
        assert_eq!(next, CentreId(724110), "{backend:?}: max + 1");
        assert!(store.get_centre(next).await.expect("get").is_some());
        assert_eq!(store.get_centre(CentreId(1)).await.expect("get"), None);
    })
    .await;
}

#[tokio::test]
async fn concurrent_id_allocation_never_collides() {
    each_backend(|backend, store| async move {
        let template = centre(1, 395, 21, 400080, 19.0, 72.8);
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (store, c) = (store.clone(), template.clone());
                tokio::spawn(async move { store.insert_centre_with_next_id(&c).await })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.expect("task").expect("allocated").0);
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids, (1..=12).collect::<Vec<_>>(), "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn sessions_round_trip_and_queries_respect_scope_dates_and_vaccine() {
    each_backend(|backend, store| async move {
        let a = centre(100, 395, 21, 400080, 19.17, 72.94);
        let b = centre(200, 395, 21, 400081, 19.10, 72.90);
        let elsewhere = centre(300, 391, 21, 414001, 19.09, 74.74);
        store.insert_centres(&[b.clone(), a.clone(), elsewhere.clone()]).await.expect("centres");
        let s1 = session(100, "24-09-2031", "COVISHIELD", 8, 63);
        let s2 = session(100, "25-09-2031", "COVAXIN", 30, 41);
        let s3 = session(200, "24-09-2031", "COVISHIELD", 1, 0);
        let late = session(100, "01-10-2031", "COVISHIELD", 5, 5);
        let other = session(300, "24-09-2031", "COVISHIELD", 9, 9);
        store
            .insert_sessions(&[s1.clone(), s2.clone(), s3.clone(), late.clone(), other.clone()])
            .await
            .expect("sessions");

        let got = store.get_session(s1.id).await.expect("get").expect("exists");
        assert_eq!(got.plan, s1, "{backend:?}: every field round-trips");
        assert_eq!((got.available.dose1, got.available.dose2, got.available.precaution), (8, 63, 4));

        let week = |scope: SessionScope, vaccine: Option<&str>| SessionQuery {
            scope,
            from: date("24-09-2031"),
            until: date("01-10-2031"),
            vaccine: vaccine.map(|v| v.parse().expect("name")),
        };
        let district = store.find_sessions(&week(SessionScope::District(DistrictId(395)), None)).await.expect("find");
        let shape: Vec<(i64, Vec<uuid::Uuid>)> = district
            .iter()
            .map(|c| (c.centre.centre.id.0, c.sessions.iter().map(|s| s.plan.id).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![(100, vec![s1.id, s2.id]), (200, vec![s3.id])],
            "{backend:?}: grouped by centre, by date, the end day excluded, other districts excluded"
        );
        assert_eq!(district[0].centre.centre, a);

        let covaxin = store
            .find_sessions(&week(SessionScope::District(DistrictId(395)), Some("COVAXIN")))
            .await
            .expect("find");
        assert_eq!(covaxin.len(), 1);
        assert_eq!(covaxin[0].sessions.len(), 1);
        assert_eq!(covaxin[0].sessions[0].plan.id, s2.id, "{backend:?}: vaccine filter");

        let by_pin = store
            .find_sessions(&week(SessionScope::Pincode(Pincode::try_from(400081).expect("pin")), None))
            .await
            .expect("find");
        assert_eq!(by_pin.len(), 1);
        assert_eq!(by_pin[0].centre.centre.id, CentreId(200), "{backend:?}");

        let by_centre = store.find_sessions(&week(SessionScope::Centre(CentreId(300)), None)).await.expect("find");
        assert_eq!(by_centre[0].sessions[0].plan.id, other.id, "{backend:?}");

        let empty = store.find_sessions(&week(SessionScope::District(DistrictId(9999)), None)).await.expect("find");
        assert!(empty.is_empty(), "{backend:?}: unknown district is an empty answer, not an error");
        assert_eq!(store.get_session(uuid::Uuid::new_v4()).await.expect("get"), None);
    })
    .await;
}

#[tokio::test]
async fn bad_sessions_are_refused_whole() {
    each_backend(|backend, store| async move {
        store
            .insert_centres(&[centre(100, 395, 21, 400080, 19.1, 72.9)])
            .await
            .expect("centre");
        let good = session(100, "24-09-2031", "COVISHIELD", 1, 1);
        let unknown_centre = session(999, "24-09-2031", "COVISHIELD", 1, 1);
        let err = store
            .insert_sessions(&[good.clone(), unknown_centre])
            .await
            .expect_err("refused");
        assert!(
            matches!(err, StoreError::MissingReference(_)),
            "{backend:?}: {err:?}"
        );
        let unknown_vaccine = session(100, "24-09-2031", "NOVAVAX X", 1, 1);
        let err = store
            .insert_sessions(&[good.clone(), unknown_vaccine])
            .await
            .expect_err("refused");
        assert!(
            matches!(err, StoreError::MissingReference(_)),
            "{backend:?}: {err:?}"
        );
        assert_eq!(
            store.counts().await.expect("counts").sessions,
            0,
            "{backend:?}: nothing half-written"
        );
        let err = store
            .insert_sessions(&[good.clone(), good.clone()])
            .await
            .expect_err("duplicate id");
        assert!(
            matches!(err, StoreError::Duplicate(_)),
            "{backend:?}: {err:?}"
        );
        assert_eq!(
            store.counts().await.expect("counts").sessions,
            0,
            "{backend:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn centres_in_a_box_and_pincodes() {
    each_backend(|backend, store| async move {
        store
            .insert_centres(&[
                centre(1, 395, 21, 400021, 18.9256, 72.8242),
                centre(2, 395, 21, 400001, 18.9273, 72.8269),
                centre(3, 391, 21, 414001, 19.0948, 74.7480),
            ])
            .await
            .expect("centres");
        store
            .upsert_pincodes(&[(Pincode::try_from(400099).expect("pin"), DistrictId(395))])
            .await
            .expect("pincodes");
        let near = store
            .centres_in_box(18.93, 72.82, 0.1, 10)
            .await
            .expect("box");
        let ids: Vec<i64> = near.iter().map(|c| c.centre.id.0).collect();
        assert_eq!(ids, vec![1, 2], "{backend:?}");
        assert!(
            store
                .centres_in_box(28.6, 77.2, 0.1, 10)
                .await
                .expect("box")
                .is_empty()
        );
        assert_eq!(
            store
                .centres_in_box(18.93, 72.82, 5.0, 1)
                .await
                .expect("box")
                .len(),
            1,
            "limit holds"
        );
    })
    .await;
}

#[tokio::test]
async fn availability_counters_move_on_commit_and_not_on_rollback() {
    each_backend(|backend, store| async move {
        let counter = |all: Vec<(DistrictId, i64)>, d: i32| {
            all.iter().find(|(id, _)| id.0 == d).map_or(0, |(_, c)| *c)
        };
        let before = store.availability_changes().await.expect("counters");
        store
            .insert_centres(&[centre(100, 395, 21, 400080, 19.1, 72.9)])
            .await
            .expect("centre");
        let after_centre = store.availability_changes().await.expect("counters");
        assert_eq!(
            counter(after_centre.clone(), 395),
            counter(before.clone(), 395) + 1,
            "{backend:?}: a centre bumps its district"
        );
        assert_eq!(
            counter(after_centre.clone(), 391),
            counter(before, 391),
            "{backend:?}: others untouched"
        );

        let good = session(100, "24-09-2031", "COVISHIELD", 1, 1);
        let bad = session(100, "24-09-2031", "NO SUCH VACCINE", 1, 1);
        store
            .insert_sessions(&[good.clone(), bad])
            .await
            .expect_err("refused");
        assert_eq!(
            store.availability_changes().await.expect("counters"),
            after_centre,
            "{backend:?}: a rolled-back batch bumps nothing"
        );
        store.insert_sessions(&[good]).await.expect("session");
        let after_session = store.availability_changes().await.expect("counters");
        assert_eq!(
            counter(after_session, 395),
            counter(after_centre, 395) + 1,
            "{backend:?}"
        );

        // Reloading unchanged master data bumps nothing; a renamed district bumps every district.
        let settled = store.availability_changes().await.expect("counters");
        teeka_app::master::prepare_store(&store)
            .await
            .expect("reload");
        assert_eq!(
            store.availability_changes().await.expect("counters"),
            settled,
            "{backend:?}: nothing changed"
        );
        let mut renamed = store
            .get_district(DistrictId(395))
            .await
            .expect("get")
            .expect("exists");
        renamed.name = "Mumbai City".into();
        store.upsert_districts(&[renamed]).await.expect("rename");
        let bumped = store.availability_changes().await.expect("counters");
        assert_eq!(
            counter(bumped.clone(), 395),
            counter(settled.clone(), 395) + 1,
            "{backend:?}"
        );
        assert_eq!(
            counter(bumped, 1),
            counter(settled, 1) + 1,
            "{backend:?}: names are in every answer"
        );
    })
    .await;
}

#[tokio::test]
async fn master_data_upserts_update_in_place() {
    each_backend(|backend, store| async move {
        let mut vaccine = store.list_vaccines().await.expect("vaccines").remove(0);
        vaccine.manufacturer = "Changed Manufacturer".into();
        store
            .upsert_vaccines(std::slice::from_ref(&vaccine))
            .await
            .expect("upsert");
        let again = store.list_vaccines().await.expect("vaccines");
        assert!(again.contains(&vaccine), "{backend:?}");
        assert_eq!(again.len(), 6, "{backend:?}: updated, not duplicated");
    })
    .await;
}

#[tokio::test]
async fn access_events_are_append_only_in_the_database() {
    for backend in teeka_tests::backends() {
        let db = teeka_tests::TestDb::new(backend).await;
        let store = teeka_tests::prepared_store(&db).await;
        teeka_tests::raw_execute(
            &db,
            "INSERT INTO access_events (seq, at, actor_kind, actor_id, role, action, purpose, request_id) \
             VALUES (1, 0, 'system', 'test', 'test', 'test.event', 'test', 'r1')",
        )
        .await;
        for tamper in [
            "UPDATE access_events SET action = 'edited'",
            "DELETE FROM access_events",
        ] {
            let refused = teeka_tests::raw_try_execute(&db, tamper).await;
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("append-only")),
                "{backend:?}: {tamper} must be refused, got {refused:?}"
            );
        }
        let events = store.access_events(0, 10).await.expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].event.action, "test.event",
            "{backend:?}: untouched"
        );
        store.close().await;
    }
}
