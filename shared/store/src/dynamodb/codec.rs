//! Attribute values to and from Rust values.

use super::*;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(super) fn list(v: &[String]) -> AttributeValue {
    AttributeValue::L(v.iter().map(|x| s(x.clone())).collect())
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
pub(super) fn get_b(item: &Item, k: &'static str) -> StoreResult<bool> {
    item.get(k).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| backend(Malformed(k)))
}
pub(super) fn get_l(item: &Item, k: &'static str) -> StoreResult<Vec<String>> {
    let l = item.get(k).and_then(|v| v.as_l().ok()).ok_or_else(|| backend(Malformed(k)))?;
    l.iter().map(|v| v.as_s().cloned().map_err(|_| backend(Malformed(k)))).collect()
}
pub(super) fn small<T: TryFrom<u64>>(v: u64, k: &'static str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| backend(Malformed(k)))
}

pub(super) fn put(table: &str, item: Item, condition: Option<&str>) -> StoreResult<TransactWriteItem> {
    let p =
        Put::builder().table_name(table).set_item(Some(item)).set_condition_expression(condition.map(str::to_owned));
    Ok(TransactWriteItem::builder().put(p.build().map_err(backend)?).build())
}
