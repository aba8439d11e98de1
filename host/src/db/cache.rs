//! A bounded in-memory cache of query results for one package database.
//!
//! Entries are keyed by the exact SQL text. The row cap is a constant and
//! the cache belongs to one `PackageDatabase`, so the SQL is all that can
//! change the rows. Entries expire after a time to live, and the least
//! recently used ones are evicted once their approximate size passes the
//! byte budget. Concurrent requests for the same uncached SQL wait for one
//! execution ("single flight"). Errors are never stored.
//!
//! The cache does not watch the package's files: a file changed on disk
//! shows up after a package reload, which opens a new database with an
//! empty cache, or once the entry's time to live has passed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use duckdb::types::Value;

use super::{DbError, QueryRows};

/// Default byte budget of a package's cache: 256 MiB.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024 * 1024;

/// Default time an entry stays valid.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Size and lifetime of a query result cache. A budget of 0 bytes or a
/// time to live of 0 disables caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryCacheSettings {
    pub max_bytes: usize,
    pub ttl: Duration,
}

impl Default for QueryCacheSettings {
    fn default() -> Self {
        QueryCacheSettings {
            max_bytes: DEFAULT_MAX_BYTES,
            ttl: DEFAULT_TTL,
        }
    }
}

impl QueryCacheSettings {
    /// Settings that cache nothing.
    pub const DISABLED: QueryCacheSettings = QueryCacheSettings {
        max_bytes: 0,
        ttl: Duration::ZERO,
    };

    /// Builds settings from the command-line units: mebibytes and seconds.
    pub fn from_megabytes(megabytes: u64, ttl_seconds: u64) -> QueryCacheSettings {
        let max_bytes = megabytes
            .saturating_mul(1024 * 1024)
            .try_into()
            .unwrap_or(usize::MAX);
        QueryCacheSettings {
            max_bytes,
            ttl: Duration::from_secs(ttl_seconds),
        }
    }

    pub fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.ttl.is_zero()
    }
}

/// How a statement relates to the cache, decided from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// A single read-only query without time, random or sequence functions:
    /// its rows may be cached.
    Cacheable,
    /// A read-only query whose rows may differ between runs.
    Volatile,
    /// A statement that may change the database (DDL, DML, settings) or
    /// several statements: it is not cached and clears the cache.
    Write,
}

/// The outcome of [`QueryCache::run`].
#[derive(Debug)]
pub struct CacheOutcome {
    pub result: Result<QueryRows, DbError>,
    /// Whether the rows came from the cache or from another request's
    /// execution, so this request did not run the query itself.
    pub hit: bool,
}

pub struct QueryCache {
    settings: QueryCacheSettings,
    state: Mutex<CacheState>,
    flights: Mutex<HashMap<FlightKey, Arc<Flight>>>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<String, Entry>,
    /// Keys by last use, oldest first.
    recency: BTreeMap<u64, String>,
    next_use: u64,
    bytes: usize,
    /// Incremented by every write statement. A result computed under an
    /// older generation may predate the write and is not stored.
    generation: u64,
}

struct Entry {
    rows: QueryRows,
    bytes: usize,
    stored_at: Instant,
    last_use: u64,
}

/// In-flight executions are keyed by generation too, so a request that
/// arrives after a write does not join an execution that started before.
type FlightKey = (u64, String);

/// One execution that concurrent requests for the same SQL wait for.
#[derive(Default)]
struct Flight {
    outcome: Mutex<Option<FlightOutcome>>,
    finished: Condvar,
}

enum FlightOutcome {
    Finished(Result<QueryRows, DbError>),
    /// The leader's request was cancelled, so its error is not the
    /// waiters' answer.
    Cancelled,
}

impl QueryCache {
    pub fn new(settings: QueryCacheSettings) -> QueryCache {
        QueryCache {
            settings,
            state: Mutex::new(CacheState::default()),
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the cached rows for `sql`, or runs `execute` and caches its
    /// rows when the statement is cacheable.
    pub fn run(
        &self,
        sql: &str,
        execute: impl FnOnce() -> Result<QueryRows, DbError>,
    ) -> CacheOutcome {
        self.run_cancellable(sql, execute, || false)
    }

    /// Runs like [`QueryCache::run`]. When `execute` fails after
    /// `cancelled` has turned true, the requests waiting for this execution
    /// run the query again instead of receiving the cancellation error.
    pub fn run_cancellable(
        &self,
        sql: &str,
        execute: impl FnOnce() -> Result<QueryRows, DbError>,
        cancelled: impl Fn() -> bool,
    ) -> CacheOutcome {
        let kind = classify(sql);
        if kind == StatementKind::Write {
            let result = execute();
            self.invalidate();
            return CacheOutcome { result, hit: false };
        }
        if !self.settings.enabled() || kind == StatementKind::Volatile {
            return CacheOutcome {
                result: execute(),
                hit: false,
            };
        }

        // Each pass either returns or becomes the leader. A waiter passes
        // again when the leader it waited for was cancelled.
        let (generation, key, flight) = loop {
            if let Some(rows) = self.lookup(sql) {
                return CacheOutcome {
                    result: Ok(rows),
                    hit: true,
                };
            }
            let generation = self.lock_state().generation;
            let key = (generation, sql.to_string());
            let (flight, leader) = {
                let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
                match flights.get(&key) {
                    Some(flight) => (Arc::clone(flight), false),
                    None => {
                        let flight = Arc::new(Flight::default());
                        flights.insert(key.clone(), Arc::clone(&flight));
                        (flight, true)
                    }
                }
            };
            if leader {
                break (generation, key, flight);
            }
            if let FlightOutcome::Finished(result) = flight.wait() {
                return CacheOutcome { result, hit: true };
            }
        };

        // A previous leader may have stored the rows between the lookup
        // and the registration of this flight.
        let mut guard = FlightGuard {
            cache: self,
            key,
            flight,
            published: false,
        };
        if let Some(rows) = self.lookup(sql) {
            guard.publish(FlightOutcome::Finished(Ok(rows.clone())));
            return CacheOutcome {
                result: Ok(rows),
                hit: true,
            };
        }
        let result = execute();
        match &result {
            Ok(rows) => {
                self.store(sql, rows, generation);
                guard.publish(FlightOutcome::Finished(Ok(rows.clone())));
            }
            Err(_) if cancelled() => guard.publish(FlightOutcome::Cancelled),
            Err(error) => guard.publish(FlightOutcome::Finished(Err(error.clone()))),
        }
        CacheOutcome { result, hit: false }
    }

    /// Drops every entry and makes results still being computed
    /// unstorable.
    pub fn invalidate(&self) {
        let mut state = self.lock_state();
        state.generation += 1;
        state.entries.clear();
        state.recency.clear();
        state.bytes = 0;
    }

    /// Returns the number of entries and their approximate size in bytes.
    pub fn usage(&self) -> (usize, usize) {
        let state = self.lock_state();
        (state.entries.len(), state.bytes)
    }

    fn lookup(&self, sql: &str) -> Option<QueryRows> {
        let mut state = self.lock_state();
        let state = &mut *state;
        let entry = state.entries.get(sql)?;
        if entry.stored_at.elapsed() >= self.settings.ttl {
            let entry = state.entries.remove(sql)?;
            state.recency.remove(&entry.last_use);
            state.bytes -= entry.bytes;
            return None;
        }
        let use_number = state.next_use;
        state.next_use += 1;
        let entry = state.entries.get_mut(sql)?;
        state.recency.remove(&entry.last_use);
        entry.last_use = use_number;
        state.recency.insert(use_number, sql.to_string());
        Some(entry.rows.clone())
    }

    fn store(&self, sql: &str, rows: &QueryRows, generation: u64) {
        let bytes = approximate_size(sql, rows);
        let outputs_generated_key = rows.columns.iter().any(|name| name == GENERATED_KEY_COLUMN);
        if bytes > self.settings.max_bytes || outputs_generated_key {
            return;
        }
        let mut state = self.lock_state();
        if state.generation != generation {
            return;
        }
        if let Some(old) = state.entries.remove(sql) {
            state.recency.remove(&old.last_use);
            state.bytes -= old.bytes;
        }
        while state.bytes + bytes > self.settings.max_bytes {
            let Some((_, oldest)) = state.recency.pop_first() else {
                break;
            };
            if let Some(evicted) = state.entries.remove(&oldest) {
                state.bytes -= evicted.bytes;
            }
        }
        let use_number = state.next_use;
        state.next_use += 1;
        state.recency.insert(use_number, sql.to_string());
        state.bytes += bytes;
        state.entries.insert(
            sql.to_string(),
            Entry {
                rows: rows.clone(),
                bytes,
                stored_at: Instant::now(),
                last_use: use_number,
            },
        );
    }

    fn lock_state(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Flight {
    fn wait(&self) -> FlightOutcome {
        let mut outcome = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match outcome.as_ref() {
                Some(FlightOutcome::Finished(Ok(rows))) => {
                    return FlightOutcome::Finished(Ok(rows.clone()))
                }
                Some(FlightOutcome::Finished(Err(error))) => {
                    return FlightOutcome::Finished(Err(error.clone()))
                }
                Some(FlightOutcome::Cancelled) => return FlightOutcome::Cancelled,
                None => {}
            }
            outcome = self
                .finished
                .wait(outcome)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Publishes the leader's result to the waiters and unregisters the flight,
/// also when the execution panics, so waiters never block forever.
struct FlightGuard<'a> {
    cache: &'a QueryCache,
    key: FlightKey,
    flight: Arc<Flight>,
    published: bool,
}

impl FlightGuard<'_> {
    fn publish(&mut self, outcome: FlightOutcome) {
        self.cache
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
        *self
            .flight
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(outcome);
        self.flight.finished.notify_all();
        self.published = true;
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        if !self.published {
            self.publish(FlightOutcome::Finished(Err(DbError::Sql(
                "the query stopped unexpectedly; run it again".into(),
            ))));
        }
    }
}

/// Functions whose result can change between runs on unchanged data, in
/// lower case. `sample` and `tablesample` cover DuckDB's random sampling
/// clauses.
const VOLATILE_WORDS: &[&str] = &[
    "now",
    "today",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_localtime",
    "current_localtimestamp",
    "localtime",
    "localtimestamp",
    "transaction_timestamp",
    "get_current_time",
    "get_current_timestamp",
    "random",
    "setseed",
    "uuid",
    "uuidv4",
    "uuidv7",
    "gen_random_uuid",
    "nextval",
    "currval",
    "sample",
    "tablesample",
];

/// Keywords of statements that change the database or its settings, in
/// lower case.
const WRITE_WORDS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "merge",
    "create",
    "drop",
    "alter",
    "truncate",
    "copy",
    "attach",
    "detach",
    "set",
    "reset",
    "pragma",
    "call",
    "load",
    "install",
    "checkpoint",
    "vacuum",
    "export",
    "import",
    "begin",
    "commit",
    "rollback",
    "abort",
    "use",
    "prepare",
    "execute",
    "deallocate",
];

/// Leading keywords of read-only queries, in lower case.
const READ_WORDS: &[&str] = &["select", "with", "from", "values", "table"];

/// The row key the compiler adds to a relation before it unnests an array
/// of it: the SQL reads the key only to make aggregates count each row
/// once, so the rows do not depend on the random values.
const GENERATED_KEY_DEFINITION: &str = "GEN_RANDOM_UUID() AS \"__distinct_key\"";

/// The generated key's column name; results that output it are not cached.
const GENERATED_KEY_COLUMN: &str = "__distinct_key";

/// Classifies `sql` from its words outside string literals and comments.
///
/// The check is conservative: a column named `update` or `sample` makes a
/// query uncacheable, which costs time but never returns stale rows.
///
/// NOTE: the compiler's generated row key is exempt by its exact text, so
/// hand-written SQL that copies that text and outputs the key under another
/// name would be cached with the first run's random values.
pub fn classify(sql: &str) -> StatementKind {
    let scan = if sql.contains(GENERATED_KEY_DEFINITION) {
        scan_words(&sql.replace(GENERATED_KEY_DEFINITION, "NULL"))
    } else {
        scan_words(sql)
    };
    let starts_as_read = scan.starts_with_parenthesis
        || scan
            .words
            .first()
            .is_some_and(|word| READ_WORDS.contains(&word.as_str()));
    let writes = scan
        .words
        .iter()
        .any(|word| WRITE_WORDS.contains(&word.as_str()));
    if !starts_as_read || writes || scan.several_statements {
        return StatementKind::Write;
    }
    if scan
        .words
        .iter()
        .any(|word| VOLATILE_WORDS.contains(&word.as_str()))
    {
        return StatementKind::Volatile;
    }
    StatementKind::Cacheable
}

struct WordScan {
    /// Identifiers and keywords in lower case, quoted identifiers included.
    words: Vec<String>,
    starts_with_parenthesis: bool,
    /// A `;` followed by more than whitespace or comments.
    several_statements: bool,
}

fn scan_words(sql: &str) -> WordScan {
    let mut scan = WordScan {
        words: Vec::new(),
        starts_with_parenthesis: false,
        several_statements: false,
    };
    let mut saw_token = false;
    let mut saw_semicolon = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '-' && chars.peek() == Some(&'-') {
            for next in chars.by_ref() {
                if next == '\n' {
                    break;
                }
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut previous = ' ';
            for next in chars.by_ref() {
                if previous == '*' && next == '/' {
                    break;
                }
                previous = next;
            }
            continue;
        }
        if saw_semicolon {
            scan.several_statements = true;
        }
        if c == ';' {
            saw_semicolon = true;
            continue;
        }
        if !saw_token && c == '(' {
            scan.starts_with_parenthesis = true;
        }
        saw_token = true;
        match c {
            '\'' => skip_quoted(&mut chars, '\''),
            '"' => {
                let mut word = String::new();
                while let Some(next) = chars.next() {
                    if next == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            word.push('"');
                            continue;
                        }
                        break;
                    }
                    word.push(next);
                }
                scan.words.push(word.to_lowercase());
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut word = c.to_lowercase().to_string();
                while let Some(&next) = chars.peek() {
                    if !(next.is_alphanumeric() || next == '_' || next == '$') {
                        break;
                    }
                    word.extend(next.to_lowercase());
                    chars.next();
                }
                scan.words.push(word);
            }
            _ => {}
        }
    }
    scan
}

fn skip_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) {
    while let Some(next) = chars.next() {
        if next == quote {
            if chars.peek() == Some(&quote) {
                chars.next();
                continue;
            }
            return;
        }
    }
}

/// Estimates the memory an entry uses: the key, the column names, and each
/// value's inline size plus its heap data.
fn approximate_size(sql: &str, rows: &QueryRows) -> usize {
    let columns: usize = rows
        .columns
        .iter()
        .map(|name| std::mem::size_of::<String>() + name.len())
        .sum();
    let values: usize = rows
        .rows
        .iter()
        .map(|row| std::mem::size_of::<Vec<Value>>() + row.iter().map(value_size).sum::<usize>())
        .sum();
    // Twice the key: the map and the recency list each own a copy.
    2 * sql.len() + columns + values + std::mem::size_of::<Entry>()
}

fn value_size(value: &Value) -> usize {
    let heap = match value {
        Value::Text(text) | Value::Enum(text) => text.len(),
        Value::Blob(bytes) => bytes.len(),
        Value::List(items) | Value::Array(items) => items.iter().map(value_size).sum(),
        Value::Struct(fields) => fields
            .iter()
            .map(|(name, value)| std::mem::size_of::<String>() + name.len() + value_size(value))
            .sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(key, value)| value_size(key) + value_size(value))
            .sum(),
        Value::Union(inner) => value_size(inner),
        _ => 0,
    };
    std::mem::size_of::<Value>() + heap
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rows(text: &str) -> QueryRows {
        QueryRows {
            columns: vec!["a".into()],
            rows: vec![vec![Value::Text(text.into())]],
        }
    }

    fn settings(max_bytes: usize, ttl: Duration) -> QueryCacheSettings {
        QueryCacheSettings { max_bytes, ttl }
    }

    #[test]
    fn classify_reads_and_writes() {
        assert_eq!(classify("SELECT 1"), StatementKind::Cacheable);
        assert_eq!(
            classify("-- note\nWITH t AS (SELECT 1) SELECT * FROM t;"),
            StatementKind::Cacheable
        );
        assert_eq!(classify("(SELECT 1)"), StatementKind::Cacheable);
        assert_eq!(classify("FROM 'data/a.csv'"), StatementKind::Cacheable);
        assert_eq!(
            classify("SELECT 'now', 'delete' AS x"),
            StatementKind::Cacheable
        );
        assert_eq!(classify("SELECT now()"), StatementKind::Volatile);
        assert_eq!(classify("SELECT CURRENT_DATE"), StatementKind::Volatile);
        assert_eq!(classify("select \"random\"()"), StatementKind::Volatile);
        assert_eq!(
            classify("SELECT * FROM t USING SAMPLE 10%"),
            StatementKind::Volatile
        );
        assert_eq!(classify("SELECT nextval('s')"), StatementKind::Volatile);
        assert_eq!(
            classify(
                "SELECT count(DISTINCT base.\"__distinct_key\") AS n FROM \
                 (SELECT GEN_RANDOM_UUID() AS \"__distinct_key\", keyed.* FROM t AS keyed) AS base"
            ),
            StatementKind::Cacheable
        );
        assert_eq!(
            classify("SELECT GEN_RANDOM_UUID() AS id"),
            StatementKind::Volatile
        );
        assert_eq!(classify("CREATE TABLE t (a INT)"), StatementKind::Write);
        assert_eq!(
            classify("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"),
            StatementKind::Write
        );
        assert_eq!(classify("SELECT 1; DROP TABLE t"), StatementKind::Write);
        assert_eq!(classify("SELECT 1; SELECT 2"), StatementKind::Write);
        assert_eq!(classify("SET threads = 1"), StatementKind::Write);
        assert_eq!(classify("DESCRIBE t"), StatementKind::Write);
        assert_eq!(classify(""), StatementKind::Write);
    }

    #[test]
    fn cache_returns_stored_rows() {
        let cache = QueryCache::new(QueryCacheSettings::default());
        let first = cache.run("SELECT 1", || Ok(rows("x")));
        assert!(!first.hit);
        let second = cache.run("SELECT 1", || panic!("the second run must hit"));
        assert!(second.hit);
        assert_eq!(second.result.unwrap(), rows("x"));
    }

    #[test]
    fn cache_skips_errors() {
        let cache = QueryCache::new(QueryCacheSettings::default());
        let failed = cache.run("SELECT 1", || Err(DbError::Sql("boom".into())));
        assert!(failed.result.is_err());
        let retried = cache.run("SELECT 1", || Ok(rows("x")));
        assert!(!retried.hit);
        assert_eq!(retried.result.unwrap(), rows("x"));
    }

    #[test]
    fn cache_expires_entries() {
        let cache = QueryCache::new(settings(1 << 20, Duration::from_millis(50)));
        cache.run("SELECT 1", || Ok(rows("old")));
        std::thread::sleep(Duration::from_millis(80));
        let outcome = cache.run("SELECT 1", || Ok(rows("new")));
        assert!(!outcome.hit);
        assert_eq!(outcome.result.unwrap(), rows("new"));
    }

    #[test]
    fn cache_evicts_least_recently_used() {
        let one_entry = approximate_size("SELECT 1", &rows("x"));
        let cache = QueryCache::new(settings(2 * one_entry + 1, DEFAULT_TTL));
        cache.run("SELECT 1", || Ok(rows("x")));
        cache.run("SELECT 2", || Ok(rows("x")));
        // Using 1 makes 2 the least recently used entry.
        assert!(cache.run("SELECT 1", || Ok(rows("x"))).hit);
        cache.run("SELECT 3", || Ok(rows("x")));
        let (entries, bytes) = cache.usage();
        assert_eq!(entries, 2);
        assert!(bytes <= 2 * one_entry + 1);
        assert!(cache.run("SELECT 1", || Ok(rows("x"))).hit);
        assert!(cache.run("SELECT 3", || Ok(rows("x"))).hit);
        assert!(!cache.run("SELECT 2", || Ok(rows("x"))).hit);
    }

    #[test]
    fn cache_skips_generated_key_output() {
        let cache = QueryCache::new(QueryCacheSettings::default());
        let sql = "SELECT * FROM (SELECT GEN_RANDOM_UUID() AS \"__distinct_key\") AS k";
        cache.run(sql, || {
            Ok(QueryRows {
                columns: vec![GENERATED_KEY_COLUMN.into()],
                rows: vec![vec![Value::Text("7d1c".into())]],
            })
        });
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn cache_skips_oversized_results() {
        let cache = QueryCache::new(settings(16, DEFAULT_TTL));
        cache.run("SELECT 1", || Ok(rows("x")));
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn disabled_cache_runs_every_time() {
        let cache = QueryCache::new(QueryCacheSettings::DISABLED);
        cache.run("SELECT 1", || Ok(rows("x")));
        assert!(!cache.run("SELECT 1", || Ok(rows("x"))).hit);
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn write_clears_cache() {
        let cache = QueryCache::new(QueryCacheSettings::default());
        cache.run("SELECT * FROM t", || Ok(rows("old")));
        cache.run("INSERT INTO t VALUES (1)", || Ok(rows("")));
        assert_eq!(cache.usage(), (0, 0));
        assert!(!cache.run("SELECT * FROM t", || Ok(rows("new"))).hit);
    }

    #[test]
    fn single_flight_runs_once() {
        let cache = Arc::new(QueryCache::new(QueryCacheSettings::default()));
        let executions = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let cache = Arc::clone(&cache);
                let executions = Arc::clone(&executions);
                std::thread::spawn(move || {
                    cache
                        .run("SELECT 1", || {
                            executions.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            Ok(rows("x"))
                        })
                        .result
                        .unwrap()
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), rows("x"));
        }
        assert_eq!(executions.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn cancelled_leader_lets_waiter_run() {
        let cache = Arc::new(QueryCache::new(QueryCacheSettings::default()));
        let leader = {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                cache.run_cancellable(
                    "SELECT 1",
                    || {
                        std::thread::sleep(Duration::from_millis(300));
                        Err(DbError::Sql("INTERRUPT Error: Interrupted!".into()))
                    },
                    || true,
                )
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        let waiter = cache.run("SELECT 1", || Ok(rows("x")));
        assert!(leader.join().unwrap().result.is_err());
        assert_eq!(waiter.result.unwrap(), rows("x"));
        assert!(!waiter.hit);
    }

    #[test]
    fn single_flight_survives_panic() {
        let cache = Arc::new(QueryCache::new(QueryCacheSettings::default()));
        let leader = {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                cache.run("SELECT 1", || {
                    std::thread::sleep(Duration::from_millis(200));
                    panic!("the query panicked");
                })
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        let waiter = cache.run("SELECT 1", || Ok(rows("x")));
        assert!(leader.join().is_err());
        // The waiter either joined the failed flight and got its error, or
        // arrived after it and ran the query itself.
        match waiter.result {
            Ok(result) => assert_eq!(result, rows("x")),
            Err(error) => assert!(error.to_string().contains("stopped unexpectedly")),
        }
        let retried = cache.run("SELECT 1", || Ok(rows("y")));
        assert!(retried.result.is_ok());
    }
}
