//! The search algorithm (prefix index, leapfrog join, read budget, resume positions) against
//! the reference model, on random catalogs and queries: following the pages of any query gives
//! exactly the titles `CatalogQuery::matches` selects, in order, each once.

use oasis_store::sqlite::SqliteStore;
use oasis_store::{CatalogQuery, CatalogStore, Genre, Maturity, Title};

const GENRES: [&str; 10] = Genre::ALL;
const MATURITY_LEVELS: [u8; 5] = Maturity::RATINGS;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A small vocabulary with shared prefixes, accents and case, so words collide often.
const WORDS: [&str; 12] =
    ["the", "then", "them", "matrix", "Matryoshka", "mat", "Amélie", "amel", "a", "ab", "zz", "Öl"];
const QUERY_WORDS: [&str; 10] = ["t", "th", "the", "then", "mat", "matr", "ame", "a", "zz", "ol"];

fn title() -> impl Strategy<Value = (Vec<usize>, usize, u16, usize)> {
    (proptest::collection::vec(0..WORDS.len(), 1..4), 0..3usize, 2000..2004u16, 0..MATURITY_LEVELS.len())
}

#[test]
fn following_the_pages_of_any_query_gives_exactly_the_reference_matches_in_order() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let strategy = (
        proptest::collection::vec(title(), 0..300),
        proptest::collection::vec(0..QUERY_WORDS.len(), 1..4),
        proptest::option::of(0..3usize),
        proptest::option::of((2000..2004u16, 0..3u16)),
        0..MATURITY_LEVELS.len(),
        1..8usize,
    );
    let mut runner = TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() });
    runner
        .run(&strategy, |(titles, words, genre, years, maturity, limit)| {
            let catalog: Vec<Title> = titles
                .iter()
                .enumerate()
                .map(|(i, (w, g, year, m))| Title {
                    id: format!("t{i:03}"),
                    title: w.iter().map(|&w| WORDS[w]).collect::<Vec<_>>().join(" "),
                    genre: Genre::parse(GENRES[*g]).unwrap(),
                    year: *year,
                    maturity: Maturity::rating(MATURITY_LEVELS[*m]).unwrap(),
                })
                .collect();
            let store = SqliteStore::open_in_memory().unwrap();
            rt.block_on(store.put_titles(&catalog)).unwrap();
            let mut q = CatalogQuery {
                terms: words.iter().map(|&w| oasis_text::fold(QUERY_WORDS[w])).collect(),
                genre: genre.map(|g| Genre::parse(GENRES[g]).unwrap()),
                year_from: years.map(|(from, _)| from),
                year_to: years.map(|(from, span)| from + span),
                max_maturity: Maturity::rating(MATURITY_LEVELS[maturity]).unwrap(),
                after: None,
                limit,
            };
            let mut want: Vec<&Title> = catalog.iter().filter(|t| q.matches(t)).collect();
            want.sort_by_key(|t| (t.sort_key(), t.id.clone()));
            let want: Vec<&str> = want.iter().map(|t| t.id.as_str()).collect();
            let mut got: Vec<String> = vec![];
            for _ in 0..1000 {
                let page = rt.block_on(store.search(&q)).unwrap();
                prop_assert!(page.titles.len() <= limit);
                got.extend(page.titles.into_iter().map(|t| t.id));
                match page.resume_after {
                    Some(after) => q.after = Some(after),
                    None => break,
                }
            }
            prop_assert_eq!(got, want);
            Ok(())
        })
        .unwrap();
}
