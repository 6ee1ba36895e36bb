//! Attribute values to and from Rust values.

use super::*;

pub(super) fn s(v: impl AsRef<str>) -> AttributeValue {
    AttributeValue::S(v.as_ref().to_owned())
}
pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(super) fn list<T: AsRef<str>>(v: &[T]) -> AttributeValue {
    AttributeValue::L(v.iter().map(s).collect())
}

pub(super) fn get_s(item: &Item, k: &'static str) -> StoreResult<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| backend(Malformed(k)))
}
pub(super) fn opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
pub(super) fn get_n(item: &Item, k: &'static str) -> StoreResult<u64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| backend(Malformed(k)))
}
pub(super) fn opt_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}
/// A number that items written by an older release lack (`absent`); one that is there but
/// not a number is corruption, never the default.
pub(super) fn n_or(item: &Item, k: &'static str, absent: u64) -> StoreResult<u64> {
    if item.contains_key(k) { get_n(item, k) } else { Ok(absent) }
}
pub(super) fn get_b(item: &Item, k: &'static str) -> StoreResult<bool> {
    item.get(k).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| backend(Malformed(k)))
}
pub(super) fn get_l(item: &Item, k: &'static str) -> StoreResult<Vec<String>> {
    let l = item.get(k).and_then(|v| v.as_l().ok()).ok_or_else(|| backend(Malformed(k)))?;
    l.iter().map(|v| v.as_s().cloned().map_err(|_| backend(Malformed(k)))).collect()
}
/// A string attribute parsed into its domain type; an item that does not parse is corrupt.
pub(super) fn get_parsed<T, E>(item: &Item, k: &'static str, parse: impl Fn(&str) -> Result<T, E>) -> StoreResult<T> {
    parse(&get_s(item, k)?).map_err(|_| backend(Malformed(k)))
}
pub(super) fn get_l_parsed<T, E>(
    item: &Item,
    k: &'static str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> StoreResult<Vec<T>> {
    get_l(item, k)?.iter().map(|v| parse(v).map_err(|_| backend(Malformed(k)))).collect()
}
pub(super) fn get_maturity(item: &Item, k: &'static str) -> StoreResult<Maturity> {
    let age: u8 = small(get_n(item, k)?, k)?;
    Maturity::parse(age).map_err(|_| backend(Malformed(k)))
}
pub(super) fn small<T: TryFrom<u64>>(v: u64, k: &'static str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| backend(Malformed(k)))
}

pub(super) fn put(table: &str, item: Item, condition: Option<&str>) -> StoreResult<TransactWriteItem> {
    let p =
        Put::builder().table_name(table).set_item(Some(item)).set_condition_expression(condition.map(str::to_owned));
    Ok(TransactWriteItem::builder().put(p.build().map_err(backend)?).build())
}
