use oasis_domain::{ClientId, Genre, GrantType, Maturity, RedirectUri, ScopeSet, UserCode, UserId, Username};
use serde::{Deserialize, Serialize};

/// A person who logs in with a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable opaque id; the `sub` of their access tokens.
    pub id: UserId,
    /// Validated, lower-case login name.
    pub username: Username,
    /// argon2id PHC string. Never serialised into an API response (secure-data uses its own view).
    pub password_hash: String,
    pub disabled: bool,
    /// Scopes this user may be granted (intersected with the client's).
    pub scopes: ScopeSet,
    /// Highest maturity rating the user may see.
    pub maturity: Maturity,
    /// Raised by every cut-off ([`crate::UserStore::cut_off_tokens`]): an access token, refresh
    /// family, code, device approval or sign-in session made at an older generation is
    /// refused. A counter, not a time, so no machine's clock decides what survives a cut-off.
    pub token_generation: u64,
    pub created_at: u64,
}

/// An OAuth2 client (RFC 6749 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: ClientId,
    /// SHA-256 of the server-generated secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub name: String,
    /// Only first-party clients may use the password grant (RFC 9700 §2.4).
    pub first_party: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    /// Browser clients get the refresh token in a `__Host-` cookie instead of the body.
    pub refresh_in_cookie: bool,
    /// Origins allowed to use this client's cookie (CSRF check).
    pub allowed_origins: Vec<String>,
    /// Where the authorization code flow may send its answer, matched exactly (RFC 6749
    /// §3.1.2.2; loopback URIs on any port, RFC 8252 §7.3).
    pub redirect_uris: Vec<RedirectUri>,
    pub disabled: bool,
    pub created_at: u64,
}

impl Client {
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }

    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }
}

/// A chain of refresh tokens descending from one login. Revoking it kills every token in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub family_id: String,
    pub user_id: UserId,
    pub client_id: ClientId,
    /// The scope granted at login; refreshes may narrow the access token, never widen this.
    pub scope: String,
    /// The user's [`User::token_generation`] when the family was started.
    pub user_generation: u64,
    pub created_at: u64,
    /// Absolute expiry: no token of the family is valid after it, however recently used.
    pub expires_at: u64,
    pub revoked: bool,
}

/// One refresh token, stored only by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub issued_at: u64,
    /// Idle expiry: unused for this long, the token dies.
    pub idle_expires_at: u64,
    /// When it was exchanged for a successor; presenting it again is reuse, unless within the
    /// token endpoint's grace window and the successor is still unused.
    pub rotated_at: Option<u64>,
    /// The token it was exchanged for, set with `rotated_at`.
    pub successor: Option<Successor>,
    /// A retry within the grace window handed this token out a second time (to whoever
    /// retried its predecessor): presented again once rotated, it gets no grace window.
    pub reissued: bool,
    /// Storage expiry (TTL): kept until the family's absolute expiry so reuse stays detectable.
    pub expires_at: u64,
}

/// The successor of a rotated refresh token: its hash, and the token itself sealed under the
/// rotated one (`oasis_auth::secret::seal_under`), so that only a holder of the rotated token
/// can get it back, and the store alone never can. This is what lets a client that lost a
/// refresh response retry and receive the same successor (the token endpoint's grace window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Successor {
    pub token_hash: String,
    pub sealed: String,
}

/// A device authorization grant (RFC 8628): started by a device, decided by its user on the
/// sign-in pages, redeemed once by the device's poll. Stored by the hash of its device code
/// and found by its user code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    pub device_code_hash: String,
    pub user_code: UserCode,
    pub client_id: ClientId,
    /// What the device asked for (already within the client's scopes).
    pub scope: ScopeSet,
    pub created_at: u64,
    pub expires_at: u64,
    /// Seconds the device must wait between polls; raised by every `slow_down`.
    pub interval: u64,
    pub last_polled_at: Option<u64>,
    pub state: DeviceGrantState,
}

impl DeviceGrant {
    /// Whether a poll at `now` comes less than an interval after the last one.
    pub fn polled_too_soon(&self, now: u64) -> bool {
        self.last_polled_at.is_some_and(|last| now < last.saturating_add(self.interval))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceGrantState {
    Pending,
    /// The user approved; `scope` is what they may be granted (asked ∩ client ∩ user).
    Approved {
        user_id: UserId,
        scope: ScopeSet,
        /// The user's [`User::token_generation`] when they approved.
        user_generation: u64,
    },
    Denied,
    /// Tokens were issued for it: it is spent.
    Redeemed,
}

/// What the user decided on the approval page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceDecision {
    Approve { user_id: UserId, scope: ScopeSet, user_generation: u64 },
    Deny,
}

/// The answer to a device's poll: the grant as it stood, with the interval now in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePoll {
    pub grant: DeviceGrant,
    /// Polled sooner than an interval after the last poll: the interval was raised by the
    /// step, and the device is told only to slow down (RFC 8628 §3.5).
    pub slow_down: bool,
}

/// An authorization code (RFC 6749 §4.1.2), stored by its hash, bound to everything the token
/// request must repeat or prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: String,
    pub client_id: ClientId,
    /// The redirect URI of the authorization request, exactly as sent: the token request must
    /// send the same (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// The PKCE S256 challenge (RFC 7636 §4.2), base64url.
    pub code_challenge: String,
    pub scope: ScopeSet,
    pub user_id: UserId,
    /// The user's [`User::token_generation`] when they signed in for it.
    pub user_generation: u64,
    pub created_at: u64,
    /// The code is redeemable until then (60 s)...
    pub valid_until: u64,
    /// ...and kept until then (TTL), so a replay is still recognised and punished.
    pub expires_at: u64,
}

/// What presenting a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use within its validity: this caller redeems it.
    Redeemed(AuthCode),
    /// Used before: the refresh family the first use started, to revoke (RFC 6749 §4.1.2),
    /// and the client the code was issued to.
    Replayed { family_id: Option<String>, client_id: ClientId },
    /// Unknown or expired.
    Unknown,
}

/// A sign-in on the hosted pages: lets a person approve a second device or app without
/// typing the password again, until it idles out or reaches its absolute end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSession {
    /// The hash of the cookie's value; the value itself is never stored.
    pub session_hash: String,
    pub user_id: UserId,
    /// The user's [`User::token_generation`] at sign-in.
    pub user_generation: u64,
    pub created_at: u64,
    pub idle_expires_at: u64,
    pub expires_at: u64,
}

impl SignInSession {
    pub fn is_live(&self, now: u64) -> bool {
        now < self.idle_expires_at && now < self.expires_at
    }
}

/// Failed-login counter for an account or a source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    pub failures: u32,
    pub locked_until: u64,
    pub expires_at: u64,
}

/// What `GET /secure-data` returns besides the user's identity: private to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: UserId,
    pub display_name: String,
    /// Products the user has paid for (e.g. "premium", "sports").
    pub entitlements: Vec<String>,
    /// Catalog title ids the user saved.
    pub watchlist: Vec<String>,
}

/// A catalog title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub id: String,
    pub title: String,
    pub genre: Genre,
    pub year: u16,
    /// Minimum viewer age: one of [`Maturity::RATINGS`].
    pub maturity: Maturity,
}

impl Title {
    /// Alphabetical, accent-insensitive order; the id breaks ties so the order is total.
    pub fn sort_key(&self) -> String {
        oasis_text::fold(&self.title)
    }
}

/// Index prefixes are kept up to this many characters; a longer query word is looked up by its
/// first `MAX_INDEXED_PREFIX_CHARS` characters and the rest checked by [`CatalogQuery::matches`].
pub const MAX_INDEXED_PREFIX_CHARS: usize = 16;

/// Every prefix (1 to [`MAX_INDEXED_PREFIX_CHARS`] characters) of every word of a title, once
/// each: the keys of its search-index entries. A query word is then one exact-key range read,
/// ordered like the results, so a page reads about `limit` entries whatever the catalog size.
pub fn index_prefixes(title: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in oasis_text::terms(title) {
        for (i, c) in word.char_indices().take(MAX_INDEXED_PREFIX_CHARS) {
            let prefix = &word[..i + c.len_utf8()];
            if !out.iter().any(|p| p == prefix) {
                out.push(prefix.to_owned());
            }
        }
    }
    out
}

/// The most bytes a title's folded form and id may take together: they make the index sort key,
/// which DynamoDB caps at 1,024 bytes.
pub const MAX_POSITION_BYTES: usize = 1000;

/// What the index relies on, checked by every backend before a title is stored: no control
/// characters in the title (the index separates sort key and id with U+0001, below every
/// character a title may hold), an id of letters, digits, `-` and `_`, and a position that fits
/// an index key. The admin tool's catalog loader refuses such lines earlier, naming the line.
pub fn check_titles(titles: &[Title]) -> crate::StoreResult<()> {
    for t in titles {
        let id_ok = !t.id.is_empty() && t.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let title_ok = !t.title.is_empty() && !t.title.chars().any(char::is_control);
        if !id_ok || !title_ok || t.sort_key().len() + t.id.len() > MAX_POSITION_BYTES {
            return Err(crate::StoreError::Backend(format!("title {:?} cannot be indexed", t.id).into()));
        }
    }
    Ok(())
}

/// `titles` with only the last copy of each id, in their order.
pub fn last_copies(titles: &[Title]) -> Vec<Title> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Title> = titles.iter().rev().filter(|t| seen.insert(t.id.as_str())).cloned().collect();
    out.reverse();
    out
}

/// The index key a query word is looked up under.
pub fn index_key(term: &str) -> &str {
    match term.char_indices().nth(MAX_INDEXED_PREFIX_CHARS) {
        Some((i, _)) => &term[..i],
        None => term,
    }
}

/// How many index entries one page may read (each read request counting as
/// [`crate::search::REQUEST_COST`] more): enough for a full page of any ordinary query,
/// bounded for one whose matches are sparse in its index range (words that rarely occur
/// together, narrow filters). Such a query gets a short page and a cursor to read on, never
/// an unbounded scan or a timeout.
pub fn read_budget(limit: usize) -> usize {
    limit.saturating_mul(4).saturating_add(100)
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    /// Matches in `(sort_key, id)` order, at most the query's `limit`.
    pub titles: Vec<Title>,
    /// Where the next page starts (exclusive) when there may be more matches: after the last
    /// title, or where the read budget ran out (then the page may be short, even empty).
    /// `None` once the index range is exhausted.
    pub resume_after: Option<(String, String)>,
}

/// A catalog search, already validated. Results are ordered by `(sort_key, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogQuery {
    /// Folded words; each must prefix-match a word of the title.
    pub terms: Vec<String>,
    pub genre: Option<Genre>,
    pub year_from: Option<u16>,
    pub year_to: Option<u16>,
    /// Titles rated above this are never returned.
    pub max_maturity: Maturity,
    /// Resume strictly after this `(sort_key, id)` position.
    pub after: Option<(String, String)>,
    pub limit: usize,
}

impl CatalogQuery {
    /// The one definition of a match, which every backend must agree with.
    pub fn matches(&self, t: &Title) -> bool {
        self.matches_keyed(&t.sort_key(), t)
    }

    /// [`CatalogQuery::matches`] for a title whose sort key is at hand (index entries carry it).
    pub fn matches_keyed(&self, sort_key: &str, t: &Title) -> bool {
        // The cheap checks first: splitting and folding the title's words costs the most.
        t.maturity <= self.max_maturity
            && self.genre.as_ref().is_none_or(|g| *g == t.genre)
            && self.year_from.is_none_or(|y| t.year >= y)
            && self.year_to.is_none_or(|y| t.year <= y)
            && self.after.as_ref().is_none_or(|(k, id)| (sort_key, t.id.as_str()) > (k.as_str(), id.as_str()))
            && {
                let words = oasis_text::terms(&t.title);
                self.terms.iter().all(|term| words.iter().any(|w| w.starts_with(term.as_str())))
            }
    }
}
