//! The public CoWIN v2 API over real HTTP, on both backends: answers compared field by field with
//! CoWIN's own captures in `../shared/fixtures/cowin-api`, the error shapes, the per-IP limit,
//! the cache's staleness bound, and the operations endpoints.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use teeka_domain::{
    AgeLimits, Capacity, Centre, CentreId, DistrictId, DoseShare, FeeType, OpeningHours, Pincode,
    SessionPlan, SlotBand, StateId, VaccineFee,
};
use teeka_store::Store;
use teeka_tests::{TestApp, each_backend, fixture_json, spawn_app};
use teeka_web::WebConfig;
use teeka_web::config::RateLimit;

fn no_limits() -> WebConfig {
    WebConfig {
        public_rate_limit: None,
        ..WebConfig::default()
    }
}

fn body(response: &teeka_loadgen::HttpResponse) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

/// The JSON type of every field, recursively: what "same shape" means.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Number(n) if n.is_f64() => json!("float"),
        Value::Number(_) => json!("integer"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

fn district_of(name: &str, state: &str) -> (i32, i32) {
    let all = fixture_json("india/cowin_districts.json");
    let d = all
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["district_name"] == name && d["state_name"] == state)
        .unwrap_or_else(|| panic!("district {name} in {state}"));
    (
        d["district_id"].as_i64().expect("id") as i32,
        d["state_id"].as_i64().expect("id") as i32,
    )
}

/// Loads the real `calendarByPin` capture (3 Mulund centres) into the store, exactly.
async fn load_pincode_capture(store: &Store) -> Value {
    let capture = fixture_json("cowin-api/availability_by_pincode_responses.json");
    let mut centres = Vec::new();
    let mut sessions = Vec::new();
    for (i, c) in capture["centers"]
        .as_array()
        .expect("centers")
        .iter()
        .enumerate()
    {
        let (district, state) = district_of("Mumbai", "Maharashtra");
        let hours = OpeningHours::parse(
            c["from"].as_str().expect("from"),
            c["to"].as_str().expect("to"),
        )
        .expect("hours");
        let id = CentreId(c["center_id"].as_i64().expect("id"));
        centres.push(Centre {
            id,
            name: c["name"].as_str().expect("name").into(),
            address: c["address"].as_str().expect("address").into(),
            state_id: StateId(state),
            district_id: DistrictId(district),
            block_name: c["block_name"].as_str().expect("block").into(),
            pincode: Pincode::try_from(c["pincode"].as_u64().expect("pin") as u32).expect("pin"),
            // The capture shows whole degrees; real centres have fractions, which CoWIN truncated.
            lat: c["lat"].as_f64().expect("lat") + 0.1 + i as f64 * 0.01,
            long: c["long"].as_f64().expect("long") + 0.9,
            fee_type: c["fee_type"]
                .as_str()
                .expect("fee type")
                .parse()
                .expect("fee type"),
            fees: c["vaccine_fees"]
                .as_array()
                .map(|fees| {
                    fees.iter()
                        .map(|f| VaccineFee {
                            vaccine: f["vaccine"]
                                .as_str()
                                .expect("vaccine")
                                .parse()
                                .expect("vaccine"),
                            fee: f["fee"].as_str().expect("fee").parse().expect("fee"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            hours,
        });
        for s in c["sessions"].as_array().expect("sessions") {
            let min_age = s["min_age_limit"].as_u64().expect("age") as u8;
            let max_age = s["max_age_limit"].as_u64().map(|m| m as u8);
            let age = AgeLimits::new(min_age, max_age).expect("age");
            assert_eq!(
                Value::Bool(age.allow_all_age),
                s["allow_all_age"],
                "our allow_all_age rule matches CoWIN's"
            );
            sessions.push(SessionPlan {
                id: s["session_id"].as_str().expect("id").parse().expect("uuid"),
                centre_id: id,
                date: s["date"].as_str().expect("date").parse().expect("date"),
                vaccine: s["vaccine"]
                    .as_str()
                    .expect("vaccine")
                    .parse()
                    .expect("vaccine"),
                age,
                capacity: Capacity {
                    dose1: DoseShare {
                        online: s["available_capacity_dose1"].as_u64().expect("d1") as u32,
                        onsite: 5,
                    },
                    dose2: DoseShare {
                        online: s["available_capacity_dose2"].as_u64().expect("d2") as u32,
                        onsite: 5,
                    },
                    precaution: DoseShare::default(),
                },
                slots: s["slots"]
                    .as_array()
                    .expect("slots")
                    .iter()
                    .map(|x| x.as_str().expect("slot").parse::<SlotBand>().expect("slot"))
                    .collect(),
            });
        }
    }
    store.insert_centres(&centres).await.expect("centres");
    store.insert_sessions(&sessions).await.expect("sessions");
    capture
}

/// Centres keyed by id, each with its sessions keyed by id: order-free comparison.
fn by_id(centres: &Value) -> BTreeMap<i64, Value> {
    centres
        .as_array()
        .expect("centers array")
        .iter()
        .map(|c| {
            let mut c = c.clone();
            let sessions: BTreeMap<String, Value> = c["sessions"]
                .as_array()
                .expect("sessions")
                .iter()
                .map(|s| (s["session_id"].as_str().expect("id").to_owned(), s.clone()))
                .collect();
            c["sessions"] = serde_json::to_value(sessions).expect("json");
            (c["center_id"].as_i64().expect("id"), c)
        })
        .collect()
}

#[tokio::test]
async fn states_and_districts_are_cowins_answers_byte_for_byte() {
    each_backend(|backend, store| async move {
        let app = spawn_app(store, no_limits()).await;
        let states = app.get("/api/v2/admin/location/states", &[]).await;
        assert_eq!(states.status, 200);
        assert_eq!(
            body(&states),
            fixture_json("cowin-api/states_responses.json"),
            "{backend:?}"
        );
        let districts = app.get("/api/v2/admin/location/districts/21", &[]).await;
        assert_eq!(
            body(&districts),
            fixture_json("cowin-api/districts_responses.json"),
            "{backend:?}"
        );
        let none = app.get("/api/v2/admin/location/districts/99", &[]).await;
        assert_eq!(
            body(&none),
            json!({"districts": [], "ttl": 24}),
            "{backend:?}: unknown state, empty list"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn calendar_by_pin_reproduces_cowins_capture_field_by_field() {
    each_backend(|backend, store| async move {
        let capture = load_pincode_capture(&store).await;
        let app = spawn_app(store, no_limits()).await;
        let response = app.get("/api/v2/appointment/sessions/public/calendarByPin?pincode=400080&date=24-09-2021", &[]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let ours = body(&response);
        assert_eq!(shape(&ours), shape(&capture), "{backend:?}: same fields, nesting and JSON types");
        assert_eq!(by_id(&ours["centers"]), by_id(&capture["centers"]), "{backend:?}: same values");
        for c in ours["centers"].as_array().expect("centers") {
            let dates: Vec<String> = c["sessions"]
                .as_array()
                .expect("sessions")
                .iter()
                .map(|s| {
                    let d = s["date"].as_str().expect("date");
                    format!("{}{}{}", &d[6..], &d[3..5], &d[..2])
                })
                .collect();
            assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{backend:?}: sessions in date order");
        }

        // One centre, one object (calendarByCenter), and the flat findByPin answer.
        let one = body(&app.get("/api/v2/appointment/sessions/public/calendarByCenter?center_id=729363&date=24-09-2021", &[]).await);
        let expected = capture["centers"].as_array().expect("centers").iter().find(|c| c["center_id"] == 729363).expect("centre");
        assert!(one["centers"].is_object(), "{backend:?}: an object, not a list");
        assert_eq!(by_id(&json!([one["centers"].clone()])), by_id(&json!([expected.clone()])), "{backend:?}");
        let empty = body(&app.get("/api/v2/appointment/sessions/public/calendarByCenter?center_id=1&date=24-09-2021", &[]).await);
        assert_eq!(empty, json!({}), "{backend:?}");

        let flat = body(&app.get("/api/v2/appointment/sessions/public/findByPin?pincode=400080&date=24-09-2021", &[]).await);
        let sessions = flat["sessions"].as_array().expect("sessions");
        let capture_that_day: usize = capture["centers"]
            .as_array()
            .expect("centers")
            .iter()
            .map(|c| c["sessions"].as_array().expect("s").iter().filter(|s| s["date"] == "24-09-2021").count())
            .sum();
        assert_eq!(sessions.len(), capture_that_day, "{backend:?}: one day only");
        let s = sessions.iter().find(|s| s["session_id"] == "53483c08-6e78-4fd8-a0a9-99c5b9438842").expect("session");
        assert_eq!(
            shape(s),
            shape(&json!({
                "center_id": 1, "name": "", "address": "", "state_name": "", "district_name": "", "block_name": "",
                "pincode": 1, "from": "", "to": "", "lat": 1, "long": 1, "fee_type": "", "session_id": "", "date": "",
                "available_capacity_dose1": 1, "available_capacity_dose2": 1, "available_capacity": 1, "fee": "",
                "min_age_limit": 1, "allow_all_age": true, "vaccine": "", "slots": [""]
            })),
            "{backend:?}: CoWIN's flat session shape"
        );
        assert_eq!((s["fee"].as_str(), s["available_capacity"].as_i64()), (Some("780"), Some(71)));
        assert_eq!((s["lat"].as_i64(), s["pincode"].as_i64()), (Some(19), Some(400080)), "{backend:?}");

        let covaxin = body(&app.get("/api/v2/appointment/sessions/public/calendarByPin?pincode=400080&date=24-09-2021&vaccine=COVAXIN", &[]).await);
        for c in covaxin["centers"].as_array().expect("centers") {
            for s in c["sessions"].as_array().expect("sessions") {
                assert_eq!(s["vaccine"], "COVAXIN", "{backend:?}: vaccine filter");
            }
        }
        assert!(!covaxin["centers"].as_array().expect("centers").is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn calendar_by_district_answers_the_upstream_filter_expectations() {
    // The synthetic capture and the counts its upstream tests expect from client-side filters.
    let capture = fixture_json("cowin-api/availability_by_district_responses.json");
    each_backend(|backend, store| {
        let capture = capture.clone();
        async move {
            let mut centres = Vec::new();
            let mut sessions = Vec::new();
            for c in capture["centers"].as_array().expect("centers") {
                let id = c["center_id"].as_i64().expect("id") + 9_000_000;
                let paid = c["fee_type"] == "Paid";
                centres.push(Centre {
                    id: CentreId(id),
                    name: c["name"].as_str().expect("name").into(),
                    address: "Ward 1".into(),
                    state_id: StateId(21),
                    district_id: DistrictId(395),
                    block_name: "Ward 1".into(),
                    pincode: Pincode::try_from(400001).expect("pin"),
                    lat: 19.07,
                    long: 72.87,
                    fee_type: if paid { FeeType::Paid } else { FeeType::Free },
                    fees: Vec::new(),
                    hours: OpeningHours { from_minute: 540, to_minute: 1020 },
                });
                for s in c["sessions"].as_array().expect("sessions") {
                    sessions.push(SessionPlan {
                        id: uuid::Uuid::new_v4(),
                        centre_id: CentreId(id),
                        date: s["date"].as_str().expect("date").parse().expect("date"),
                        vaccine: s["vaccine"].as_str().expect("vaccine").parse().expect("vaccine"),
                        age: AgeLimits::new(s["min_age_limit"].as_u64().expect("age") as u8, None).expect("age"),
                        capacity: Capacity {
                            dose1: DoseShare { online: s["available_capacity_dose1"].as_u64().expect("d1") as u32, onsite: 1 },
                            dose2: DoseShare { online: s["available_capacity_dose2"].as_u64().expect("d2") as u32, onsite: 1 },
                            precaution: DoseShare::default(),
                        },
                        slots: vec!["09:00AM-11:00AM".parse().expect("slot")],
                    });
                }
            }
            store.insert_centres(&centres).await.expect("centres");
            store.insert_sessions(&sessions).await.expect("sessions");
            let app = spawn_app(store, no_limits()).await;
            let ours = body(&app.get("/api/v2/appointment/sessions/public/calendarByDistrict?district_id=395&date=08-05-2021", &[]).await);
            let centers = ours["centers"].as_array().expect("centers").clone();
            // Every field the capture has, we have, with the same JSON type.
            let (ours_c, theirs_c) = (&centers[0], &capture["centers"][0]);
            for (k, v) in theirs_c.as_object().expect("object") {
                if k != "sessions" {
                    assert_eq!(shape(&ours_c[k]), shape(v), "{backend:?}: centre field {k}");
                }
            }
            for (k, v) in theirs_c["sessions"][0].as_object().expect("object") {
                assert_eq!(shape(&ours_c["sessions"][0][k]), shape(v), "{backend:?}: session field {k}");
            }
            let count = |keep: &dyn Fn(&Value, &Value) -> bool| -> (usize, usize) {
                let mut cs = 0;
                let mut ss = 0;
                for c in &centers {
                    let n = c["sessions"].as_array().expect("s").iter().filter(|s| keep(c, s)).count();
                    if n > 0 {
                        cs += 1;
                        ss += n;
                    }
                }
                (cs, ss)
            };
            assert_eq!(count(&|_, _| true), (4, 12), "{backend:?}: no filter");
            assert_eq!(count(&|_, s| s["min_age_limit"] == 45), (3, 5), "{backend:?}: min_age_limit 45");
            assert_eq!(count(&|c, _| c["fee_type"] == "Free"), (2, 7), "{backend:?}: Free");
            assert_eq!(count(&|c, _| c["fee_type"] == "Paid"), (2, 5), "{backend:?}: Paid");
            assert_eq!(count(&|_, s| s["available_capacity"].as_i64() > Some(20)), (2, 6), "{backend:?}: capacity > 20");
            assert_eq!(count(&|_, s| s["available_capacity_dose1"].as_i64() > Some(10)), (2, 5), "{backend:?}: dose1 > 10");
            // Upstream's dose-2 expectation (2 centres / 7 sessions) holds only with an inclusive bound.
            assert_eq!(count(&|_, s| s["available_capacity_dose2"].as_i64() >= Some(10)), (2, 7), "{backend:?}: dose2 >= 10");
            for c in &centers {
                for s in c["sessions"].as_array().expect("s") {
                    assert_eq!(
                        s["available_capacity"].as_i64(),
                        Some(s["available_capacity_dose1"].as_i64().expect("d1") + s["available_capacity_dose2"].as_i64().expect("d2")),
                        "{backend:?}: available_capacity = dose 1 + dose 2"
                    );
                }
            }
            let flat = body(&app.get("/api/v2/appointment/sessions/public/findByDistrict?district_id=395&date=09-05-2021", &[]).await);
            assert_eq!(flat["sessions"].as_array().expect("sessions").len(), 8, "{backend:?}: the 09-05 sessions only");
            app.stop().await;
        }
    })
    .await;
}

#[tokio::test]
async fn find_by_lat_long_returns_the_captured_centres_with_cowins_string_types() {
    let capture = fixture_json("cowin-api/centers_by_lat_long_responses.json");
    each_backend(|backend, store| {
        let capture = capture.clone();
        async move {
            let mut centres = Vec::new();
            for c in capture["centers"].as_array().expect("centers") {
                let (district, state) = district_of(
                    c["district_name"].as_str().expect("district"),
                    c["state_name"].as_str().expect("state"),
                );
                centres.push(Centre {
                    id: CentreId(c["center_id"].as_i64().expect("id")),
                    name: c["name"].as_str().expect("name").into(),
                    address: c["location"].as_str().expect("location").into(),
                    state_id: StateId(state),
                    district_id: DistrictId(district),
                    block_name: c["block_name"].as_str().expect("block").into(),
                    pincode: c["pincode"].as_str().expect("pin").parse().expect("pin"),
                    lat: c["lat"].as_str().expect("lat").parse().expect("lat"),
                    long: c["long"].as_str().expect("long").parse().expect("long"),
                    fee_type: FeeType::Free,
                    fees: Vec::new(),
                    hours: OpeningHours {
                        from_minute: 540,
                        to_minute: 1020,
                    },
                });
            }
            store.insert_centres(&centres).await.expect("centres");
            let app = spawn_app(store, no_limits()).await;
            let ours = body(
                &app.get(
                    "/api/v2/appointment/centers/public/findByLatLong?lat=18.93&long=72.82",
                    &[],
                )
                .await,
            );
            assert_eq!(
                shape(&ours),
                shape(&capture),
                "{backend:?}: strings for pincode, lat, long; ttl"
            );
            let index = |v: &Value| -> BTreeMap<i64, Value> {
                v["centers"]
                    .as_array()
                    .expect("centers")
                    .iter()
                    .map(|c| (c["center_id"].as_i64().expect("id"), c.clone()))
                    .collect()
            };
            assert_eq!(
                index(&ours),
                index(&capture),
                "{backend:?}: the same 100 centres, field for field"
            );
            let distances: Vec<f64> = ours["centers"]
                .as_array()
                .expect("centers")
                .iter()
                .map(|c| {
                    let lat: f64 = c["lat"].as_str().expect("lat").parse().expect("lat");
                    let long: f64 = c["long"].as_str().expect("long").parse().expect("long");
                    teeka_app::availability::haversine_km(18.93, 72.82, lat, long)
                })
                .collect();
            assert!(
                distances.windows(2).all(|w| w[0] <= w[1] + 1e-9),
                "{backend:?}: nearest first, by great-circle distance"
            );
            let nowhere = body(
                &app.get(
                    "/api/v2/appointment/centers/public/findByLatLong?lat=28.6&long=77.2",
                    &[],
                )
                .await,
            );
            assert_eq!(nowhere, json!({"centers": [], "ttl": 24}), "{backend:?}");
            app.stop().await;
        }
    })
    .await;
}

async fn expect_error(app: &TestApp, path: &str, status: u16, code: &str) {
    let r = app.get(path, &[]).await;
    assert_eq!(r.status.as_u16(), status, "{path}: {}", r.text());
    let b = body(&r);
    assert_eq!(b["errorCode"], code, "{path}: {b}");
    assert!(
        b["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{path}: a message"
    );
    assert_eq!(
        b.as_object().expect("object").len(),
        2,
        "{path}: exactly errorCode and error"
    );
}

#[tokio::test]
async fn bad_input_gets_cowins_error_shape_and_unknown_places_get_empty_lists() {
    each_backend(|backend, store| async move {
        let app = spawn_app(store, no_limits()).await;
        let base = "/api/v2/appointment/sessions/public";
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?date=01-01-2031"),
            400,
            "USRRES0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?districtid=395&date=01-01-2031"),
            400,
            "USRRES0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?district_id=395"),
            400,
            "USRRES0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?district_id=395&date=2031-01-01"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?district_id=395&date=31-02-2031"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?district_id=abc&date=01-01-2031"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByDistrict?district_id=99999999999999999999&date=01-01-2031"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/findByPin?pincode=40008&date=01-01-2031"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/findByPin?pincode=%ZZ&date=01-01-2031"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByPin?pincode=400080&date=01-01-2031&vaccine=%3Cscript%3E"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            &format!("{base}/calendarByCenter?center_id=-1&date=01-01-2031"),
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            "/api/v2/appointment/centers/public/findByLatLong?lat=91&long=72",
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            "/api/v2/appointment/centers/public/findByLatLong?lat=NaN&long=72",
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            "/api/v2/appointment/centers/public/findByLatLong?lat=18.9",
            400,
            "USRRES0001",
        )
        .await;
        expect_error(
            &app,
            "/api/v2/admin/location/districts/abc",
            400,
            "TKAREQ0001",
        )
        .await;
        expect_error(
            &app,
            "/api/v2/appointment/beneficiaries/findByMobile",
            410,
            "TKAREQ0410",
        )
        .await;
        let post = app
            .send(http::Method::POST, "/api/v2/admin/location/states", None)
            .await;
        assert_eq!(post.status.as_u16(), 405, "{backend:?}");
        assert_eq!(body(&post)["errorCode"], "TKAREQ0404");

        let empty = body(
            &app.get(
                &format!("{base}/calendarByDistrict?district_id=9999&date=01-01-2031"),
                &[],
            )
            .await,
        );
        assert_eq!(empty, json!({"centers": []}), "{backend:?}");
        let empty = body(
            &app.get(
                &format!("{base}/findByPin?pincode=999999&date=01-01-2031"),
                &[],
            )
            .await,
        );
        assert_eq!(empty, json!({"sessions": []}), "{backend:?}");
        let elsewhere = app.get("/no/such/thing", &[]).await;
        assert_eq!(elsewhere.status.as_u16(), 404);
        assert_eq!(
            body(&elsewhere)["code"],
            "TKAREQ0404",
            "{backend:?}: our own shape off the CoWIN routes"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_hundred_and_first_request_in_five_minutes_gets_429() {
    each_backend(|backend, store| async move {
        let app = spawn_app(store.clone(), WebConfig::default()).await;
        for i in 0..100 {
            let r = app.get("/api/v2/admin/location/states", &[]).await;
            assert_eq!(r.status.as_u16(), 200, "{backend:?}: request {}", i + 1);
        }
        let r = app.get("/api/v2/admin/location/states", &[]).await;
        assert_eq!(r.status.as_u16(), 429, "{backend:?}");
        assert_eq!(body(&r), json!({"error": "Too Many Requests"}));
        assert!(r.header("retry-after").is_some());
        // Spoofing X-Forwarded-For from an untrusted peer does not open a new bucket.
        let spoofed = app
            .get(
                "/api/v2/admin/location/states",
                &[("x-forwarded-for", "203.0.113.50")],
            )
            .await;
        assert_eq!(spoofed.status.as_u16(), 429, "{backend:?}");
        // Operations endpoints are not behind the public limit.
        assert_eq!(app.get("/healthz", &[]).await.status.as_u16(), 200);
        app.stop().await;

        // Behind a trusted proxy, each forwarded client has its own bucket.
        let config = WebConfig {
            public_rate_limit: Some(RateLimit {
                requests: 2,
                window: Duration::from_secs(300),
            }),
            trusted_proxies: vec!["127.0.0.1".parse().expect("ip")],
            ..WebConfig::default()
        };
        let app = spawn_app(store, config).await;
        for _ in 0..2 {
            let r = app
                .get(
                    "/api/v2/admin/location/states",
                    &[("x-forwarded-for", "203.0.113.1")],
                )
                .await;
            assert_eq!(r.status.as_u16(), 200);
        }
        let r = app
            .get(
                "/api/v2/admin/location/states",
                &[("x-forwarded-for", "203.0.113.1")],
            )
            .await;
        assert_eq!(r.status.as_u16(), 429, "{backend:?}");
        let r = app
            .get(
                "/api/v2/admin/location/states",
                &[("x-forwarded-for", "203.0.113.2")],
            )
            .await;
        assert_eq!(
            r.status.as_u16(),
            200,
            "{backend:?}: another client behind the proxy"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn new_sessions_appear_within_the_cache_staleness_bound() {
    each_backend(|backend, store| async move {
        let bound = Duration::from_secs(1);
        let config = WebConfig {
            cache_staleness: bound,
            public_rate_limit: None,
            ..WebConfig::default()
        };
        let app = spawn_app(store.clone(), config).await;
        let centre = Centre {
            id: CentreId(555),
            name: "Cache Test".into(),
            address: String::new(),
            state_id: StateId(21),
            district_id: DistrictId(395),
            block_name: "Ward".into(),
            pincode: Pincode::try_from(400555).expect("pin"),
            lat: 19.0,
            long: 72.8,
            fee_type: FeeType::Free,
            fees: Vec::new(),
            hours: OpeningHours {
                from_minute: 540,
                to_minute: 1020,
            },
        };
        store.insert_centres(&[centre]).await.expect("centre");
        // Near dates, which the cache holds (far ones are answered fresh each time).
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let path = format!(
            "/api/v2/appointment/sessions/public/calendarByDistrict?district_id=395&date={tomorrow}"
        );
        let path = path.as_str();
        assert_eq!(body(&app.get(path, &[]).await), json!({"centers": []}));
        let plan = SessionPlan {
            id: uuid::Uuid::new_v4(),
            centre_id: CentreId(555),
            date: tomorrow.plus_days(1),
            vaccine: "COVAXIN".parse().expect("vaccine"),
            age: AgeLimits::new(18, None).expect("age"),
            capacity: Capacity {
                dose1: DoseShare {
                    online: 10,
                    onsite: 0,
                },
                ..Capacity::default()
            },
            slots: vec!["09:00AM-11:00AM".parse().expect("slot")],
        };
        store
            .insert_sessions(std::slice::from_ref(&plan))
            .await
            .expect("session");
        tokio::time::sleep(bound + Duration::from_millis(100)).await;
        let after = body(&app.get(path, &[]).await);
        assert_eq!(
            after["centers"][0]["sessions"][0]["session_id"],
            plan.id.to_string(),
            "{backend:?}"
        );
        assert_eq!(after["centers"][0]["sessions"][0]["available_capacity"], 10);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn operations_endpoints_request_ids_and_security_headers() {
    each_backend(|backend, store| async move {
        let app = spawn_app(store, no_limits()).await;
        let health = app.get("/healthz", &[]).await;
        assert_eq!(
            (health.status.as_u16(), body(&health)),
            (200, json!({"status": "ok"}))
        );
        let ready = app.get("/readyz", &[]).await;
        assert_eq!(ready.status.as_u16(), 200);
        let expected = if backend == teeka_tests::Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        };
        assert_eq!(body(&ready)["database"], expected);

        let r = app.get("/api/v2/admin/location/states", &[]).await;
        let id = r.header("x-request-id").expect("request id").to_owned();
        assert!(!id.is_empty());
        assert_ne!(
            app.get("/api/v2/admin/location/states", &[])
                .await
                .header("x-request-id"),
            Some(id.as_str())
        );
        let echoed = app
            .get("/healthz", &[("x-request-id", "client-abc-123")])
            .await;
        assert_ne!(
            echoed.header("x-request-id"),
            Some("client-abc-123"),
            "ids go on the access ledger, so clients never choose them"
        );
        let hostile = app
            .get("/healthz", &[("x-request-id", "x\" injected=\"1")])
            .await;
        assert_ne!(
            hostile.header("x-request-id"),
            Some("x\" injected=\"1"),
            "a hostile one is replaced"
        );
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ] {
            assert_eq!(r.header(name), Some(value), "{backend:?}: {name}");
        }
        assert_eq!(r.header("cache-control"), Some("public, max-age=5"));
        assert_eq!(health.header("cache-control"), Some("no-store"));

        let metrics = app.get("/metrics", &[]).await;
        assert_eq!(metrics.status.as_u16(), 200);
        let text = metrics.text();
        assert!(text.contains("teeka_http_requests_total"), "{text}");
        assert!(
            text.contains("route=\"/api/v2/admin/location/states\""),
            "{text}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn hostile_query_strings_never_cause_a_server_error() {
    each_backend(|backend, store| async move {
        let app = spawn_app(store, no_limits()).await;
        let long = "9".repeat(5000);
        let weird = [
            "district_id=395&date=01-01-2031&date=02-01-2031".to_owned(),
            "district_id=395&date=01-01-2031&vaccine=".to_owned(),
            "district_id=%00&date=01-01-2031".to_owned(),
            format!("district_id={long}&date=01-01-2031"),
            "district_id=395&date=%E0%A4%9F%E0%A5%80".to_owned(),
            "district_id=395;drop%20table%20sessions&date=01-01-2031".to_owned(),
            "&&&==&".to_owned(),
            "district_id=+395+&date=+01-01-2031+".to_owned(),
        ];
        let before = app.store.counts().await.expect("counts");
        for q in &weird {
            let r = app
                .get(
                    &format!("/api/v2/appointment/sessions/public/calendarByDistrict?{q}"),
                    &[],
                )
                .await;
            assert!(
                r.status.as_u16() < 500,
                "{backend:?}: {q} gave {}",
                r.status
            );
            let b = body(&r);
            assert!(
                b.get("centers").is_some() || b.get("errorCode").is_some(),
                "{backend:?}: {q}: {b}"
            );
        }
        assert_eq!(
            app.store.counts().await.expect("counts"),
            before,
            "{backend:?}: nothing harmed"
        );
        for path in [
            "/api/v2/admin/location/districts/%FF",
            "/api/v2/admin/location/districts/-1",
        ] {
            let r = app.get(path, &[]).await;
            assert_eq!(r.status.as_u16(), 400, "{backend:?}: {path}");
            assert_eq!(
                body(&r)["errorCode"],
                "TKAREQ0001",
                "{backend:?}: {path}: CoWIN's shape"
            );
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn district_answers_outlive_the_time_bound_until_their_district_changes() {
    for backend in teeka_tests::backends() {
        let db = teeka_tests::TestDb::new(backend).await;
        let store = teeka_tests::prepared_store(&db).await;
        // The poller runs every half bound; a second leaves room for a slow machine's stalls.
        let bound = Duration::from_secs(1);
        let app = spawn_app(
            store.clone(),
            WebConfig {
                cache_staleness: bound,
                public_rate_limit: None,
                ..WebConfig::default()
            },
        )
        .await;
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let centre = Centre {
            id: CentreId(42),
            name: "PHC Test".into(),
            address: String::new(),
            state_id: StateId(21),
            district_id: DistrictId(395),
            block_name: "Ward".into(),
            pincode: Pincode::try_from(400042).expect("pin"),
            lat: 19.0,
            long: 72.8,
            fee_type: FeeType::Free,
            fees: Vec::new(),
            hours: OpeningHours {
                from_minute: 540,
                to_minute: 1020,
            },
        };
        store.insert_centres(&[centre]).await.expect("centre");
        let session = |dose1: u32| SessionPlan {
            id: uuid::Uuid::new_v4(),
            centre_id: CentreId(42),
            date: tomorrow,
            vaccine: "COVAXIN".parse().expect("vaccine"),
            age: AgeLimits::new(18, None).expect("age"),
            capacity: Capacity {
                dose1: DoseShare {
                    online: dose1,
                    onsite: 0,
                },
                ..Capacity::default()
            },
            slots: vec!["09:00AM-11:00AM".parse().expect("slot")],
        };
        store
            .insert_sessions(&[session(10)])
            .await
            .expect("session");
        let path = format!(
            "/api/v2/appointment/sessions/public/calendarByDistrict?district_id=395&date={tomorrow}"
        );
        tokio::time::sleep(bound * 2).await; // let the poller see the district
        let capacity = |v: &Value| v["centers"][0]["sessions"][0]["available_capacity"].clone();
        let first = app.get(&path, &[]).await;
        assert_eq!(capacity(&body(&first)), 10);
        let max_age: u64 = first
            .header("cache-control")
            .and_then(|c| c.strip_prefix("public, max-age="))
            .and_then(|s| s.parse().ok())
            .expect("max-age");
        assert!(
            max_age <= 1,
            "{backend:?}: never more than the bound ({max_age})"
        );

        // An edit behind the store's back bumps no counter: the cached answer stays, even past the
        // time bound, which shows the change tracking (not the clock) is what keeps it.
        teeka_tests::raw_execute(&db, "UPDATE sessions SET dose1_booked = 3").await;
        tokio::time::sleep(bound * 2).await;
        assert_eq!(
            capacity(&body(&app.get(&path, &[]).await)),
            10,
            "{backend:?}: kept past the time bound, unchanged district"
        );

        // A write through the store bumps the district: within the bound, the answer is fresh
        // (and shows the raw edit too, since it is recomputed).
        store
            .insert_sessions(&[session(5)])
            .await
            .expect("second session");
        tokio::time::sleep(bound).await;
        let fresh = body(&app.get(&path, &[]).await);
        let sessions = fresh["centers"][0]["sessions"]
            .as_array()
            .expect("sessions")
            .clone();
        assert_eq!(
            sessions.len(),
            2,
            "{backend:?}: the new session is visible within the bound"
        );
        assert!(
            sessions.iter().any(|s| s["available_capacity"] == 7),
            "{backend:?}: recomputed"
        );

        // A district that does not exist is empty without a query; a far date is answered fresh.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let nowhere = body(&app.get(&format!("/api/v2/appointment/sessions/public/calendarByDistrict?district_id=999&date={tomorrow}"), &[]).await);
        assert_eq!(nowhere, json!({"centers": []}), "{backend:?}");
        let far = tomorrow.plus_days(300);
        let r = app
            .get(
                &format!(
                    "/api/v2/appointment/sessions/public/findByDistrict?district_id=395&date={far}"
                ),
                &[],
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), body(&r)),
            (200, json!({"sessions": []})),
            "{backend:?}"
        );
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=0"),
            "{backend:?}: not cached"
        );
        app.stop().await;
        store.close().await;
    }
}
