//! The DynamoDB table design: the one definition the backend, the tests (which create the
//! tables against a local DynamoDB-API server) and the Terraform consistency test share.
//!
//! | table | key | item kinds | TTL | why |
//! |---|---|---|---|---|
//! | `users` | `pk` | `u#<id>` user, `n#<username>` → id | – | login by name and lookup by id both strongly consistent; the name item makes usernames unique in the same transaction |
//! | `clients` | `pk` = client id | client | – | one read per token request |
//! | `refresh` | `pk` | `f#<family>` family, `t#<hash>` token | `expires_at` | rotation is one transaction: mark the old token, check the family, put the new token; GSI `by_user` (families only) revokes a user's families |
//! | `attempts` | `pk` = `acct:…`/`ip:…` | counter | `expires_at` | atomic `ADD`; TTL deletion is lazy, so reads also check `expires_at` |
//! | `grants` | `pk` | `d#<device code hash>` device grant, `u#<user code>` → device code hash, `c#<code hash>` authorization code, `s#<session hash>` sign-in session | `expires_at` | the device polls by its code and the user approves by theirs; the user-code item makes live user codes unique in the same transaction, every transition (decide, redeem, use a code) is a conditional update of one item |
//! | `profiles` | `pk` = user id | profile | – | |
//! | `titles` | `pk` = title id | title with its index terms | – | replacing a title knows which index items to delete |
//! | `title_index` | `pk` = a word prefix (1–16 characters), `sk` = `sort_key` U+0001 `id` | a full copy of the title per prefix of each of its words | – | a search is one exact-key `Query` in result order from the cursor on, stopped once the page is full: about `limit` items read whatever the catalog size; the copy answers without reading `titles` |

/// A table's shape, as the code uses it and Terraform must create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TableSpec {
    /// Appended to the deployment prefix: `<prefix>-<suffix>`.
    pub suffix: &'static str,
    pub hash_key: &'static str,
    pub range_key: Option<&'static str>,
    /// Global secondary indexes: (name, hash key); projection ALL.
    pub indexes: &'static [(&'static str, &'static str)],
    pub ttl_attribute: Option<&'static str>,
}

pub const USERS: TableSpec =
    TableSpec { suffix: "users", hash_key: "pk", range_key: None, indexes: &[], ttl_attribute: None };
pub const CLIENTS: TableSpec =
    TableSpec { suffix: "clients", hash_key: "pk", range_key: None, indexes: &[], ttl_attribute: None };
pub const REFRESH: TableSpec = TableSpec {
    suffix: "refresh",
    hash_key: "pk",
    range_key: None,
    indexes: &[("by_user", "user_id")],
    ttl_attribute: Some("expires_at"),
};
pub const ATTEMPTS: TableSpec =
    TableSpec { suffix: "attempts", hash_key: "pk", range_key: None, indexes: &[], ttl_attribute: Some("expires_at") };
pub const GRANTS: TableSpec =
    TableSpec { suffix: "grants", hash_key: "pk", range_key: None, indexes: &[], ttl_attribute: Some("expires_at") };
pub const PROFILES: TableSpec =
    TableSpec { suffix: "profiles", hash_key: "pk", range_key: None, indexes: &[], ttl_attribute: None };
pub const TITLES: TableSpec =
    TableSpec { suffix: "titles", hash_key: "pk", range_key: None, indexes: &[], ttl_attribute: None };
pub const TITLE_INDEX: TableSpec =
    TableSpec { suffix: "title_index", hash_key: "pk", range_key: Some("sk"), indexes: &[], ttl_attribute: None };

pub const ALL: [TableSpec; 8] = [USERS, CLIENTS, REFRESH, ATTEMPTS, GRANTS, PROFILES, TITLES, TITLE_INDEX];

/// Full table names for one deployment.
#[derive(Debug, Clone)]
pub struct TableNames {
    /// What every table name starts with (`OASIS_TABLE_PREFIX`).
    pub prefix: String,
    pub users: String,
    pub clients: String,
    pub refresh: String,
    pub attempts: String,
    pub grants: String,
    pub profiles: String,
    pub titles: String,
    pub title_index: String,
}

impl TableNames {
    pub fn with_prefix(prefix: &str) -> Self {
        let n = |t: TableSpec| format!("{prefix}-{}", t.suffix);
        Self {
            prefix: prefix.to_owned(),
            users: n(USERS),
            clients: n(CLIENTS),
            refresh: n(REFRESH),
            attempts: n(ATTEMPTS),
            grants: n(GRANTS),
            profiles: n(PROFILES),
            titles: n(TITLES),
            title_index: n(TITLE_INDEX),
        }
    }
}
