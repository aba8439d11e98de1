//! The airline flights package: carriers, airports, aircraft models,
//! aircraft and flights.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use duckdb::{params, Connection};

use crate::calendar::{civil_from_days, weekday};
use crate::parquet::{tables_are_current, write_parquet};
use crate::rng::{round_to, unique_code, Rng, Weighted};

/// The data version stored in every file. Bump it whenever the generated
/// rows change, so existing files are rewritten on the next run.
const DATA_VERSION: &str = "faa-1";

const FLIGHT_ROWS: usize = 344_000;
const AIRPORT_ROWS: usize = 900;
/// Airports with scheduled service. The rest are small fields, heliports
/// and seaplane bases that never appear in `flights`.
const SERVED_AIRPORTS: usize = 120;
const MAJOR_AIRPORTS: usize = 35;
const AIRCRAFT_ROWS: usize = 6_000;
const FLEET_AIRCRAFT: usize = 3_600;

/// 2019-01-01 as days since 1970-01-01.
const FIRST_DAY: i64 = 17_897;
/// Six years of flights: 2019-01-01 to 2024-12-31.
const DAY_COUNT: i64 = 2_192;

/// (code, name, nickname, share of flights). The last carrier code is
/// missing from `carriers` on purpose: a few flights have no match.
const CARRIERS: &[(&str, &str, &str, f64)] = &[
    ("NW", "Northwind Air Lines", "Northwind", 18.0),
    ("SK", "Skyline Airways", "Skyline", 15.0),
    ("BJ", "Bluejay Airlines", "Bluejay", 13.0),
    ("CT", "Coastal Transit Air", "Coastal", 11.0),
    ("MR", "Meridian Air Corporation", "Meridian", 9.0),
    ("SP", "Summit Pacific Airlines", "Summit", 7.0),
    ("HR", "Harbor Regional Airlines", "Harbor", 6.0),
    ("PX", "Prairie Express", "Prairie", 5.0),
    ("LS", "Lakeshore Aviation", "Lakeshore", 4.0),
    ("GA", "Granite Air", "Granite", 3.0),
    ("CV", "Canyon Valley Airways", "Canyon", 2.5),
    ("AU", "Aurora Air Service", "Aurora", 2.0),
    ("FW", "Fairwind Commuter", "Fairwind", 1.5),
    ("TL", "Tidewater Lines", "Tidewater", 1.2),
    ("OZ", "Orchard Air", "Orchard", 0.8),
    ("QN", "Quill Aviation", "Quill", 0.5),
    ("XZ", "", "", 0.15),
];
/// Carriers whose fleets are regional turboprops and small jets.
const REGIONAL_CARRIERS: &[&str] = &["HR", "PX", "FW", "TL", "OZ", "QN"];

/// (region, states, latitude, longitude, share of served airports).
const REGIONS: &[(&str, &[&str], f64, f64, f64)] = &[
    (
        "ANE",
        &["CT", "MA", "ME", "NH", "RI", "VT"],
        43.2,
        -71.6,
        0.6,
    ),
    (
        "AEA",
        &["NY", "PA", "NJ", "MD", "VA", "WV", "DE"],
        40.6,
        -76.8,
        1.4,
    ),
    (
        "ASO",
        &["FL", "GA", "AL", "NC", "SC", "TN", "MS", "KY"],
        32.8,
        -84.2,
        1.5,
    ),
    (
        "AGL",
        &["IL", "IN", "MI", "OH", "WI", "MN", "ND", "SD"],
        43.0,
        -88.5,
        1.3,
    ),
    ("ACE", &["IA", "KS", "MO", "NE"], 40.0, -95.5, 0.6),
    ("ASW", &["TX", "OK", "LA", "AR", "NM"], 32.4, -97.8, 1.2),
    (
        "ANM",
        &["WA", "OR", "ID", "MT", "WY", "CO", "UT"],
        44.0,
        -113.0,
        0.9,
    ),
    ("AWP", &["CA", "NV", "AZ"], 35.8, -117.5, 1.3),
    ("AAL", &["AK"], 61.0, -150.0, 0.2),
];

const CITY_STARTS: &[&str] = &[
    "Ash", "Bel", "Bram", "Cedar", "Clear", "Cold", "Crest", "Dal", "Deer", "Eagle", "Elm", "Fair",
    "Fern", "Fox", "Glen", "Gold", "Green", "Hart", "Haven", "High", "Holly", "Iron", "Kings",
    "Lake", "Lin", "Maple", "Marsh", "Mill", "Moss", "North", "Oak", "Pine", "Red", "River",
    "Rock", "Rose", "Salt", "Sand", "Silver", "Spring", "Stone", "Sun", "Thorn", "West", "White",
    "Willow", "Wolf", "Amber", "Brook", "Copper",
];
const CITY_ENDS: &[&str] = &[
    "bury", "by", "dale", "field", "ford", "gate", "haven", "hill", "ley", "mont", "port", "ridge",
    "ton", "vale", "ville", "wood", "worth", "brook", "crest", "view",
];
const SURNAMES: &[&str] = &[
    "Abbott",
    "Barlow",
    "Carver",
    "Dalton",
    "Emery",
    "Fenwick",
    "Garrick",
    "Holloway",
    "Ingram",
    "Jessup",
    "Keller",
    "Langley",
    "Marlow",
    "Norcross",
    "Oakes",
    "Prescott",
    "Quimby",
    "Radcliffe",
    "Sutter",
    "Thorne",
    "Underhill",
    "Vance",
    "Whitlock",
    "Yardley",
];
const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Cora", "Dev", "Elena", "Finn", "Grace", "Hugo", "Iris", "Jonah", "Kira", "Leo",
    "Maya", "Nico", "Opal", "Pavel", "Rosa", "Sam", "Tess", "Victor",
];
const LESSORS: &[&str] = &[
    "Cloudbank Leasing Trust",
    "Keystone Aircraft Finance",
    "Westerly Lessors",
];

/// (category, aircraft_type, engine_type, model count, engines, seats, cruise speed in mph,
/// manufacturers with their shares).
type ModelFamily = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    (i64, i64),
    (i64, i64),
    (i64, i64),
    &'static [(&'static str, f64)],
);
const MODEL_FAMILIES: &[ModelFamily] = &[
    (
        "airliner",
        "Fixed wing multi engine",
        "Turbo-fan",
        36,
        (2, 2),
        (90, 320),
        (440, 530),
        &[
            ("Aldridge Aerospace", 5.5),
            ("Boreal Aircraft", 3.5),
            ("Cobalt Aero Works", 1.0),
        ],
    ),
    (
        "regional",
        "Fixed wing multi engine",
        "Turbo-prop",
        14,
        (2, 2),
        (30, 78),
        (280, 360),
        &[("Dunmore Aviation", 6.0), ("Boreal Aircraft", 4.0)],
    ),
    (
        "business",
        "Fixed wing multi engine",
        "Turbo-fan",
        30,
        (2, 3),
        (6, 16),
        (400, 500),
        &[
            ("Everly Jets", 4.0),
            ("Falconer Industries", 4.0),
            ("Aldridge Aerospace", 2.0),
        ],
    ),
    (
        "piston single",
        "Fixed wing single engine",
        "Reciprocating",
        90,
        (1, 1),
        (2, 6),
        (100, 190),
        &[
            ("Greystone Aircraft", 4.0),
            ("Halcyon Aeronautics", 3.0),
            ("Ironwood Air", 2.0),
            ("Kestrel Light Aircraft", 1.0),
        ],
    ),
    (
        "piston twin",
        "Fixed wing multi engine",
        "Reciprocating",
        30,
        (2, 2),
        (4, 8),
        (170, 240),
        &[("Greystone Aircraft", 5.0), ("Halcyon Aeronautics", 5.0)],
    ),
    (
        "rotorcraft",
        "Rotorcraft",
        "Turbo-shaft",
        25,
        (1, 2),
        (2, 14),
        (90, 170),
        &[("Juniper Rotorcraft", 6.0), ("Lumen Aero", 4.0)],
    ),
    (
        "glider",
        "Glider",
        "None",
        10,
        (0, 0),
        (1, 2),
        (40, 70),
        &[("Northgate Soaring", 1.0)],
    ),
    (
        "balloon",
        "Balloon",
        "None",
        5,
        (0, 0),
        (1, 6),
        (5, 15),
        &[("Lumen Aero", 1.0)],
    ),
];

struct Airport {
    code: String,
    name: String,
    city: String,
    state: &'static str,
    region: &'static str,
    fac_type: &'static str,
    elevation: Option<i64>,
    latitude: f64,
    longitude: f64,
    major: bool,
    control_tower: bool,
}

struct Model {
    code: String,
    manufacturer: &'static str,
    model: String,
    category: &'static str,
    aircraft_type: &'static str,
    engine_type: &'static str,
    engines: i64,
    seats: i64,
    cruise_speed: i64,
}

struct Aircraft {
    tail_num: String,
    model_code: String,
    year_built: Option<i64>,
    owner: String,
    registrant_type: &'static str,
    city: String,
    state: &'static str,
    cert_issue_day: i64,
}

struct Flight {
    carrier: usize,
    flight_num: i64,
    origin: usize,
    destination: usize,
    tail_num: Option<String>,
    dep_minute: i64,
    dep_delay: Option<i64>,
    arr_delay: Option<i64>,
    taxi_out: Option<i64>,
    taxi_in: Option<i64>,
    flight_time: Option<i64>,
    distance: i64,
    cancelled: bool,
    diverted: bool,
}

/// Lists the tables with the row counts they are written with.
fn expected_tables() -> [(&'static str, u64); 5] {
    [
        ("carriers", (CARRIERS.len() - 1) as u64),
        ("airports", AIRPORT_ROWS as u64),
        (
            "aircraft_models",
            MODEL_FAMILIES.iter().map(|family| family.3 as u64).sum(),
        ),
        ("aircraft", AIRCRAFT_ROWS as u64),
        ("flights", FLIGHT_ROWS as u64),
    ]
}

/// Writes the package's tables unless they are already current.
pub fn ensure(data_dir: &Path, force: bool) -> Result<()> {
    let started = Instant::now();
    let conn =
        Connection::open_in_memory().context("opening an in-memory DuckDB database failed")?;
    if !force && tables_are_current(&conn, data_dir, &expected_tables(), DATA_VERSION) {
        println!("faa: data in {} is up to date", data_dir.display());
        return Ok(());
    }

    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {} failed", data_dir.display()))?;
    let tables = generate_tables();
    load_tables(&conn, &tables)?;
    for (table, _) in expected_tables() {
        let select = match table {
            "flights" => "SELECT id, carrier, flight_num, origin, destination, tail_num, \
                make_timestamp(dep_minute * 60000000) AS dep_time, dep_delay, arr_delay, \
                taxi_out, taxi_in, flight_time, distance, cancelled, diverted \
                FROM flights ORDER BY id"
                .to_string(),
            "aircraft" => {
                "SELECT tail_num, aircraft_model_code, year_built, owner, registrant_type, \
                city, state, DATE '1970-01-01' + cert_issue_day AS cert_issue_date \
                FROM aircraft ORDER BY tail_num"
                    .to_string()
            }
            "airports" => "SELECT * FROM airports ORDER BY id".to_string(),
            other => format!("SELECT * FROM {other} ORDER BY code"),
        };
        write_parquet(
            &conn,
            &select,
            &data_dir.join(format!("{table}.parquet")),
            DATA_VERSION,
        )?;
    }
    println!(
        "faa: wrote {} flights and 4 dimension tables to {} in {:.1} s",
        tables.flights.len(),
        data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The rows of every table, before DuckDB stores them.
struct Tables {
    airports: Vec<Airport>,
    models: Vec<Model>,
    aircraft: Vec<Aircraft>,
    flights: Vec<Flight>,
}

/// Generates every table. Each table draws from its own seed, so a
/// change to one generator leaves the tables before it unchanged.
fn generate_tables() -> Tables {
    let airports = generate_airports(&mut Rng::new(11));
    let models = generate_models(&mut Rng::new(23));
    let (aircraft, fleets) = generate_aircraft(&mut Rng::new(37), &airports, &models);
    let flights = generate_flights(&mut Rng::new(41), &airports, &models, &aircraft, &fleets);
    Tables {
        airports,
        models,
        aircraft,
        flights,
    }
}

fn city_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(CITY_STARTS), rng.pick(CITY_ENDS))
}

/// Airports in generation order: the served ones first, the busiest first.
fn generate_airports(rng: &mut Rng) -> Vec<Airport> {
    let region_weights = Weighted::new(REGIONS.iter().map(|region| region.4));
    let mut codes = HashSet::new();
    let letters = |rng: &mut Rng| -> String {
        (0..3)
            .map(|_| (b'A' + rng.below(26) as u8) as char)
            .collect()
    };
    let mut airports = Vec::with_capacity(AIRPORT_ROWS);
    for index in 0..AIRPORT_ROWS {
        let served = index < SERVED_AIRPORTS;
        let major = index < MAJOR_AIRPORTS;
        let (region, states, latitude, longitude, _) = REGIONS[region_weights.sample(rng)];
        let fac_type = if served {
            "AIRPORT"
        } else {
            *rng.pick(&[
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "AIRPORT",
                "HELIPORT",
                "HELIPORT",
                "HELIPORT",
                "HELIPORT",
                "SEAPLANE BASE",
                "ULTRALIGHT",
                "GLIDERPORT",
                "STOLPORT",
            ])
        };
        let city = city_name(rng);
        let name = match fac_type {
            "AIRPORT" if major => format!("{city} International Airport"),
            "AIRPORT" => format!(
                "{city} {}",
                rng.pick(&[
                    "Municipal Airport",
                    "Regional Airport",
                    "County Airport",
                    "Field",
                    "Airpark"
                ])
            ),
            "HELIPORT" => format!(
                "{city} {}",
                rng.pick(&["Medical Center Heliport", "Heliport", "Police Heliport"])
            ),
            "SEAPLANE BASE" => format!("{city} Seaplane Base"),
            "ULTRALIGHT" => format!("{city} Ultralight Flightpark"),
            "GLIDERPORT" => format!("{city} Gliderport"),
            _ => format!("{city} Stolport"),
        };
        let base_elevation = match region {
            "ANM" => 3800.0,
            "AWP" => 1600.0,
            "ASW" => 900.0,
            "AAL" => 300.0,
            _ => 650.0,
        };
        let elevation = if fac_type == "SEAPLANE BASE" {
            Some(rng.between(0, 40))
        } else if !served && rng.chance(0.015) {
            None
        } else {
            Some(
                (base_elevation * (0.1 + 1.7 * rng.unit()) + rng.normal(0.0, 80.0))
                    .max(2.0)
                    .round() as i64,
            )
        };
        let spread = if region == "AAL" { 8.0 } else { 5.0 };
        airports.push(Airport {
            code: unique_code(rng, &mut codes, letters),
            name,
            city,
            state: states[rng.below(states.len())],
            region,
            fac_type,
            elevation,
            latitude: round_to(latitude + rng.normal(0.0, 1.8), 4),
            longitude: round_to(longitude + (rng.unit() - 0.5) * spread * 2.0, 4),
            major,
            control_tower: major || (served && rng.chance(0.8)) || rng.chance(0.05),
        });
    }
    airports
}

fn generate_models(rng: &mut Rng) -> Vec<Model> {
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    let mut models = Vec::new();
    for &(category, aircraft_type, engine_type, count, engines, seats, speed, makers) in
        MODEL_FAMILIES
    {
        let maker_weights = Weighted::new(makers.iter().map(|maker| maker.1));
        for _ in 0..count {
            let manufacturer = makers[maker_weights.sample(rng)].0;
            let prefix: String = manufacturer
                .split_whitespace()
                .map(|word| word.chars().next().unwrap_or('X'))
                .collect();
            let model = unique_code(rng, &mut names, |rng| {
                format!("{prefix}-{}", rng.between(1, 99) * 10)
            });
            models.push(Model {
                code: unique_code(rng, &mut codes, |rng| {
                    format!("{:07}", rng.between(100_000, 9_999_999))
                }),
                manufacturer,
                model,
                category,
                aircraft_type,
                engine_type,
                engines: rng.between(engines.0, engines.1),
                seats: rng.between(seats.0, seats.1),
                cruise_speed: rng.between(speed.0, speed.1),
            });
        }
    }
    models
}

/// Returns the aircraft and, for each carrier, the indexes of its fleet.
fn generate_aircraft(
    rng: &mut Rng,
    airports: &[Airport],
    models: &[Model],
) -> (Vec<Aircraft>, Vec<Vec<usize>>) {
    let mut tails = HashSet::new();
    let tail = |rng: &mut Rng| -> String {
        let suffix: String = (0..rng.below(3))
            .map(|_| *rng.pick(b"ABCDEFGHJKLMNPQRSTUVWXYZ") as char)
            .collect();
        format!("N{}{suffix}", rng.between(1, 99_999))
    };
    let mut model_codes: HashSet<String> = models.iter().map(|model| model.code.clone()).collect();
    let indexes_of = |category: &str| -> Vec<usize> {
        models
            .iter()
            .enumerate()
            .filter(|(_, m)| m.category == category)
            .map(|(i, _)| i)
            .collect()
    };
    let airliners = indexes_of("airliner");
    let regionals = indexes_of("regional");
    let general: Vec<usize> = models
        .iter()
        .enumerate()
        .filter(|(_, m)| m.category != "airliner" && m.category != "regional")
        .map(|(i, _)| i)
        .collect();
    // Small airplanes are far more common than helicopters and balloons.
    let general_weights = Weighted::new(general.iter().map(|&i| match models[i].category {
        "piston single" => 6.0,
        "piston twin" => 2.0,
        "business" => 1.5,
        "rotorcraft" => 1.0,
        _ => 0.5,
    }));
    let carrier_count = CARRIERS.len() - 1;
    let carrier_share: f64 = CARRIERS[..carrier_count].iter().map(|c| c.3).sum();

    let mut aircraft = Vec::with_capacity(AIRCRAFT_ROWS);
    let mut fleets = vec![Vec::new(); CARRIERS.len()];
    for (carrier, &(code, name, _, share)) in CARRIERS[..carrier_count].iter().enumerate() {
        let size = ((FLEET_AIRCRAFT as f64 * share / carrier_share).round() as usize).max(8);
        let pool = if REGIONAL_CARRIERS.contains(&code) {
            &regionals
        } else {
            &airliners
        };
        // Each carrier flies a handful of types.
        let types: Vec<usize> = (0..rng.between(2, 5)).map(|_| *rng.pick(pool)).collect();
        let hub = &airports[carrier % MAJOR_AIRPORTS];
        for _ in 0..size {
            fleets[carrier].push(aircraft.len());
            let year_built = rng.between(1990, 2024).max(rng.between(1995, 2024));
            aircraft.push(Aircraft {
                tail_num: unique_code(rng, &mut tails, tail),
                model_code: models[*rng.pick(&types)].code.clone(),
                year_built: (!rng.chance(0.03)).then_some(year_built),
                owner: if rng.chance(0.15) {
                    rng.pick(LESSORS).to_string()
                } else {
                    name.to_string()
                },
                registrant_type: "Corporation",
                city: hub.city.clone(),
                state: hub.state,
                cert_issue_day: 0,
            });
        }
    }
    while aircraft.len() < AIRCRAFT_ROWS {
        let model = general[general_weights.sample(rng)];
        let registrant_type = *rng.pick(&[
            "Individual",
            "Individual",
            "Individual",
            "Individual",
            "Individual",
            "Corporation",
            "Corporation",
            "Partnership",
            "Co-Owned",
            "Co-Owned",
            "Government",
        ]);
        let surname = rng.pick(SURNAMES);
        let owner = match registrant_type {
            "Individual" => format!("{} {surname}", rng.pick(FIRST_NAMES)),
            "Corporation" => format!(
                "{surname} {}",
                rng.pick(&[
                    "Aviation LLC",
                    "Air Charter Inc",
                    "Flight School",
                    "Farms Inc"
                ])
            ),
            "Partnership" => format!("{surname} & {} Partners", rng.pick(SURNAMES)),
            "Co-Owned" => format!("{surname} Flying Club"),
            _ => format!("{} County Sheriff", rng.pick(CITY_STARTS)),
        };
        let home = &airports[rng.below(airports.len())];
        aircraft.push(Aircraft {
            tail_num: unique_code(rng, &mut tails, tail),
            model_code: models[model].code.clone(),
            year_built: (!rng.chance(0.03))
                .then(|| rng.between(1958, 2024).max(rng.between(1958, 2024))),
            owner,
            registrant_type,
            city: home.city.clone(),
            state: home.state,
            cert_issue_day: 0,
        });
    }
    for plane in &mut aircraft {
        // About one aircraft in a hundred names a model missing from aircraft_models.
        if rng.chance(0.012) {
            plane.model_code = unique_code(rng, &mut model_codes, |rng| {
                format!("{:07}", rng.between(100_000, 9_999_999))
            });
        }
        let first_year = plane.year_built.unwrap_or(1990).max(1990);
        let first_day = (first_year - 1970) * 365 + (first_year - 1969) / 4;
        plane.cert_issue_day = rng.between(first_day, FIRST_DAY + DAY_COUNT - 1);
    }
    (aircraft, fleets)
}

fn haversine_miles(a: &Airport, b: &Airport) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 3958.8 * h.sqrt().asin()
}

/// Day weights for the schedule: growth per year, a summer and holiday
/// peak, and quiet Saturdays.
fn day_weights() -> Weighted {
    const MONTH: [f64; 12] = [
        0.88, 0.84, 1.0, 0.98, 1.02, 1.10, 1.15, 1.12, 0.92, 0.98, 0.95, 1.05,
    ];
    const WEEKDAY: [f64; 7] = [1.06, 1.04, 0.93, 0.94, 1.05, 1.08, 0.82];
    Weighted::new((0..DAY_COUNT).map(|offset| {
        let day = FIRST_DAY + offset;
        let (year, month, _) = civil_from_days(day);
        (1.0 + 0.05 * (year - 2019) as f64) * MONTH[month as usize - 1] * WEEKDAY[weekday(day)]
    }))
}

fn generate_flights(
    rng: &mut Rng,
    airports: &[Airport],
    models: &[Model],
    aircraft: &[Aircraft],
    fleets: &[Vec<usize>],
) -> Vec<Flight> {
    let carriers = Weighted::new(CARRIERS.iter().map(|carrier| carrier.3));
    let served = Weighted::zipf(SERVED_AIRPORTS, 1.05);
    let days = day_weights();
    // Departures from 05:00 to 22:55, busiest in the morning and late afternoon.
    let hours = Weighted::new([
        0.3, 1.0, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.05, 0.9, 0.7, 0.5, 0.3,
    ]);
    let fleet_weights: Vec<Weighted> = fleets
        .iter()
        .map(|fleet| Weighted::zipf(fleet.len().max(1), 0.4))
        .collect();
    // Tail numbers that match no aircraft.
    let mut used_tails: HashSet<String> = aircraft
        .iter()
        .map(|plane| plane.tail_num.clone())
        .collect();
    let orphan_tails: Vec<String> = (0..40)
        .map(|_| {
            unique_code(rng, &mut used_tails, |rng| {
                format!("N{}Z", rng.between(100, 9_999))
            })
        })
        .collect();
    let model_by_code: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(index, model)| (model.code.as_str(), index))
        .collect();
    let hubs: Vec<[usize; 2]> = (0..CARRIERS.len())
        .map(|carrier| [carrier % MAJOR_AIRPORTS, (carrier * 7 + 3) % 20])
        .collect();

    let mut flights = Vec::with_capacity(FLIGHT_ROWS);
    for _ in 0..FLIGHT_ROWS {
        let carrier = carriers.sample(rng);
        let carrier_hubs = hubs[carrier];
        let origin = if rng.chance(0.45) {
            *rng.pick(&carrier_hubs)
        } else {
            served.sample(rng)
        };
        let destination = loop {
            let candidate = if !carrier_hubs.contains(&origin) && rng.chance(0.6) {
                *rng.pick(&carrier_hubs)
            } else {
                served.sample(rng)
            };
            if candidate != origin {
                break candidate;
            }
        };

        let day = FIRST_DAY + days.sample(rng) as i64;
        let (_, month, _) = civil_from_days(day);
        let hour = 5 + hours.sample(rng) as i64;
        let dep_minute = day * 1440 + hour * 60 + rng.between(0, 11) * 5;

        let fleet = &fleets[carrier];
        let mut plane = None;
        let tail_num = if fleet.is_empty() || rng.chance(0.004) {
            Some(rng.pick(&orphan_tails).clone())
        } else if rng.chance(0.012) {
            None
        } else {
            let index = fleet[fleet_weights[carrier].sample(rng)];
            plane = Some(&aircraft[index]);
            Some(aircraft[index].tail_num.clone())
        };

        let winter = matches!(month, 12 | 1 | 2);
        let peak = matches!(month, 6..=8 | 12);
        let cancel_rate = 0.012 * if winter { 2.5 } else { 1.0 } * (1.0 + carrier as f64 * 0.05);
        let cancelled = rng.chance(cancel_rate);
        let diverted = !cancelled && rng.chance(0.003);

        let late_rate = 0.16
            + if hour >= 15 { 0.10 } else { 0.0 }
            + if peak { 0.06 } else { 0.0 }
            + carrier as f64 * 0.006;
        let dep_delay = if rng.chance(late_rate) {
            let mut minutes = 15.0 + rng.exponential(28.0);
            if rng.chance(0.08) {
                minutes += rng.exponential(110.0);
            }
            minutes.round() as i64
        } else {
            rng.normal(-2.0, 5.0).round().clamp(-20.0, 14.0) as i64
        };
        let arr_delay = dep_delay + rng.normal(-5.0, 9.0).round() as i64;

        let distance = haversine_miles(&airports[origin], &airports[destination])
            .round()
            .max(25.0) as i64;
        // Unknown aircraft fly at a typical airliner's speed.
        let speed = plane
            .and_then(|plane| model_by_code.get(plane.model_code.as_str()))
            .map_or(450.0, |&index| models[index].cruise_speed as f64);
        let flight_time = (distance as f64 / (speed / 60.0) + 16.0 + rng.normal(0.0, 4.0))
            .round()
            .max(18.0) as i64;
        let hub_origin = origin < MAJOR_AIRPORTS;
        let taxi_out = 8 + rng
            .exponential(if hub_origin { 12.0 } else { 7.0 })
            .round()
            .min(90.0) as i64;
        let taxi_in = 3 + rng.exponential(5.0).round().min(45.0) as i64;

        flights.push(Flight {
            carrier,
            flight_num: 100 + ((origin * 131 + destination * 17 + carrier * 7) % 2900) as i64,
            origin,
            destination,
            tail_num,
            dep_minute,
            dep_delay: (!cancelled).then_some(dep_delay),
            arr_delay: (!cancelled && !diverted).then_some(arr_delay),
            taxi_out: (!cancelled).then_some(taxi_out),
            taxi_in: (!cancelled && !diverted).then_some(taxi_in),
            flight_time: (!cancelled && !diverted).then_some(flight_time),
            distance,
            cancelled,
            diverted,
        });
    }
    // Ids follow departure time. The sort is stable, so ties keep generation order.
    flights.sort_by_key(|flight| flight.dep_minute);
    flights
}

fn load_tables(conn: &Connection, tables: &Tables) -> Result<()> {
    let Tables {
        airports,
        models,
        aircraft,
        flights,
    } = tables;
    conn.execute_batch(
        "CREATE TABLE carriers (code VARCHAR, name VARCHAR, nickname VARCHAR);
         CREATE TABLE airports (id INTEGER, code VARCHAR, name VARCHAR, city VARCHAR, state VARCHAR,
             faa_region VARCHAR, fac_type VARCHAR, elevation INTEGER, latitude DOUBLE,
             longitude DOUBLE, major VARCHAR, control_tower VARCHAR);
         CREATE TABLE aircraft_models (code VARCHAR, manufacturer VARCHAR, model VARCHAR,
             category VARCHAR, aircraft_type VARCHAR, engine_type VARCHAR, engines INTEGER,
             seats INTEGER, cruise_speed INTEGER);
         CREATE TABLE aircraft (tail_num VARCHAR, aircraft_model_code VARCHAR, year_built INTEGER,
             owner VARCHAR, registrant_type VARCHAR, city VARCHAR, state VARCHAR,
             cert_issue_day INTEGER);
         CREATE TABLE flights (id BIGINT, carrier VARCHAR, flight_num INTEGER, origin VARCHAR,
             destination VARCHAR, tail_num VARCHAR, dep_minute BIGINT, dep_delay INTEGER,
             arr_delay INTEGER, taxi_out INTEGER, taxi_in INTEGER, flight_time INTEGER,
             distance INTEGER, cancelled BOOLEAN, diverted BOOLEAN);",
    )
    .context("creating the staging tables failed")?;

    let mut appender = conn.appender("carriers")?;
    for &(code, name, nickname, _) in &CARRIERS[..CARRIERS.len() - 1] {
        appender.append_row(params![code, name, nickname])?;
    }
    appender.flush()?;

    // Ids follow the airport codes' alphabetical order.
    let mut by_code: Vec<&Airport> = airports.iter().collect();
    by_code.sort_by(|a, b| a.code.cmp(&b.code));
    let mut appender = conn.appender("airports")?;
    for (index, airport) in by_code.iter().enumerate() {
        appender.append_row(params![
            index as i64 + 1,
            airport.code,
            airport.name,
            airport.city,
            airport.state,
            airport.region,
            airport.fac_type,
            airport.elevation,
            airport.latitude,
            airport.longitude,
            if airport.major { "Y" } else { "N" },
            if airport.control_tower { "Y" } else { "N" },
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("aircraft_models")?;
    for model in models {
        appender.append_row(params![
            model.code,
            model.manufacturer,
            model.model,
            model.category,
            model.aircraft_type,
            model.engine_type,
            model.engines,
            model.seats,
            model.cruise_speed,
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("aircraft")?;
    for plane in aircraft {
        appender.append_row(params![
            plane.tail_num,
            plane.model_code,
            plane.year_built,
            plane.owner,
            plane.registrant_type,
            plane.city,
            plane.state,
            plane.cert_issue_day,
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("flights")?;
    for (index, flight) in flights.iter().enumerate() {
        appender.append_row(params![
            index as i64 + 1,
            CARRIERS[flight.carrier].0,
            flight.flight_num,
            airports[flight.origin].code,
            airports[flight.destination].code,
            flight.tail_num,
            flight.dep_minute,
            flight.dep_delay,
            flight.arr_delay,
            flight.taxi_out,
            flight.taxi_in,
            flight.flight_time,
            flight.distance,
            flight.cancelled,
            flight.diverted,
        ])?;
    }
    appender.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rows_are_pinned() {
        let tables = generate_tables();
        let delay_sum: i64 = tables
            .flights
            .iter()
            .filter_map(|flight| flight.dep_delay)
            .sum();
        let distance_sum: i64 = tables.flights.iter().map(|flight| flight.distance).sum();
        let hint = "the generated rows changed: bump DATA_VERSION so existing files are \
                    rewritten, then update the pinned sums and re-record the expectations";
        assert_eq!(tables.flights.len(), FLIGHT_ROWS);
        assert_eq!(tables.airports.len(), AIRPORT_ROWS);
        assert_eq!(tables.aircraft.len(), AIRCRAFT_ROWS);
        assert_eq!(delay_sum, 3_767_116, "{hint}");
        assert_eq!(distance_sum, 379_037_760, "{hint}");
    }

    #[test]
    fn flights_reference_generated_keys() {
        let tables = generate_tables();
        let tails: HashSet<&str> = tables
            .aircraft
            .iter()
            .map(|plane| plane.tail_num.as_str())
            .collect();
        let orphans = tables
            .flights
            .iter()
            .filter_map(|flight| flight.tail_num.as_deref())
            .filter(|tail| !tails.contains(tail))
            .count();
        assert!(orphans > 0, "some tail numbers should match no aircraft");
        assert!(
            orphans < FLIGHT_ROWS / 100,
            "{orphans} orphan tail numbers are too many"
        );

        for flight in &tables.flights {
            assert_ne!(flight.origin, flight.destination);
            assert!(flight.origin < SERVED_AIRPORTS);
            assert!(flight.destination < SERVED_AIRPORTS);
            if flight.cancelled {
                assert_eq!(flight.dep_delay, None);
                assert!(!flight.diverted);
            }
        }
    }

    #[test]
    fn ensure_skips_current_files_and_repairs_broken_ones() {
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path().join("data");
        ensure(&data, false).unwrap();
        let flights = data.join("flights.parquet");
        let first_write = std::fs::metadata(&flights).unwrap().modified().unwrap();

        ensure(&data, false).unwrap();
        let second_write = std::fs::metadata(&flights).unwrap().modified().unwrap();
        assert_eq!(first_write, second_write, "current files were rewritten");

        let airports = data.join("airports.parquet");
        let original = std::fs::read(&airports).unwrap();
        std::fs::write(&airports, b"not parquet").unwrap();
        ensure(&data, false).unwrap();
        assert_eq!(
            std::fs::read(&airports).unwrap(),
            original,
            "a broken file was not rewritten"
        );
        assert!(!data.join("airports.parquet.tmp").exists());
    }
}
