//! [`CatalogStore`]: titles and their prefix index, read through [`search::IndexReader`].

use super::*;

/// Separates the sort key from the id in an index item's `sk`. Below every character a title can
/// hold (controls are refused), so `sk` order is exactly `(sort_key, id)` order.
pub(super) const POSITION_SEPARATOR: char = '\u{1}';

pub(super) fn position(sort_key: &str, id: &str) -> String {
    format!("{sort_key}{POSITION_SEPARATOR}{id}")
}

/// The key of a title's index item under one word prefix.
pub(super) fn index_key(prefix: &str, t: &Title) -> Item {
    HashMap::from([("pk".into(), s(prefix)), ("sk".into(), s(position(&t.sort_key(), &t.id)))])
}

pub(super) fn title_fields(t: &Title) -> Item {
    HashMap::from([
        ("id".into(), s(&t.id)),
        ("title".into(), s(&t.title)),
        ("genre".into(), s(t.genre)),
        ("year".into(), n(u64::from(t.year))),
        ("maturity".into(), n(u64::from(t.maturity.age()))),
    ])
}

pub(super) fn title_from(i: &Item) -> StoreResult<Title> {
    Ok(Title {
        id: get_s(i, "id")?,
        title: get_s(i, "title")?,
        genre: get_parsed(i, "genre", Genre::parse)?,
        year: small(get_n(i, "year")?, "year")?,
        maturity: get_maturity(i, "maturity")?,
    })
}

#[async_trait]
impl CatalogStore for DynamoStore {
    async fn put_titles(&self, titles: &[Title]) -> StoreResult<()> {
        check_titles(titles)?;
        let titles = last_copies(titles);
        let titles = titles.as_slice();
        // Index items of a title being replaced must go: read what is stored first.
        let mut old: HashMap<String, Title> = HashMap::new();
        for chunk in titles.chunks(100) {
            let keys: Vec<Item> = chunk.iter().map(|t| HashMap::from([("pk".into(), s(&t.id))])).collect();
            let mut request =
                Some(KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(backend)?);
            let (mut backoff, mut first) = (Backoff::throttled(), true);
            while let Some(req) = request.take() {
                if !std::mem::take(&mut first) && !backoff.retry().await {
                    return Err(StoreError::Unavailable(Box::new(Malformed("unprocessed keys after retries"))));
                }
                let out =
                    self.client.batch_get_item().request_items(&self.t.titles, req).send().await.map_err(classify)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.t.titles)).unwrap_or_default() {
                    let t = title_from(&item)?;
                    old.insert(t.id.clone(), t);
                }
                request =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.t.titles)).filter(|k| !k.keys().is_empty());
            }
        }
        let mut deletes = vec![];
        let mut index_puts = vec![];
        let mut title_puts = vec![];
        for t in titles {
            if let Some(o) = old.get(&t.id) {
                for prefix in index_prefixes(&o.title) {
                    deletes.push(
                        WriteRequest::builder()
                            .delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(index_key(&prefix, o)))
                                    .build()
                                    .map_err(backend)?,
                            )
                            .build(),
                    );
                }
            }
            let mut item = title_fields(t);
            item.insert("pk".into(), s(&t.id));
            title_puts.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(backend)?)
                    .build(),
            );
            for prefix in index_prefixes(&t.title) {
                let mut item = title_fields(t);
                item.extend(index_key(&prefix, t));
                index_puts.push(
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(backend)?)
                        .build(),
                );
            }
        }
        self.batch_write(&self.t.title_index, deletes).await?;
        self.batch_write(&self.t.title_index, index_puts).await?;
        self.batch_write(&self.t.titles, title_puts).await
    }

    async fn title_count(&self) -> StoreResult<u64> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.t.titles)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(count),
            }
        }
    }

    async fn search(&self, q: &CatalogQuery) -> StoreResult<SearchPage> {
        search::search(self, q).await
    }
}

impl search::IndexReader for DynamoStore {
    /// One exact-key `Query` in result order from the position on, `n` items at most.
    async fn read(&self, key: &str, from: search::From<'_>, n: usize) -> StoreResult<Vec<search::Entry>> {
        let mut entries = Vec::with_capacity(n);
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.t.title_index)
                .expression_attribute_values(":prefix", s(key))
                .limit(i32::try_from(n - entries.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            query = match from {
                search::From::Start => query.key_condition_expression("pk = :prefix"),
                search::From::After(k, id) => query
                    .key_condition_expression("pk = :prefix AND sk > :at")
                    .expression_attribute_values(":at", s(position(k, id))),
                search::From::AtOrAfter(k, id) => query
                    .key_condition_expression("pk = :prefix AND sk >= :at")
                    .expression_attribute_values(":at", s(position(k, id))),
            };
            let out = query.send().await.map_err(classify)?;
            for item in out.items.unwrap_or_default() {
                let sk = get_s(&item, "sk")?;
                let Some((sort_key, _)) = sk.split_once(POSITION_SEPARATOR) else {
                    return Err(StoreError::Backend(Box::new(Malformed("index item without a position"))));
                };
                entries.push((sort_key.to_owned(), title_from(&item)?));
            }
            // A response stops early at 1 MB; read on until `n` or the end of the range.
            match out.last_evaluated_key {
                Some(k) if entries.len() < n => start = Some(k),
                _ => return Ok(entries),
            }
        }
    }
}
