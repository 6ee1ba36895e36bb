//! `make bench-catalog`: how search and catalog loads scale with the catalog (DESIGN §8).
//!
//! SQLite: generates catalogs of each size (same vocabulary, `catalog generate`), loads each
//! into a fresh database file (titles/s), then times every query class through the store
//! (the part that could grow; the handler around it costs the same at any size) and prints
//! p50/p99 and the ratio to the smallest catalog. DynamoDB (`--dynamodb URL`, e.g. moto on
//! loopback): counts the index items each page reads (the Query responses' ScannedCount).
//!
//! Usage: catalog-scale [--dynamodb URL] [--runs N] SIZE...

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::SharedInterceptor;
use oasis_store::dynamodb::DynamoStore;
use oasis_store::dynamodb::meter::ItemsRead;
use oasis_store::sqlite::SqliteStore;
use oasis_store::{CatalogQuery, CatalogStore, Store};

/// The query classes of the performance issue, as the search function builds them.
fn classes() -> Vec<(&'static str, CatalogQuery)> {
    let q = |text: &str, genre: Option<&str>, years: Option<(u16, u16)>| CatalogQuery {
        terms: oasis_text::SearchQuery::parse(text).expect("a valid query").terms().to_vec(),
        genre: genre.map(|g| oasis_store::Genre::parse(g).expect("a known genre")),
        year_from: years.map(|y| y.0),
        year_to: years.map(|y| y.1),
        max_maturity: oasis_store::Maturity::ADULT,
        after: None,
        limit: 20,
    };
    vec![
        ("one word: q=matrix", q("matrix", None, None)),
        ("two words, one a prefix: q=the matr", q("the matr", None, None)),
        ("broad prefix + filters: q=th, drama, 1980-2000", q("th", Some("drama"), Some((1980, 2000)))),
        ("one letter: q=s", q("s", None, None)),
        (
            "one word at maturity 7: q=river",
            CatalogQuery { max_maturity: oasis_store::Maturity::rating(7).unwrap(), ..q("river", None, None) },
        ),
    ]
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

async fn load(store: &dyn Store, size: usize) -> f64 {
    let titles = oasis_admin::catalog::generate(size, oasis_admin::catalog::DEFAULT_SEED);
    let started = Instant::now();
    oasis_admin::catalog::load(store, &titles, |_, _| {}).await.expect("catalog load");
    size as f64 / started.elapsed().as_secs_f64()
}

async fn sqlite(sizes: &[usize], runs: usize) {
    let dir = std::env::temp_dir().join(format!("oasis-catalog-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut base: Vec<Duration> = vec![];
    println!("| titles | load titles/s | query | p50 µs | p99 µs | p50 × smallest |");
    println!("|---:|---:|---|---:|---:|---:|");
    for &size in sizes {
        let path = dir.join(format!("catalog-{size}.db"));
        let store = SqliteStore::open(&path).expect("sqlite");
        let rate = load(&store, size).await;
        for (i, (name, q)) in classes().into_iter().enumerate() {
            for _ in 0..runs.min(50) {
                store.search(&q).await.expect("search");
            }
            let mut samples: Vec<Duration> = Vec::with_capacity(runs);
            for _ in 0..runs {
                let t = Instant::now();
                let page = store.search(&q).await.expect("search");
                samples.push(t.elapsed());
                assert!(!page.titles.is_empty(), "{name} finds titles");
            }
            samples.sort();
            let p50 = percentile(&samples, 0.5);
            if base.len() <= i {
                base.push(p50);
            }
            let load = if i == 0 { format!("{rate:.0}") } else { String::new() };
            println!(
                "| {size} | {load} | {name} | {:.0} | {:.0} | {:.2} |",
                p50.as_secs_f64() * 1e6,
                percentile(&samples, 0.99).as_secs_f64() * 1e6,
                p50.as_secs_f64() / base[i].as_secs_f64()
            );
        }
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    let _ = std::fs::remove_dir(&dir);
}

async fn dynamodb(endpoint: &str, sizes: &[usize]) {
    println!(
        "| titles | load titles/s | query | items read, page 1 | page 2 | page 3 | limit | budget 2 × limit + 10 |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---|");
    for &size in sizes {
        let counter = ItemsRead::default();
        let sdk = oasis_lambda::config::sdk_config(Some(endpoint)).await;
        // moto answers a Query on a large partition in seconds (it sorts in Python): what is
        // counted here is items read, so its slowness must not time out.
        let slow = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(600))
            .operation_attempt_timeout(Duration::from_secs(600))
            .build();
        let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .timeout_config(slow)
            .interceptor(SharedInterceptor::new(counter.clone()))
            .build();
        let prefix = format!("scale{size}-{}", std::process::id());
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &prefix);
        store.create_tables().await.expect("create tables");
        let rate = load(&store, size).await;
        for (i, (name, mut q)) in classes().into_iter().enumerate() {
            let mut reads = vec![];
            for _ in 0..3 {
                counter.take();
                let page = store.search(&q).await.expect("search");
                reads.push(counter.take());
                match page.resume_after {
                    Some(after) => q.after = Some(after),
                    None => break,
                }
            }
            let cell = |n: Option<&u64>| n.map_or("–".to_owned(), u64::to_string);
            let within = reads.iter().all(|&r| r <= 2 * q.limit as u64 + 10);
            let load = if i == 0 { format!("{rate:.0}") } else { String::new() };
            println!(
                "| {size} | {load} | {name} | {} | {} | {} | {} | {} |",
                cell(reads.first()),
                cell(reads.get(1)),
                cell(reads.get(2)),
                q.limit,
                if within { "within" } else { "over" }
            );
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut endpoint, mut runs, mut sizes) = (None, 2000, vec![]);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dynamodb" => endpoint = args.next(),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            n => sizes.push(n.parse::<usize>().expect("a catalog size")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000, 1_000_000];
    }
    match endpoint {
        Some(url) => dynamodb(&url, &sizes).await,
        None => sqlite(&sizes, runs).await,
    }
}
