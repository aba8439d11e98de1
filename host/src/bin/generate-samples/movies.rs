//! The film catalog package: titles with genre arrays and rating records,
//! people with profession arrays, and the principal credits that link them.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use duckdb::{params, Connection};

use crate::parquet::{tables_are_current, write_parquet};
use crate::rng::{round_to, unique_code, Rng, Weighted};

/// The data version stored in every file. Bump it whenever the generated
/// rows change, so existing files are rewritten on the next run.
const DATA_VERSION: &str = "movies-3";

const TITLE_ROWS: usize = 9_000;
const PEOPLE_ROWS: usize = 7_000;

const GENRES: &[(&str, f64)] = &[
    ("Drama", 30.0),
    ("Comedy", 20.0),
    ("Thriller", 9.0),
    ("Romance", 8.0),
    ("Action", 8.0),
    ("Crime", 7.0),
    ("Horror", 6.0),
    ("Documentary", 6.0),
    ("Adventure", 5.0),
    ("Mystery", 4.0),
    ("Family", 4.0),
    ("Sci-Fi", 3.5),
    ("Fantasy", 3.0),
    ("Animation", 2.5),
    ("Western", 1.5),
    ("Musical", 1.2),
    ("War", 1.0),
];

/// (title type, share, runtime range in minutes).
const TITLE_TYPES: &[(&str, f64, (i64, i64))] = &[
    ("movie", 68.0, (78, 165)),
    ("tvSeries", 14.0, (22, 60)),
    ("short", 11.0, (4, 40)),
    ("tvMovie", 7.0, (70, 110)),
];

/// Credit categories in the order they are billed, with the profession that
/// fills them.
const CREW: &[(&str, &str)] = &[
    ("director", "director"),
    ("writer", "writer"),
    ("producer", "producer"),
    ("composer", "composer"),
    ("cinematographer", "cinematographer"),
];
const PROFESSIONS: &[&str] = &[
    "actor",
    "actress",
    "director",
    "writer",
    "producer",
    "composer",
    "cinematographer",
    "editor",
];

const ADJECTIVES: &[&str] = &[
    "Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Distant", "Midnight", "Wild",
    "Hollow", "Frozen", "Burning", "Lost", "Paper", "Velvet", "Iron", "Quiet", "Electric",
    "Restless", "Endless",
];
const NOUNS: &[&str] = &[
    "Harbor", "Orchard", "Signal", "Lantern", "River", "Garden", "Kingdom", "Engine", "Mirror",
    "Compass", "Storm", "Letter", "Summer", "Frontier", "Choir", "Island", "Ledger", "Ballroom",
    "Archive", "Voyage", "Tide", "Meadow", "Tower", "Circus",
];
const PLACES: &[&str] = &[
    "Calder Bay",
    "Northmoor",
    "Vellan",
    "Port Aster",
    "the Salt Flats",
    "Greywater",
    "Ostrava Hill",
    "Lindenfall",
    "the Red Valley",
    "Marrow Street",
];
const FEMALE_NAMES: &[&str] = &[
    "Anouk", "Celeste", "Elspeth", "Greta", "Ilse", "Kaia", "Marisol", "Odette", "Rosalind",
    "Tamsin", "Viveka", "Xenia", "Zelda",
];
const MALE_NAMES: &[&str] = &[
    "Basil", "Dorian", "Florian", "Hollis", "Jasper", "Lucian", "Nils", "Perrin", "Quentin",
    "Soren", "Ulric", "Wendell", "Yves",
];
const LAST_NAMES: &[&str] = &[
    "Albright",
    "Beaumont",
    "Castellan",
    "Delacroix-Hale",
    "Everhart",
    "Fairweather",
    "Grimsby",
    "Halvorsen",
    "Ingleby",
    "Jorvik",
    "Kessler",
    "Larkspur",
    "Montague",
    "Northcott",
    "Oyelaran",
    "Pryce",
    "Quennell",
    "Ravensworth",
    "Sandoval",
    "Thackeray",
    "Ulverston",
    "Vasquez-Orr",
    "Whitcombe",
    "Ysolde",
];
const CHARACTER_NAMES: &[&str] = &[
    "Detective Hale",
    "The Stranger",
    "Mara",
    "Captain Voss",
    "Young Eli",
    "Mother",
    "Dr. Lind",
    "The Narrator",
    "Ruth",
    "Officer Crane",
    "Himself",
    "Herself",
    "Tobias",
    "Nell",
    "The Mayor",
    "Agent Sloane",
    "Grandfather",
    "Iris",
    "Felix",
    "The Singer",
];

struct Title {
    tconst: String,
    primary_title: String,
    title_type: &'static str,
    start_year: Option<i64>,
    runtime_minutes: Option<i64>,
    genres: Vec<&'static str>,
    /// (average, votes), or `None` for a title without votes.
    rating: Option<(f64, i64)>,
}

struct Person {
    nconst: String,
    name: String,
    birth_year: Option<i64>,
    death_year: Option<i64>,
    professions: Vec<&'static str>,
    /// The first and last year the person works, which is not written out.
    career: (i64, i64),
}

struct Principal {
    title: usize,
    ordering: i64,
    person: usize,
    category: &'static str,
    /// The roles an actor or actress played; `None` for crew.
    characters: Option<Vec<&'static str>>,
}

/// The rows of every table, before DuckDB stores them.
struct Tables {
    titles: Vec<Title>,
    people: Vec<Person>,
    principals: Vec<Principal>,
}

/// The number of principal credits the generator draws, pinned by a test
/// so the up-to-date check needs no generation.
const PRINCIPAL_ROWS: u64 = 57_941;

/// Lists the tables with the row counts they are written with.
fn expected_tables() -> [(&'static str, u64); 3] {
    [
        ("titles", TITLE_ROWS as u64),
        ("people", PEOPLE_ROWS as u64),
        ("principals", PRINCIPAL_ROWS),
    ]
}

/// Writes the package's tables unless they are already current.
pub fn ensure(data_dir: &Path, force: bool) -> Result<()> {
    let started = Instant::now();
    let conn =
        Connection::open_in_memory().context("opening an in-memory DuckDB database failed")?;
    if !force && tables_are_current(&conn, data_dir, &expected_tables(), DATA_VERSION) {
        println!("movies: data in {} is up to date", data_dir.display());
        return Ok(());
    }

    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {} failed", data_dir.display()))?;
    let tables = generate_tables();
    if tables.principals.len() as u64 != PRINCIPAL_ROWS {
        bail!(
            "the generator drew {} principal credits but PRINCIPAL_ROWS is {}; update the constant",
            tables.principals.len(),
            PRINCIPAL_ROWS
        );
    }
    load_tables(&conn, &tables)?;
    // The staging tables keep lists as '|'-joined strings, and the exports
    // turn them into VARCHAR[] arrays and the rating into a STRUCT.
    for (table, _) in expected_tables() {
        let select = match table {
            "titles" => {
                "SELECT tconst, primary_title, title_type, start_year, runtime_minutes, \
                CASE WHEN genres = '' THEN []::VARCHAR[] ELSE string_split(genres, '|') END \
                    AS genres, \
                CASE WHEN votes IS NULL THEN NULL \
                    ELSE struct_pack(average := average_rating, votes := votes) END AS rating \
                FROM titles ORDER BY tconst"
            }
            "people" => {
                "SELECT nconst, name, birth_year, death_year, \
                string_split(professions, '|') AS primary_profession \
                FROM people ORDER BY nconst"
            }
            _ => {
                "SELECT tconst, ordering, nconst, category, \
                CASE WHEN characters IS NULL THEN NULL \
                    ELSE string_split(characters, '|') END AS characters \
                FROM principals ORDER BY tconst, ordering"
            }
        };
        write_parquet(
            &conn,
            select,
            &data_dir.join(format!("{table}.parquet")),
            DATA_VERSION,
        )?;
    }
    println!(
        "movies: wrote {} titles, {} people and {} credits to {} in {:.1} s",
        tables.titles.len(),
        tables.people.len(),
        tables.principals.len(),
        data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Generates every table. Each table draws from its own seed, so a change
/// to one generator leaves the tables before it unchanged.
fn generate_tables() -> Tables {
    let titles = generate_titles(&mut Rng::new(201));
    let people = generate_people(&mut Rng::new(203));
    let principals = generate_principals(&mut Rng::new(207), &titles, &people);
    Tables {
        titles,
        people,
        principals,
    }
}

fn title_name(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 | 1 => format!("The {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        2 => format!("{} of {}", rng.pick(NOUNS), rng.pick(PLACES)),
        3 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        4 => format!("The {} in {}", rng.pick(NOUNS), rng.pick(PLACES)),
        _ => format!("{}s", rng.pick(NOUNS)),
    }
}

fn generate_titles(rng: &mut Rng) -> Vec<Title> {
    let types = Weighted::new(TITLE_TYPES.iter().map(|kind| kind.1));
    let genres = Weighted::new(GENRES.iter().map(|genre| genre.1));
    // More titles each decade, most of them since 1990.
    let years = Weighted::new((1920..=2024).map(|year| 1.0 + ((year - 1920) as f64 / 18.0).exp()));
    let genre_counts = Weighted::new([4.0, 34.0, 38.0, 24.0]);
    let mut codes = HashSet::new();
    (0..TITLE_ROWS)
        .map(|_| {
            let (title_type, _, (low, high)) = TITLE_TYPES[types.sample(rng)];
            let mut chosen: Vec<&'static str> = Vec::new();
            for _ in 0..genre_counts.sample(rng) {
                let genre = GENRES[genres.sample(rng)].0;
                if !chosen.contains(&genre) {
                    chosen.push(genre);
                }
            }
            let start_year = 1920 + years.sample(rng) as i64;
            // Votes follow a power law: most titles have a few dozen, a few
            // have hundreds of thousands.
            let votes = (20.0 / (1.0 - rng.unit()).powf(1.15))
                .min(2_500_000.0)
                .round() as i64;
            let average = round_to(rng.normal(6.3, 1.1).clamp(1.0, 10.0), 1);
            Title {
                tconst: unique_code(rng, &mut codes, |rng| {
                    format!("tt{:07}", rng.between(1, 9_999_999))
                }),
                primary_title: title_name(rng),
                title_type,
                start_year: (!rng.chance(0.01)).then_some(start_year),
                runtime_minutes: (!rng.chance(0.06)).then(|| rng.between(low, high)),
                genres: chosen,
                rating: (!rng.chance(0.12)).then_some((average, votes)),
            }
        })
        .collect()
}

fn generate_people(rng: &mut Rng) -> Vec<Person> {
    let mut codes = HashSet::new();
    (0..PEOPLE_ROWS)
        .map(|index| {
            // A fixed mix: half actors and actresses, the rest crew.
            let first = match index % 10 {
                0..=2 => "actor",
                3..=5 => "actress",
                6 => "director",
                7 => "writer",
                8 => "producer",
                _ => *rng.pick(&["composer", "cinematographer", "editor"]),
            };
            let mut professions = vec![first];
            while professions.len() < 3 && rng.chance(0.3) {
                let extra = *rng.pick(PROFESSIONS);
                if !professions.contains(&extra) {
                    professions.push(extra);
                }
            }
            let birth_year = rng.between(1890, 2004);
            let death_year = (birth_year < 1960 && rng.chance((1960 - birth_year) as f64 / 60.0))
                .then(|| (birth_year + rng.between(45, 98)).min(2024));
            let first_names = match first {
                "actor" => MALE_NAMES,
                "actress" => FEMALE_NAMES,
                _ if rng.chance(0.5) => MALE_NAMES,
                _ => FEMALE_NAMES,
            };
            let career_start = birth_year + rng.between(18, 30);
            let career_end = (career_start + rng.between(3, 50))
                .min(death_year.unwrap_or(2024))
                .min(2024);
            Person {
                nconst: unique_code(rng, &mut codes, |rng| {
                    format!("nm{:07}", rng.between(1, 9_999_999))
                }),
                name: format!("{} {}", rng.pick(first_names), rng.pick(LAST_NAMES)),
                birth_year: (!rng.chance(0.22)).then_some(birth_year),
                death_year,
                professions,
                career: (career_start, career_end),
            }
        })
        .collect()
}

fn generate_principals(rng: &mut Rng, titles: &[Title], people: &[Person]) -> Vec<Principal> {
    let by_profession = |profession: &str| -> Vec<usize> {
        people
            .iter()
            .enumerate()
            .filter(|(_, person)| person.professions[0] == profession)
            .map(|(index, _)| index)
            .collect()
    };
    let actors = by_profession("actor");
    let actresses = by_profession("actress");
    let crews: Vec<Vec<usize>> = CREW.iter().map(|(_, job)| by_profession(job)).collect();
    // A few people work on many titles.
    let actor_weights = Weighted::zipf(actors.len(), 0.6);
    let actress_weights = Weighted::zipf(actresses.len(), 0.6);
    let crew_weights: Vec<Weighted> = crews
        .iter()
        .map(|crew| Weighted::zipf(crew.len(), 0.7))
        .collect();

    let is_active = |person: usize, year: Option<i64>| {
        let (start, end) = people[person].career;
        year.is_none_or(|year| (start..=end).contains(&year))
    };
    // Draws a popular person whose career covers the title's year. After 40
    // misses it picks any active person, or keeps the last draw when no one is active.
    let pick_active = |rng: &mut Rng, pool: &[usize], weights: &Weighted, year: Option<i64>| {
        let mut person = pool[weights.sample(rng)];
        for _ in 0..40 {
            if is_active(person, year) {
                return person;
            }
            person = pool[weights.sample(rng)];
        }
        let active: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&candidate| is_active(candidate, year))
            .collect();
        if active.is_empty() {
            person
        } else {
            *rng.pick(&active)
        }
    };

    let mut principals = Vec::new();
    for (title, entry) in titles.iter().enumerate() {
        let year = entry.start_year;
        let cast = if entry.title_type == "short" {
            rng.between(1, 3)
        } else {
            rng.between(2, 6)
        };
        let mut credited: Vec<usize> = Vec::new();
        let mut ordering = 0;
        for _ in 0..cast {
            let (category, person) = if rng.chance(0.55) {
                ("actor", pick_active(rng, &actors, &actor_weights, year))
            } else {
                (
                    "actress",
                    pick_active(rng, &actresses, &actress_weights, year),
                )
            };
            if credited.contains(&person) {
                continue;
            }
            credited.push(person);
            ordering += 1;
            let roles = if rng.chance(0.06) { 2 } else { 1 };
            let characters = (0..roles).map(|_| *rng.pick(CHARACTER_NAMES)).collect();
            principals.push(Principal {
                title,
                ordering,
                person,
                category,
                characters: Some(characters),
            });
        }
        for (job, &(category, _)) in CREW.iter().enumerate() {
            // Every title has a director; the other jobs are credited less often.
            let credit_chance = [1.0, 0.7, 0.5, 0.3, 0.2][job];
            if !rng.chance(credit_chance) {
                continue;
            }
            let person = pick_active(rng, &crews[job], &crew_weights[job], year);
            if credited.contains(&person) {
                continue;
            }
            credited.push(person);
            ordering += 1;
            principals.push(Principal {
                title,
                ordering,
                person,
                category,
                characters: None,
            });
        }
    }
    principals
}

fn load_tables(conn: &Connection, tables: &Tables) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE titles (tconst VARCHAR, primary_title VARCHAR, title_type VARCHAR,
             start_year INTEGER, runtime_minutes INTEGER, genres VARCHAR,
             average_rating DOUBLE, votes BIGINT);
         CREATE TABLE people (nconst VARCHAR, name VARCHAR, birth_year INTEGER,
             death_year INTEGER, professions VARCHAR);
         CREATE TABLE principals (tconst VARCHAR, ordering INTEGER, nconst VARCHAR,
             category VARCHAR, characters VARCHAR);",
    )
    .context("creating the staging tables failed")?;

    let mut appender = conn.appender("titles")?;
    for title in &tables.titles {
        appender.append_row(params![
            title.tconst,
            title.primary_title,
            title.title_type,
            title.start_year,
            title.runtime_minutes,
            title.genres.join("|"),
            title.rating.map(|rating| rating.0),
            title.rating.map(|rating| rating.1),
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("people")?;
    for person in &tables.people {
        appender.append_row(params![
            person.nconst,
            person.name,
            person.birth_year,
            person.death_year,
            person.professions.join("|"),
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("principals")?;
    for principal in &tables.principals {
        appender.append_row(params![
            tables.titles[principal.title].tconst,
            principal.ordering,
            tables.people[principal.person].nconst,
            principal.category,
            principal.characters.as_ref().map(|roles| roles.join("|")),
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
        let votes: i64 = tables
            .titles
            .iter()
            .filter_map(|title| title.rating.map(|rating| rating.1))
            .sum();
        let hint = "the generated rows changed: bump DATA_VERSION so existing files are \
                    rewritten, then update the pinned values and re-record the expectations";
        assert_eq!(tables.titles.len(), TITLE_ROWS);
        assert_eq!(tables.people.len(), PEOPLE_ROWS);
        assert_eq!(tables.principals.len() as u64, PRINCIPAL_ROWS, "{hint}");
        assert_eq!(votes, 3_341_473, "{hint}");
    }

    #[test]
    fn principals_are_billed_in_order() {
        let tables = generate_tables();
        let mut previous: Option<(usize, i64)> = None;
        for principal in &tables.principals {
            let person = &tables.people[principal.person];
            assert!(person.professions.contains(&principal.category));
            let acting = matches!(principal.category, "actor" | "actress");
            assert_eq!(principal.characters.is_some(), acting);
            let expected_ordering = match previous {
                Some((title, ordering)) if title == principal.title => ordering + 1,
                _ => 1,
            };
            assert_eq!(principal.ordering, expected_ordering);
            previous = Some((principal.title, principal.ordering));
        }
    }
}
