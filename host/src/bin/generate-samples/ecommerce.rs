//! The online clothing shop package: users, products, inventory items and
//! order items from 2021 to 2024.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use duckdb::{params, Connection};

use crate::calendar::civil_from_days;
use crate::parquet::{tables_are_current, write_parquet};
use crate::rng::{round_to, Rng, Weighted};

/// The data version stored in every file. Bump it whenever the generated
/// rows change, so existing files are rewritten on the next run.
const DATA_VERSION: &str = "ecommerce-1";

const USER_ROWS: usize = 12_000;
const PRODUCT_ROWS: usize = 1_500;
const ORDER_COUNT: usize = 26_000;
/// Stock that was never sold, on top of one inventory item per order item.
const UNSOLD_ITEMS: usize = 14_000;

/// 2021-01-01 as days since 1970-01-01.
const FIRST_DAY: i64 = 18_628;
/// Four years: 2021-01-01 to 2024-12-31.
const DAY_COUNT: i64 = 1_461;
const LAST_DAY: i64 = FIRST_DAY + DAY_COUNT - 1;
const SECONDS_PER_DAY: i64 = 86_400;

/// (country, share of users, regions).
const COUNTRIES: &[(&str, f64, &[&str])] = &[
    (
        "United States",
        46.0,
        &["CA", "TX", "NY", "FL", "IL", "WA", "PA", "OH", "GA", "CO"],
    ),
    (
        "Canada",
        12.0,
        &["Ontario", "Quebec", "British Columbia", "Alberta"],
    ),
    (
        "United Kingdom",
        11.0,
        &["England", "Scotland", "Wales", "Northern Ireland"],
    ),
    ("Germany", 9.0, &["Bavaria", "Berlin", "Hesse", "Saxony"]),
    (
        "Australia",
        8.0,
        &["New South Wales", "Victoria", "Queensland"],
    ),
    ("Brazil", 7.0, &["Sao Paulo", "Parana", "Bahia"]),
    ("Japan", 5.0, &["Tokyo", "Osaka", "Hokkaido"]),
    ("Spain", 2.0, &["Madrid", "Catalonia"]),
];

const TRAFFIC_SOURCES: &[(&str, f64)] = &[
    ("Search", 52.0),
    ("Organic", 16.0),
    ("Facebook", 11.0),
    ("Email", 9.0),
    ("Display", 7.0),
    ("Referral", 5.0),
];

const CITY_STARTS: &[&str] = &[
    "Alder", "Birch", "Bright", "Castle", "Cobble", "Dover", "East", "Ember", "Falcon", "Frost",
    "Gran", "Hazel", "Hollow", "Juniper", "Lark", "Lowell", "Meadow", "New", "Orchard", "Port",
    "Quarry", "Raven", "Sage", "Shore", "Sterling", "Summer", "Tall", "Upper", "Wester", "Wind",
];
const CITY_ENDS: &[&str] = &[
    "stead", "ton", "field", "mouth", "wick", "borough", "ham", "ford", "side", "water", "wood",
    "moor",
];
const FEMALE_NAMES: &[&str] = &[
    "Alma", "Bea", "Clara", "Dina", "Edie", "Flora", "Gwen", "Hana", "Ines", "June", "Lena",
    "Mila", "Nora", "Olga", "Pia", "Rhea", "Sana", "Talia", "Uma", "Vera", "Wren", "Yara", "Zoe",
];
const MALE_NAMES: &[&str] = &[
    "Abel", "Bruno", "Cyrus", "Dario", "Emil", "Felix", "Gus", "Hal", "Ivo", "Jude", "Kai", "Lars",
    "Milo", "Ned", "Otto", "Pere", "Rafe", "Silas", "Theo", "Ulf", "Vito", "Wade",
];
const LAST_NAMES: &[&str] = &[
    "Ashdown",
    "Blackwood",
    "Crane",
    "Drummond",
    "Ellery",
    "Fairbanks",
    "Gilchrist",
    "Harrow",
    "Ivers",
    "Jennings",
    "Kingsley",
    "Lockhart",
    "Merriweather",
    "Nightingale",
    "Osgood",
    "Pemberton",
    "Quill",
    "Rowntree",
    "Shackleton",
    "Tolliver",
    "Umber",
    "Valentine",
    "Wexford",
    "Yeats",
];

/// (category, departments it is sold in, retail price range in dollars,
/// share of products, share of sales).
type Category = (&'static str, &'static [&'static str], (f64, f64), f64, f64);
const CATEGORIES: &[Category] = &[
    ("Jeans", &["Women", "Men"], (35.0, 180.0), 12.0, 14.0),
    ("Tops & Tees", &["Women", "Men"], (9.0, 60.0), 16.0, 18.0),
    ("Sweaters", &["Women", "Men"], (28.0, 160.0), 9.0, 9.0),
    (
        "Outerwear & Coats",
        &["Women", "Men"],
        (60.0, 420.0),
        7.0,
        6.0,
    ),
    ("Shorts", &["Women", "Men"], (15.0, 70.0), 8.0, 8.0),
    ("Swim", &["Women", "Men"], (18.0, 110.0), 6.0, 5.0),
    ("Active", &["Women", "Men"], (20.0, 120.0), 8.0, 9.0),
    ("Sleep & Lounge", &["Women", "Men"], (14.0, 90.0), 6.0, 6.0),
    ("Socks", &["Women", "Men"], (5.0, 24.0), 5.0, 7.0),
    ("Accessories", &["Women", "Men"], (8.0, 140.0), 8.0, 7.0),
    ("Dresses", &["Women"], (30.0, 260.0), 9.0, 8.0),
    ("Suits", &["Men"], (140.0, 690.0), 6.0, 3.0),
];

const BRANDS: &[&str] = &[
    "Northline",
    "Cobalt & Co",
    "Marigold",
    "Fieldhouse",
    "Ironweave",
    "Seabright",
    "Loomwell",
    "Pennant",
    "Driftwood",
    "Calloway",
    "Stitchcraft",
    "Harbor Lane",
    "Verdant",
    "Oxbow",
    "Blue Heron",
    "Thimble",
    "Kestrel",
    "Amberly",
    "Tundra",
    "Wayfare",
    "Ridgeback",
    "Lumen",
    "Fable",
    "Quarryman",
    "Saltmarsh",
    "Brambly",
    "Cinder",
    "Willowby",
    "Parkhurst",
    "Mossgrove",
];
const STYLE_WORDS: &[&str] = &[
    "Classic",
    "Relaxed",
    "Slim",
    "Vintage",
    "Everyday",
    "Premium",
    "Lightweight",
    "Cozy",
    "Tailored",
    "Heritage",
    "Organic",
    "Stretch",
];
const COLORS: &[&str] = &[
    "Black", "Navy", "Olive", "Rust", "Ivory", "Charcoal", "Sky", "Plum", "Sand", "Forest",
];

struct User {
    first_name: &'static str,
    last_name: &'static str,
    gender: &'static str,
    age: Option<i64>,
    city: Option<String>,
    state: &'static str,
    country: &'static str,
    created_at: i64,
    traffic_source: &'static str,
}

struct Product {
    category: usize,
    brand: Option<&'static str>,
    department: &'static str,
    name: String,
    retail_price: f64,
    cost: f64,
}

struct InventoryItem {
    product: usize,
    cost: f64,
    created_at: i64,
    sold_at: Option<i64>,
}

struct OrderItem {
    order_id: i64,
    user: usize,
    product: usize,
    inventory_item: usize,
    status: &'static str,
    sale_price: f64,
    created_at: i64,
    shipped_at: Option<i64>,
    delivered_at: Option<i64>,
    returned_at: Option<i64>,
}

/// The rows of every table, before DuckDB stores them.
struct Tables {
    users: Vec<User>,
    products: Vec<Product>,
    inventory: Vec<InventoryItem>,
    order_items: Vec<OrderItem>,
}

/// The number of order items the generator draws. A test pins it, so the
/// up-to-date check needs no generation.
const ORDER_ITEM_ROWS: u64 = 42_562;

/// Lists the tables with the row counts they are written with.
fn expected_tables() -> [(&'static str, u64); 4] {
    [
        ("users", USER_ROWS as u64),
        ("products", PRODUCT_ROWS as u64),
        ("inventory_items", ORDER_ITEM_ROWS + UNSOLD_ITEMS as u64),
        ("order_items", ORDER_ITEM_ROWS),
    ]
}

/// Writes the package's tables unless they are already current.
pub fn ensure(data_dir: &Path, force: bool) -> Result<()> {
    let started = Instant::now();
    let conn =
        Connection::open_in_memory().context("opening an in-memory DuckDB database failed")?;
    let expected = expected_tables();
    if !force && tables_are_current(&conn, data_dir, &expected, DATA_VERSION) {
        println!("ecommerce: data in {} is up to date", data_dir.display());
        return Ok(());
    }

    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {} failed", data_dir.display()))?;
    let tables = generate_tables();
    if tables.order_items.len() as u64 != ORDER_ITEM_ROWS {
        bail!(
            "the generator drew {} order items but ORDER_ITEM_ROWS is {}; update the constant",
            tables.order_items.len(),
            ORDER_ITEM_ROWS
        );
    }
    load_tables(&conn, &tables)?;
    for (table, _) in expected {
        let select = match table {
            "users" => "SELECT id, first_name, last_name, gender, age, city, state, country, \
                make_timestamp(created_second * 1000000) AS created_at, traffic_source \
                FROM users ORDER BY id"
                .to_string(),
            "inventory_items" => "SELECT id, product_id, cost, \
                make_timestamp(created_second * 1000000) AS created_at, \
                make_timestamp(sold_second * 1000000) AS sold_at \
                FROM inventory_items ORDER BY id"
                .to_string(),
            "order_items" => "SELECT id, order_id, user_id, product_id, inventory_item_id, \
                status, sale_price, make_timestamp(created_second * 1000000) AS created_at, \
                make_timestamp(shipped_second * 1000000) AS shipped_at, \
                make_timestamp(delivered_second * 1000000) AS delivered_at, \
                make_timestamp(returned_second * 1000000) AS returned_at \
                FROM order_items ORDER BY id"
                .to_string(),
            other => format!("SELECT * FROM {other} ORDER BY id"),
        };
        write_parquet(
            &conn,
            &select,
            &data_dir.join(format!("{table}.parquet")),
            DATA_VERSION,
        )?;
    }
    println!(
        "ecommerce: wrote {} order items and 3 other tables to {} in {:.1} s",
        tables.order_items.len(),
        data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Generates every table. Each table draws from its own seed, so a change
/// to one generator leaves the tables before it unchanged.
fn generate_tables() -> Tables {
    let users = generate_users(&mut Rng::new(101));
    let products = generate_products(&mut Rng::new(103));
    let (order_items, mut inventory) = generate_orders(&mut Rng::new(107), &users, &products);
    add_unsold_stock(&mut Rng::new(109), &products, &mut inventory);
    Tables {
        users,
        products,
        inventory,
        order_items,
    }
}

/// Day weights for sign-ups and orders: steady growth and a holiday peak in
/// November and December.
fn day_weights() -> Weighted {
    const MONTH: [f64; 12] = [
        0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.5, 1.7,
    ];
    Weighted::new((0..DAY_COUNT).map(|offset| {
        let (year, month, _) = civil_from_days(FIRST_DAY + offset);
        (1.0 + 0.35 * (year - 2021) as f64) * MONTH[month as usize - 1]
    }))
}

fn generate_users(rng: &mut Rng) -> Vec<User> {
    let countries = Weighted::new(COUNTRIES.iter().map(|country| country.1));
    let sources = Weighted::new(TRAFFIC_SOURCES.iter().map(|source| source.1));
    let days = day_weights();
    let mut users: Vec<User> = (0..USER_ROWS)
        .map(|_| {
            let (country, _, regions) = COUNTRIES[countries.sample(rng)];
            let female = rng.chance(0.56);
            // Ages cluster in the twenties and thirties with a long tail.
            let age = (18.0 + rng.exponential(14.0)).min(85.0).round() as i64;
            let city = format!("{}{}", rng.pick(CITY_STARTS), rng.pick(CITY_ENDS));
            let day = FIRST_DAY + days.sample(rng) as i64;
            let first_name = *rng.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
            let last_name = *rng.pick(LAST_NAMES);
            let age = (!rng.chance(0.015)).then_some(age);
            let city = (!rng.chance(0.02)).then_some(city);
            let state = *rng.pick(regions);
            User {
                first_name,
                last_name,
                gender: if female { "F" } else { "M" },
                age,
                city,
                state,
                country,
                created_at: day * SECONDS_PER_DAY + rng.between(0, SECONDS_PER_DAY - 1),
                traffic_source: TRAFFIC_SOURCES[sources.sample(rng)].0,
            }
        })
        .collect();
    // Ids follow sign-up time.
    users.sort_by_key(|user| user.created_at);
    users
}

fn generate_products(rng: &mut Rng) -> Vec<Product> {
    let categories = Weighted::new(CATEGORIES.iter().map(|category| category.3));
    let brands = Weighted::zipf(BRANDS.len(), 0.9);
    (0..PRODUCT_ROWS)
        .map(|_| {
            let category = categories.sample(rng);
            let (name, departments, (low, high), _, _) = CATEGORIES[category];
            let department = *rng.pick(departments);
            let brand = (!rng.chance(0.01)).then(|| BRANDS[brands.sample(rng)]);
            // Prices crowd at the low end of each category's range.
            let retail_price = round_to(low + (high - low) * rng.unit().powf(2.2), 2);
            let cost = round_to(retail_price * (0.32 + 0.28 * rng.unit()), 2);
            let singular = name.trim_end_matches('s');
            Product {
                category,
                brand,
                department,
                name: format!(
                    "{} {} {} {singular}",
                    brand.unwrap_or("Unbranded"),
                    rng.pick(STYLE_WORDS),
                    rng.pick(COLORS)
                ),
                retail_price,
                cost,
            }
        })
        .collect()
}

/// Returns the order items, sorted by time, and one sold inventory item for
/// each, in the same order.
fn generate_orders(
    rng: &mut Rng,
    users: &[User],
    products: &[Product],
) -> (Vec<OrderItem>, Vec<InventoryItem>) {
    // A few users order far more often than the rest.
    let buyers = Weighted::zipf(USER_ROWS, 0.55);
    let buyer_order: Vec<usize> = {
        let mut order: Vec<usize> = (0..USER_ROWS).collect();
        for index in (1..order.len()).rev() {
            order.swap(index, rng.below(index + 1));
        }
        order
    };
    let category_sales = Weighted::new(CATEGORIES.iter().map(|category| category.4));
    let mut by_category: Vec<Vec<usize>> = vec![Vec::new(); CATEGORIES.len()];
    for (index, product) in products.iter().enumerate() {
        by_category[product.category].push(index);
    }
    let product_weights: Vec<Weighted> = by_category
        .iter()
        .map(|members| Weighted::zipf(members.len().max(1), 0.7))
        .collect();
    let days = day_weights();
    let item_counts = Weighted::new([58.0, 26.0, 11.0, 5.0]);

    let mut orders: Vec<(i64, usize)> = (0..ORDER_COUNT)
        .map(|_| {
            let user = buyer_order[buyers.sample(rng)];
            let signed_up = users[user].created_at;
            let mut moment = (FIRST_DAY + days.sample(rng) as i64) * SECONDS_PER_DAY
                + rng.between(0, SECONDS_PER_DAY - 1);
            if moment < signed_up {
                // New users order within a month of signing up.
                moment = (signed_up + rng.between(600, 30 * SECONDS_PER_DAY))
                    .min((LAST_DAY + 1) * SECONDS_PER_DAY - 1);
            }
            (moment, user)
        })
        .collect();
    orders.sort();

    let end = (LAST_DAY + 1) * SECONDS_PER_DAY;
    let mut items = Vec::new();
    let mut inventory = Vec::new();
    for (order_index, &(created_at, user)) in orders.iter().enumerate() {
        let age_days = (end - created_at) / SECONDS_PER_DAY;
        let status = if age_days < 2 {
            "Processing"
        } else if age_days < 6 {
            *rng.pick(&["Processing", "Shipped", "Shipped"])
        } else {
            let roll = rng.unit();
            if roll < 0.13 {
                "Cancelled"
            } else if roll < 0.24 {
                "Returned"
            } else {
                "Complete"
            }
        };
        for _ in 0..=item_counts.sample(rng) {
            let category = category_sales.sample(rng);
            let members = &by_category[category];
            let product = members[product_weights[category].sample(rng)];
            let retail = products[product].retail_price;
            let sale_price = if rng.chance(0.22) {
                round_to(retail * (0.6 + 0.3 * rng.unit()), 2)
            } else {
                retail
            };
            let shipped_at = matches!(status, "Shipped" | "Complete" | "Returned")
                .then(|| created_at + rng.between(3_600, 3 * SECONDS_PER_DAY));
            let delivered_at = shipped_at
                .filter(|_| status != "Shipped")
                .map(|shipped| shipped + rng.between(SECONDS_PER_DAY, 7 * SECONDS_PER_DAY));
            let returned_at = delivered_at
                .filter(|_| status == "Returned")
                .map(|delivered| {
                    delivered + rng.between(2 * SECONDS_PER_DAY, 30 * SECONDS_PER_DAY)
                });
            // Stock arrives weeks or months before it sells.
            let stocked_at = created_at - rng.between(SECONDS_PER_DAY, 150 * SECONDS_PER_DAY);
            inventory.push(InventoryItem {
                product,
                cost: products[product].cost,
                created_at: stocked_at,
                sold_at: (status != "Cancelled").then_some(created_at),
            });
            items.push(OrderItem {
                order_id: order_index as i64 + 1,
                user,
                product,
                inventory_item: inventory.len() - 1,
                status,
                sale_price,
                created_at,
                shipped_at,
                delivered_at,
                returned_at,
            });
        }
    }
    (items, inventory)
}

fn add_unsold_stock(rng: &mut Rng, products: &[Product], inventory: &mut Vec<InventoryItem>) {
    let stocked = Weighted::zipf(products.len(), 0.3);
    for _ in 0..UNSOLD_ITEMS {
        let product = stocked.sample(rng);
        inventory.push(InventoryItem {
            product,
            cost: products[product].cost,
            created_at: (LAST_DAY - rng.between(0, 400)) * SECONDS_PER_DAY
                + rng.between(0, SECONDS_PER_DAY - 1),
            sold_at: None,
        });
    }
}

fn load_tables(conn: &Connection, tables: &Tables) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE users (id BIGINT, first_name VARCHAR, last_name VARCHAR, gender VARCHAR,
             age INTEGER, city VARCHAR, state VARCHAR, country VARCHAR, created_second BIGINT,
             traffic_source VARCHAR);
         CREATE TABLE products (id BIGINT, category VARCHAR, brand VARCHAR, department VARCHAR,
             name VARCHAR, retail_price DOUBLE, cost DOUBLE);
         CREATE TABLE inventory_items (id BIGINT, product_id BIGINT, cost DOUBLE,
             created_second BIGINT, sold_second BIGINT);
         CREATE TABLE order_items (id BIGINT, order_id BIGINT, user_id BIGINT, product_id BIGINT,
             inventory_item_id BIGINT, status VARCHAR, sale_price DOUBLE, created_second BIGINT,
             shipped_second BIGINT, delivered_second BIGINT, returned_second BIGINT);",
    )
    .context("creating the staging tables failed")?;

    let mut appender = conn.appender("users")?;
    for (index, user) in tables.users.iter().enumerate() {
        appender.append_row(params![
            index as i64 + 1,
            user.first_name,
            user.last_name,
            user.gender,
            user.age,
            user.city,
            user.state,
            user.country,
            user.created_at,
            user.traffic_source,
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("products")?;
    for (index, product) in tables.products.iter().enumerate() {
        appender.append_row(params![
            index as i64 + 1,
            CATEGORIES[product.category].0,
            product.brand,
            product.department,
            product.name,
            product.retail_price,
            product.cost,
        ])?;
    }
    appender.flush()?;

    // Inventory ids follow the time the stock arrived; the sort is stable.
    let mut stock_order: Vec<usize> = (0..tables.inventory.len()).collect();
    stock_order.sort_by_key(|&index| tables.inventory[index].created_at);
    let mut inventory_id = vec![0i64; tables.inventory.len()];
    let mut appender = conn.appender("inventory_items")?;
    for (position, &index) in stock_order.iter().enumerate() {
        let item = &tables.inventory[index];
        inventory_id[index] = position as i64 + 1;
        appender.append_row(params![
            position as i64 + 1,
            item.product as i64 + 1,
            item.cost,
            item.created_at,
            item.sold_at,
        ])?;
    }
    appender.flush()?;

    let mut appender = conn.appender("order_items")?;
    for (index, item) in tables.order_items.iter().enumerate() {
        appender.append_row(params![
            index as i64 + 1,
            item.order_id,
            item.user as i64 + 1,
            item.product as i64 + 1,
            inventory_id[item.inventory_item],
            item.status,
            item.sale_price,
            item.created_at,
            item.shipped_at,
            item.delivered_at,
            item.returned_at,
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
        let sales_cents: i64 = tables
            .order_items
            .iter()
            .map(|item| (item.sale_price * 100.0).round() as i64)
            .sum();
        let hint = "the generated rows changed: bump DATA_VERSION so existing files are \
                    rewritten, then update the pinned values and re-record the expectations";
        assert_eq!(tables.users.len(), USER_ROWS);
        assert_eq!(tables.products.len(), PRODUCT_ROWS);
        assert_eq!(tables.order_items.len() as u64, ORDER_ITEM_ROWS, "{hint}");
        assert_eq!(
            tables.inventory.len(),
            tables.order_items.len() + UNSOLD_ITEMS
        );
        assert_eq!(sales_cents, 261_593_608, "{hint}");
    }

    #[test]
    fn order_items_follow_their_lifecycle() {
        let tables = generate_tables();
        for item in &tables.order_items {
            let user = &tables.users[item.user];
            assert!(
                item.created_at >= user.created_at,
                "an order precedes sign-up"
            );
            match item.status {
                "Cancelled" | "Processing" => assert_eq!(item.shipped_at, None),
                "Shipped" => assert_eq!(item.delivered_at, None),
                "Returned" => assert!(item.returned_at > item.delivered_at),
                _ => assert_eq!(item.returned_at, None),
            }
            let stock = &tables.inventory[item.inventory_item];
            assert_eq!(stock.product, item.product);
            assert!(stock.created_at < item.created_at);
        }
    }
}
