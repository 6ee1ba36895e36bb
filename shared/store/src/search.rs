//! The one search algorithm every backend runs over its prefix index.
//!
//! Each query word has an index range (all titles with a word starting with it) ordered like the
//! results, by `(sort_key, id)`. A page intersects those ranges with a leapfrog join: each range
//! seeks to the furthest position any other range has reached, so titles that one word lacks are
//! skipped with one seek instead of being read. Every candidate all words agree on is then held
//! to [`CatalogQuery::matches_keyed`], the one definition of a match. Reading stops when the page
//! is full (one match beyond `limit` proves there are more) or when the read budget is spent;
//! then the page resumes after the last position it decided, so pages never overlap or skip.

use std::collections::VecDeque;
use std::future::Future;

use crate::{CatalogQuery, SearchPage, StoreResult, Title, index_key, read_budget};

/// What one read request costs against the page's budget, in index entries: on DynamoDB each
/// is a round trip, so a page of many small reads (two words that keep missing each other)
/// stops after a bounded number of them, as a page of many entries does.
pub const REQUEST_COST: usize = 6;

/// A position in result order.
pub type Position = (String, String);

/// Where a range read starts.
#[derive(Debug, Clone, Copy)]
pub enum From<'a> {
    Start,
    /// Strictly after `(sort_key, id)`.
    After(&'a str, &'a str),
    /// At `(sort_key, id)` or after it.
    AtOrAfter(&'a str, &'a str),
}

/// An index entry: the title's sort key and the title.
pub type Entry = (String, Title);

/// What a backend provides: one range read of its prefix index.
pub trait IndexReader: Sync {
    /// Up to `n` entries under `key` from `from` on, in `(sort_key, id)` order.
    fn read(&self, key: &str, from: From<'_>, n: usize) -> impl Future<Output = StoreResult<Vec<Entry>>> + Send;
}

/// One word's range, read in batches.
struct Range<'k> {
    key: &'k str,
    buffered: VecDeque<Entry>,
    exhausted: bool,
    /// How many entries the next read asks for: a range that keeps jumping past its buffer
    /// (a common word intersected with a rarer one) reads little at a time; one read
    /// sequentially reads as much as the page still needs.
    batch: usize,
}

fn before(e: &Entry, bound: &From<'_>) -> bool {
    let at = (e.0.as_str(), e.1.id.as_str());
    match *bound {
        From::Start => false,
        From::After(k, id) => at <= (k, id),
        From::AtOrAfter(k, id) => at < (k, id),
    }
}

impl Range<'_> {
    /// The first entry at or past `bound`, reading when the buffer runs dry, at most `most`
    /// entries; `None` once the range is exhausted. Adds what it read to `reads`.
    async fn seek<R: IndexReader>(
        &mut self,
        r: &R,
        bound: From<'_>,
        most: usize,
        reads: &mut usize,
    ) -> StoreResult<Option<&Entry>> {
        // The entry returned last time is passed over when the join moves on; more than that
        // means this range jumped ahead.
        let mut passed = 0;
        while self.buffered.front().is_some_and(|e| before(e, &bound)) {
            self.buffered.pop_front();
            passed += 1;
        }
        if self.buffered.is_empty() && !self.exhausted {
            self.batch = if passed > 1 { (self.batch / 4).max(2) } else { self.batch * 2 };
            let batch = self.batch.min(most).max(1);
            let got = r.read(self.key, bound, batch).await?;
            *reads += got.len() + REQUEST_COST;
            self.exhausted = got.len() < batch;
            self.buffered.extend(got);
        }
        Ok(self.buffered.front())
    }
}

/// One page of `q` from `reader`'s index.
pub async fn search<R: IndexReader>(reader: &R, q: &CatalogQuery) -> StoreResult<SearchPage> {
    let budget = read_budget(q.limit);
    // The longest word leads: usually the rarest, so its range proposes the fewest candidates.
    let mut keys: Vec<&str> = q.terms.iter().map(|t| index_key(t)).collect();
    keys.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    keys.dedup();
    if keys.is_empty() {
        return Ok(SearchPage::default());
    }
    // The first read of a range (the batch doubles before it) asks for a full page and the
    // one match beyond it that shows there are more.
    let first_half = (q.limit.min(64) + 1).div_ceil(2);
    let mut ranges: Vec<Range<'_>> =
        keys.iter().map(|key| Range { key, buffered: VecDeque::new(), exhausted: false, batch: first_half }).collect();
    let mut hits: Vec<Entry> = Vec::with_capacity(q.limit.min(64) + 1);
    let mut reads = 0;
    // Everything up to `decided` has been matched or ruled out; the page resumes after it.
    let mut decided: Option<Position> = q.after.clone();
    let mut candidate: Option<Position> = None;
    let (mut agree, mut i) = (0, 0);
    loop {
        let made_progress = decided.as_ref() != q.after.as_ref();
        if reads >= budget && made_progress {
            return Ok(SearchPage { titles: hits.into_iter().map(|(_, t)| t).collect(), resume_after: decided });
        }
        let bound = match (&candidate, &decided) {
            (Some((k, id)), _) => From::AtOrAfter(k, id),
            (None, Some((k, id))) => From::After(k, id),
            (None, None) => From::Start,
        };
        // Little more than the page still needs, so a one-word page reads about `limit` entries.
        let most = (q.limit + 1 - hits.len() + 10).min(budget.saturating_sub(reads).max(1));
        let Some(entry) = ranges[i].seek(reader, bound, most, &mut reads).await?.cloned() else {
            // One word has nothing left: no further title can match.
            return Ok(SearchPage { titles: hits.into_iter().map(|(_, t)| t).collect(), resume_after: None });
        };
        let at: Position = (entry.0.clone(), entry.1.id.clone());
        if candidate.as_ref() == Some(&at) {
            agree += 1;
        } else {
            // This word has nothing between the old candidate and `at`: the old one is ruled out.
            if let Some(old) = candidate.replace(at) {
                decided = Some(old);
            }
            agree = 1;
        }
        if agree == ranges.len() {
            decided = candidate.take();
            agree = 0;
            if q.matches_keyed(&entry.0, &entry.1) {
                hits.push(entry);
                if hits.len() > q.limit {
                    hits.truncate(q.limit);
                    let last = hits.last().map(|(k, t)| (k.clone(), t.id.clone()));
                    return Ok(SearchPage { titles: hits.into_iter().map(|(_, t)| t).collect(), resume_after: last });
                }
            }
        }
        i = (i + 1) % ranges.len();
    }
}
