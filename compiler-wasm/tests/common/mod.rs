//! A host with in-memory files and table schemas, for compiling models
//! without a database.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::HashMap;

use malloy_compiler::{
    compile_model, compile_query, Column, Host, ModelOutput, Problem, QueryOutput, QueryRequest,
    QuerySpec,
};

#[derive(Default)]
pub struct TestHost {
    pub files: HashMap<String, String>,
    pub tables: HashMap<String, Vec<Column>>,
}

impl TestHost {
    pub fn file(mut self, path: &str, text: &str) -> TestHost {
        self.files.insert(path.to_string(), text.to_string());
        self
    }

    /// Adds a table (or SQL text) with `name TYPE` columns.
    pub fn table(mut self, name: &str, columns: &[(&str, &str)]) -> TestHost {
        let columns = columns
            .iter()
            .map(|(name, sql_type)| Column {
                name: name.to_string(),
                sql_type: sql_type.to_string(),
            })
            .collect();
        self.tables.insert(name.to_string(), columns);
        self
    }
}

impl Host for TestHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("no such file: {path}"))
    }

    fn table_schema(&self, _connection: &str, table: &str) -> Result<Vec<Column>, String> {
        self.tables
            .get(table)
            .cloned()
            .ok_or_else(|| format!("no such table: {table}"))
    }

    fn sql_schema(&self, _connection: &str, sql: &str) -> Result<Vec<Column>, String> {
        self.tables
            .get(sql.trim())
            .cloned()
            .ok_or_else(|| format!("unknown SQL: {sql}"))
    }
}

/// A small shop: users with their order lines (one-to-many), products
/// (many-to-one) and a keyless lookup joined across every row.
pub const SHOP_MODEL: &str = r#"
source: products is duckdb.table('products.parquet') extend {
  primary_key: id
  measure: product_count is count()
}

source: order_lines is duckdb.table('lines.parquet') extend {
  primary_key: id
  join_one: products with product_id
  measure:
    line_count is count()
    revenue is sum(sale_price)
}

source: users is duckdb.table('users.parquet') extend {
  primary_key: id
  join_many: lines is order_lines on id = lines.user_id
  dimension: is_adult is age >= 18
  measure:
    user_count is count()
    total_age is sum(age)
    mean_age is avg(age)
  view: by_state is {
    group_by: state
    aggregate: user_count
  }
}

source: sites is duckdb.sql("SELECT 1 AS site") extend {
  measure: site_count is count()
}
"#;

pub fn shop_host() -> TestHost {
    TestHost::default()
        .file("shop.malloy", SHOP_MODEL)
        .table(
            "products.parquet",
            &[
                ("id", "BIGINT"),
                ("category", "VARCHAR"),
                ("price", "DOUBLE"),
            ],
        )
        .table(
            "lines.parquet",
            &[
                ("id", "BIGINT"),
                ("user_id", "BIGINT"),
                ("product_id", "BIGINT"),
                ("sale_price", "DECIMAL(10,2)"),
                ("created_at", "TIMESTAMP"),
                ("status", "VARCHAR"),
            ],
        )
        .table(
            "users.parquet",
            &[
                ("id", "BIGINT"),
                ("age", "INTEGER"),
                ("state", "VARCHAR"),
                ("signed_up", "DATE"),
                ("tags", "VARCHAR[]"),
                ("address", "STRUCT(city VARCHAR, zip VARCHAR)"),
            ],
        )
        .table("SELECT 1 AS site", &[("site", "INTEGER")])
}

pub fn request(model_path: &str, query: &str) -> QueryRequest {
    QueryRequest {
        model_path: model_path.to_string(),
        query: QuerySpec::Text(query.to_string()),
        restricted: true,
        default_row_limit: None,
    }
}

/// Compiles `query` against the shop model, failing the test on problems.
pub fn shop_query(query: &str) -> QueryOutput {
    match compile_query(&shop_host(), &request("shop.malloy", query)) {
        Ok(output) => output,
        Err(problems) => panic!("{query}\n{problems:#?}"),
    }
}

/// Returns the problems of compiling `query` against the shop model.
pub fn shop_problems(query: &str) -> Vec<Problem> {
    match compile_query(&shop_host(), &request("shop.malloy", query)) {
        Ok(output) => panic!("{query} compiled, expected problems:\n{}", output.sql),
        Err(problems) => problems,
    }
}

pub fn shop_model() -> ModelOutput {
    match compile_model(&shop_host(), "shop.malloy") {
        Ok(output) => output,
        Err(problems) => panic!("{problems:#?}"),
    }
}

/// Returns the result schema's fields as JSON.
pub fn schema_fields(output: &QueryOutput) -> Vec<serde_json::Value> {
    let schema: serde_json::Value = serde_json::from_str(&output.schema).expect("schema is JSON");
    schema["fields"]
        .as_array()
        .expect("fields is an array")
        .clone()
}
