//! The sample API Gateway events of `events/`, and what each target's seeds take from them:
//! one source of truth, read when the seeds are made (`oasis-fuzz seeds`, the replay test).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// One sample event: its file name and its JSON.
pub struct Event {
    pub name: String,
    pub json: Value,
}

/// `events/` of this checkout.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Every event of `dir` (not its `index.json`), in file-name order.
pub fn events(dir: &Path) -> std::io::Result<Vec<Event>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !name.ends_with(".json") || name == "index.json" {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let json = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name}: {e}")))?;
        found.push(Event { name, json });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

impl Event {
    pub fn method(&self) -> &str {
        self.json["httpMethod"].as_str().unwrap_or_default()
    }

    /// A header's value, whatever the case of its name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.json["headers"].as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?.1.as_str()
    }

    /// The body as sent (base64-decoded if the event says so).
    pub fn body(&self) -> Option<Vec<u8>> {
        let body = self.json["body"].as_str()?;
        if self.json["isBase64Encoded"].as_bool() == Some(true) {
            STANDARD.decode(body).ok()
        } else {
            Some(body.as_bytes().to_vec())
        }
    }

    /// The query string parameters, every value of each.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(multi) = self.json["multiValueQueryStringParameters"].as_object() {
            for (k, values) in multi {
                for v in values.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    pairs.push((k.clone(), v.to_owned()));
                }
            }
        } else if let Some(single) = self.json["queryStringParameters"].as_object() {
            for (k, v) in single {
                pairs.push((k.clone(), v.as_str().unwrap_or_default().to_owned()));
            }
        }
        pairs
    }

    /// The query string as a client sent it (`q=the+matrix&limit=5`).
    pub fn query_string(&self) -> Option<String> {
        let pairs = self.query();
        (!pairs.is_empty()).then(|| serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }

    /// Every parameter the event carries, in its query string or its form body.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut pairs = self.query();
        if self.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
            && let Some(body) = self.body()
        {
            pairs.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default());
        }
        pairs
    }
}
