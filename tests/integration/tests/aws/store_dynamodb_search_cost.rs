//! On DynamoDB a search page reads about `limit` index items, whatever the catalog size: the
//! prefix index is read in result order from the cursor on and the read stops once the page
//! is full (each word of a query reads its own range). Counted from the Query responses'
//! ScannedCount (what DynamoDB bills).

use aws_sdk_dynamodb::config::SharedInterceptor;
use oasis_store::dynamodb::DynamoStore;
use oasis_store::dynamodb::meter::ItemsRead;
use oasis_store::{CatalogQuery, CatalogStore, Title};

async fn store(counter: ItemsRead) -> std::sync::Arc<DynamoStore> {
    oasis_integration_tests::dynamo(
        &oasis_integration_tests::endpoint(),
        &oasis_integration_tests::unique_prefix("cost"),
        Some(SharedInterceptor::new(counter)),
    )
    .await
}

fn catalog(n: usize) -> Vec<Title> {
    (0..n)
        .map(|i| Title {
            id: format!("c{i:04}"),
            title: format!("Common {} Tale", ["Alpha", "Beta", "Gamma"][i % 3]),
            genre: oasis_store::Genre::parse("drama").unwrap(),
            year: 2000,
            maturity: [oasis_store::Maturity::ALL_AGES, oasis_store::Maturity::ADULT][i % 2],
        })
        .collect()
}

fn query(words: &[&str], max_maturity: u8) -> CatalogQuery {
    CatalogQuery {
        terms: words.iter().map(|w| (*w).to_owned()).collect(),
        genre: None,
        year_from: None,
        year_to: None,
        max_maturity: oasis_store::Maturity::parse(max_maturity).unwrap(),
        after: None,
        limit: 10,
    }
}

#[tokio::test]
async fn a_page_reads_at_most_twice_its_limit_plus_ten_items_whatever_the_catalog_size() {
    let counter = ItemsRead::default();
    let store = store(counter.clone()).await;
    let mut loaded = 0;
    for size in [100, 600] {
        let titles = catalog(size);
        store.put_titles(&titles[loaded..]).await.unwrap();
        loaded = size;
        // One word, a prefix, two words, and a maturity ceiling that drops half of the range.
        for (words, maturity) in [(&["common"][..], 18), (&["comm"], 18), (&["common", "tale"], 18), (&["tale"], 0)] {
            let mut q = query(words, maturity);
            for page in 0..3 {
                counter.take();
                let found = store.search(&q).await.unwrap();
                let read = counter.take();
                assert_eq!(found.titles.len(), 10, "{words:?} page {page} at {size} titles is full");
                // The budget of the performance issue, 2 x limit + 10, for each word's range.
                let most = words.len() as u64 * (2 * 10 + 10);
                assert!(read <= most, "{words:?} page {page} at {size} titles read {read} items, over {most}");
                q.after = found.resume_after;
            }
        }
    }
}
