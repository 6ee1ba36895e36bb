//! [`CatalogStore`]: titles and their prefix index (`title_index`).

use super::*;

pub(super) fn title_from_row(r: &Row<'_>) -> rusqlite::Result<Title> {
    Ok(Title { id: r.get(0)?, title: r.get(1)?, genre: r.get(2)?, year: r.get(3)?, maturity: r.get(4)? })
}

/// Adds the index rows of `titles` (the caller has removed any old ones), in key order: a
/// batch's rows then land on neighbouring B-tree pages instead of scattered ones.
pub(super) fn index_titles(c: &Connection, titles: &[Title]) -> rusqlite::Result<()> {
    let mut rows: Vec<(String, String, &Title)> = Vec::with_capacity(titles.len() * 16);
    for t in titles {
        let sort_key = t.sort_key();
        rows.extend(index_prefixes(&t.title).into_iter().map(|p| (p, sort_key.clone(), t)));
    }
    rows.sort_unstable_by(|a, b| (&a.0, &a.1, &a.2.id).cmp(&(&b.0, &b.1, &b.2.id)));
    let mut put = c.prepare_cached(
        "INSERT OR REPLACE INTO title_index (prefix, sort_key, id, title, genre, year, maturity)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (prefix, sort_key, t) in rows {
        put.execute(params![prefix, sort_key, t.id, t.title, t.genre, t.year, t.maturity])?;
    }
    Ok(())
}

/// Removes the index rows of the title stored under `id`, if there is one.
pub(super) fn unindex_title(c: &Connection, id: &str) -> rusqlite::Result<()> {
    let old: Option<String> =
        c.prepare_cached("SELECT title FROM titles WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    let Some(old) = old else { return Ok(()) };
    let sort_key = oasis_text::fold(&old);
    let mut delete = c.prepare_cached("DELETE FROM title_index WHERE prefix = ?1 AND sort_key = ?2 AND id = ?3")?;
    for prefix in index_prefixes(&old) {
        delete.execute(params![prefix, sort_key, id])?;
    }
    Ok(())
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn put_titles(&self, titles: &[Title]) -> StoreResult<()> {
        self.load_titles(titles, &mut |_| {}).await
    }

    async fn load_titles(&self, titles: &[Title], progress: &mut (dyn FnMut(usize) + Send)) -> StoreResult<()> {
        let mut c = self.conn();
        // A load writes ~16 index rows per title at keys spread over the whole index. In one
        // transaction with a page cache to match (this connection only: the process that
        // loads), each index page is written about once instead of once per batch.
        c.pragma_update(None, "cache_size", -262_144).map_err(classify)?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let mut done = 0;
        for chunk in titles.chunks(LOAD_BATCH) {
            check_titles(chunk)?;
            // A title given twice in one chunk: the last copy wins, as it would across chunks.
            let chunk = last_copies(chunk);
            let chunk = chunk.as_slice();
            {
                let mut put = tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO titles (id, title, sort_key, genre, year, maturity) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(classify)?;
                for t in chunk {
                    unindex_title(&tx, &t.id).map_err(classify)?;
                    put.execute(params![t.id, t.title, t.sort_key(), t.genre, t.year, t.maturity]).map_err(classify)?;
                }
            }
            index_titles(&tx, chunk).map_err(classify)?;
            done += chunk.len();
            progress(done);
        }
        tx.commit().map_err(classify)
    }

    async fn title_count(&self) -> StoreResult<u64> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM titles", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(classify)
    }

    async fn search(&self, q: &CatalogQuery) -> StoreResult<SearchPage> {
        search::search(self, q).await
    }
}

impl search::IndexReader for SqliteStore {
    fn read(
        &self,
        key: &str,
        from: search::From<'_>,
        n: usize,
    ) -> impl std::future::Future<Output = StoreResult<Vec<search::Entry>>> + Send {
        std::future::ready(self.read_index(key, from, n))
    }
}

impl SqliteStore {
    fn read_index(&self, key: &str, from: search::From<'_>, n: usize) -> StoreResult<Vec<search::Entry>> {
        // The statement text holds only placeholders: user text is always a bound value.
        let (sql, k, id) = match from {
            search::From::Start => ("prefix = ?1 AND ?2 IS NULL AND ?3 IS NULL", None, None),
            search::From::After(k, id) => ("prefix = ?1 AND (sort_key, id) > (?2, ?3)", Some(k), Some(id)),
            search::From::AtOrAfter(k, id) => ("prefix = ?1 AND (sort_key, id) >= (?2, ?3)", Some(k), Some(id)),
        };
        let c = self.conn();
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT sort_key, id, title, genre, year, maturity FROM title_index
                 WHERE {sql} ORDER BY sort_key, id LIMIT ?4"
            ))
            .map_err(classify)?;
        let rows = stmt
            .query_map(params![key, k, id, i64::try_from(n).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Title { id: r.get(1)?, title: r.get(2)?, genre: r.get(3)?, year: r.get(4)?, maturity: r.get(5)? },
                ))
            })
            .map_err(classify)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(classify)
    }
}
