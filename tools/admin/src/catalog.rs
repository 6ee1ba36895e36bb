//! The demo catalog: a seeded, deterministic generator, and a validating loader.
//!
//! `data/catalog.jsonl` in this crate is `generate(10_000, 42)`; a test keeps the two equal.

use std::io::BufRead;

use oasis_domain::{Genre, Maturity};
use oasis_store::{Store, Title};

use crate::AdminError;

pub const DEFAULT_COUNT: usize = 10_000;
pub const DEFAULT_SEED: u64 = 42;

/// splitmix64: tiny, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ADJECTIVES: [&str; 32] = [
    "Silent",
    "Crimson",
    "Hidden",
    "Last",
    "Golden",
    "Broken",
    "Midnight",
    "Electric",
    "Frozen",
    "Wild",
    "Lonely",
    "Burning",
    "Secret",
    "Endless",
    "Naïve",
    "Fragile",
    "Distant",
    "Savage",
    "Quiet",
    "Restless",
    "Forgotten",
    "Velvet",
    "Iron",
    "Neon",
    "Hollow",
    "Brave",
    "Crooked",
    "Radiant",
    "Bitter",
    "Über",
    "Tender",
    "Reckless",
];
const NOUNS: [&str; 40] = [
    "River",
    "Empire",
    "Garden",
    "Signal",
    "Horizon",
    "Harbor",
    "Kingdom",
    "Machine",
    "Orchard",
    "Storm",
    "Frontier",
    "Mirror",
    "Station",
    "Voyage",
    "Labyrinth",
    "Café",
    "Fiancée",
    "Crème Brûlée",
    "Façade",
    "Résumé",
    "Piñata",
    "Matrix",
    "Night",
    "Shift",
    "Heart",
    "Shadow",
    "Planet",
    "Circus",
    "Detective",
    "Orchestra",
    "Island",
    "Summer",
    "Winter",
    "Letter",
    "Highway",
    "Witness",
    "Dynasty",
    "Engine",
    "Lantern",
    "Tide",
];
const PLACES: [&str; 16] = [
    "Zürich",
    "São Paulo",
    "Malmö",
    "Kraków",
    "Montréal",
    "Reykjavík",
    "Tokyo",
    "Lagos",
    "Québec",
    "Córdoba",
    "Île-de-France",
    "Bogotá",
    "Brooklyn",
    "Mars",
    "Atlantis",
    "Nowhere",
];
const NAMES: [&str; 16] = [
    "Amélie",
    "Noël",
    "Zoë",
    "José",
    "Chloé",
    "Søren",
    "Renée",
    "Björn",
    "Inés",
    "François",
    "Mia",
    "Omar",
    "Priya",
    "Léa",
    "Ángel",
    "Dmitri",
];
const SUFFIXES: [&str; 6] = ["II", "III", "Returns", "Reloaded", "Rising", "Redux"];

/// Titles everyone recognises first, so demos and docs have stable examples.
const CLASSICS: [(&str, &str, u16, u8); 6] = [
    ("The Matrix", "scifi", 1999, 16),
    ("Amélie", "romance", 2001, 13),
    ("Spirited Away", "animation", 2001, 0),
    ("The Matrix Reloaded", "scifi", 2003, 16),
    ("Crème de la Crème", "comedy", 2014, 7),
    ("Night Shift", "horror", 2019, 18),
];

/// `count` titles from `seed`: the same input always gives the same catalog.
pub fn generate(count: usize, seed: u64) -> Vec<Title> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (title, genre, year, maturity) = match CLASSICS.get(i) {
            Some(&(t, g, y, m)) => (t.to_owned(), g.to_owned(), y, m),
            None => {
                let title = match rng.below(5) {
                    0 => format!("The {} {}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS)),
                    1 => format!("{} of {}", rng.pick(&NOUNS), rng.pick(&PLACES)),
                    2 => format!("{}'s {}", rng.pick(&NAMES), rng.pick(&NOUNS)),
                    3 => format!("{} {} {}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS), rng.pick(&SUFFIXES)),
                    _ => format!("{} in {}", rng.pick(&NAMES), rng.pick(&PLACES)),
                };
                let genre = rng.pick(&Genre::ALL).to_owned();
                let year = 1950 + rng.below(76) as u16;
                let maturity = Maturity::RATINGS[rng.below(Maturity::RATINGS.len())];
                (title, genre, year, maturity)
            }
        };
        // Both come from the closed lists above, so they always parse.
        let genre = Genre::parse(&genre).unwrap_or(Genre::parse("drama").expect("a known genre"));
        let maturity = Maturity::rating(maturity).unwrap_or(Maturity::ALL_AGES);
        out.push(Title { id: format!("tt{:06}", i + 1), title, genre, year, maturity });
    }
    out
}

/// One JSON object per line.
pub fn to_jsonl(titles: &[Title]) -> String {
    titles.iter().filter_map(|t| serde_json::to_string(t).ok()).map(|l| l + "\n").collect()
}

fn invalid(line: usize, why: impl Into<String>) -> AdminError {
    AdminError::Catalog { line, why: why.into() }
}

/// A catalog line as written, checked field by field so each refusal names its rule.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTitle {
    id: String,
    title: String,
    genre: String,
    year: u16,
    maturity: u8,
}

/// Reads and validates a JSON Lines catalog. Any bad line stops the load, naming the line.
pub fn parse(reader: impl BufRead) -> Result<Vec<Title>, AdminError> {
    let mut titles = vec![];
    let mut seen = std::collections::HashSet::new();
    for (n, line) in reader.lines().enumerate() {
        let line_no = n + 1;
        let line = line.map_err(|e| invalid(line_no, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawTitle =
            serde_json::from_str(&line).map_err(|e| invalid(line_no, format!("not a title object: {e}")))?;
        let genre = Genre::parse(&raw.genre)
            .map_err(|_| invalid(line_no, format!("unknown genre (known: {})", Genre::ALL.join(", "))))?;
        if !(1888..=2100).contains(&raw.year) {
            return Err(invalid(line_no, "year must be between 1888 and 2100"));
        }
        let maturity =
            Maturity::rating(raw.maturity).map_err(|_| invalid(line_no, "maturity must be one of 0, 7, 13, 16, 18"))?;
        let t = Title { id: raw.id, title: raw.title, genre, year: raw.year, maturity };
        let id_ok =
            (1..=32).contains(&t.id.len()) && t.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(invalid(line_no, "id must be 1-32 characters of a-z, 0-9, '-', '_'"));
        }
        if !seen.insert(t.id.clone()) {
            return Err(invalid(line_no, format!("duplicate id {}", t.id)));
        }
        if oasis_text::clean(&t.title, 200).ok().as_deref() != Some(t.title.as_str()) {
            return Err(invalid(
                line_no,
                "title must be clean text (NFKC, no control or invisible characters, at most 200)",
            ));
        }
        if oasis_text::terms(&t.title).iter().any(|w| w.len() > oasis_text::MAX_TERM_BYTES) {
            return Err(invalid(line_no, format!("a word of the title is over {} bytes", oasis_text::MAX_TERM_BYTES)));
        }
        if t.sort_key().len() + t.id.len() > oasis_store::MAX_POSITION_BYTES {
            return Err(invalid(
                line_no,
                format!("the title is over {} bytes once folded", oasis_store::MAX_POSITION_BYTES - t.id.len()),
            ));
        }
        titles.push(t);
    }
    Ok(titles)
}

/// Loads titles, calling `progress(done, total)` as it goes.
pub async fn load(
    store: &dyn Store,
    titles: &[Title],
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<(), AdminError> {
    let total = titles.len();
    store.load_titles(titles, &mut |done| progress(done, total)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_catalog_is_exactly_what_the_seeded_generator_makes() {
        let committed = include_str!("../data/catalog.jsonl");
        assert_eq!(committed, to_jsonl(&generate(DEFAULT_COUNT, DEFAULT_SEED)));
        assert_eq!(parse(committed.as_bytes()).unwrap().len(), 10_000);
    }

    #[test]
    fn malformed_catalog_lines_are_refused_with_their_line_number() {
        let good = serde_json::to_string(&generate(1, 1)[0]).unwrap();
        let cases = [
            ("{not json", 2),
            (r#"{"id":"x","title":"T","genre":"scifi","year":2000,"maturity":0,"extra":1}"#, 2),
            (r#"{"id":"x","title":"T","genre":"opera","year":2000,"maturity":0}"#, 2),
            (r#"{"id":"x","title":"T","genre":"scifi","year":2000,"maturity":12}"#, 2),
            (r#"{"id":"x","title":"T\u202e","genre":"scifi","year":2000,"maturity":0}"#, 2),
            (r#"{"id":"x y","title":"T","genre":"scifi","year":2000,"maturity":0}"#, 2),
            (good.as_str(), 2),
        ];
        // A word over the index key limit once folded (90 Hangul syllables: 810 bytes).
        let long_word =
            format!(r#"{{"id":"x","title":"{}","genre":"scifi","year":2000,"maturity":0}}"#, "한".repeat(90));
        let cases = cases.into_iter().chain([(long_word.as_str(), 2)]);
        for (bad, line) in cases {
            let text = format!("{good}\n{bad}\n");
            match parse(text.as_bytes()) {
                Err(AdminError::Catalog { line: l, .. }) => assert_eq!(l, line, "{bad}"),
                other => panic!("{bad}: expected a catalog error, got {other:?}"),
            }
        }
    }
}
