//! Fuzz targets for every parser of untrusted input, one function per target over raw bytes.
//!
//! `make fuzz` runs each under AFL++ (the `oasis-fuzz` binary, feature `afl`, built with
//! cargo-afl into `target/fuzz/`), starting from seeds made from `events/` ([`seeds`]). A
//! target panics when a parser panics or a property of its answer breaks; AFL++ keeps the
//! input. `tests/replay.rs` runs every seed and every kept input in `fuzz/regressions/<target>/`
//! through the same functions on each `cargo test`, without instrumentation.

pub mod basic;
pub mod cursor;
pub mod event;
pub mod form;
pub mod jwt;
pub mod search;
pub mod seeds;
pub mod values;

/// One fuzz target: a parser (or a chain of them) driven by arbitrary bytes.
pub struct Target {
    pub name: &'static str,
    /// What it parses.
    pub covers: &'static str,
    /// Panics on a parser's panic or a broken property; returns for every other input.
    pub run: fn(&[u8]),
    /// Starting inputs, made from the sample events.
    pub seeds: fn(&[seeds::Event]) -> Vec<Vec<u8>>,
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "event",
        covers: "an API Gateway event through lambda_http into a request, then everything the shell and the functions read from it: request meta, routes, bearer token, form body, client credentials, search",
        run: event::run,
        seeds: event::seeds,
    },
    Target {
        name: "form",
        covers: "application/x-www-form-urlencoded bodies (oasis_lambda::form::read): content type line, then the body",
        run: form::run,
        seeds: form::seeds,
    },
    Target {
        name: "basic",
        covers: "client credentials (oasis_token::client::presented): an Authorization header line, then a form body; and any id and secret round-trip through HTTP Basic",
        run: basic::run,
        seeds: basic::seeds,
    },
    Target {
        name: "jwt",
        covers: "access tokens (oasis_auth::token::Verifier): a raw token, or a header line and claims signed with a test key so the claim checks are reached",
        run: jwt::run,
        seeds: jwt::seeds,
    },
    Target {
        name: "search",
        covers: "the search request (oasis_search::parse): a query string for GET, a JSON body (starting with `{`) for POST",
        run: search::run,
        seeds: search::seeds,
    },
    Target {
        name: "cursor",
        covers: "search cursors (oasis_search::CursorKey::open), and any position round-trips through seal and open",
        run: cursor::run,
        seeds: cursor::seeds,
    },
    Target {
        name: "values",
        covers: "the protocol values (oasis_domain): username, client id, user id, scope, grant type, genre, user code, redirect URI, PKCE; a first byte picks which",
        run: values::run,
        seeds: values::seeds,
    },
];

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// `(first line, rest)`: most targets read a header-like line, then a body.
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// `line`, a newline and `rest`: the inverse of [`split_line`], for seeds.
pub fn join_line(line: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    out.push(b'\n');
    out.extend_from_slice(rest);
    out
}

/// `fuzz/regressions/`: inputs a fuzzer once found, kept as test cases, one directory per target.
pub fn regressions_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions")
}

/// The kept inputs of `target`, by file name (none when it has no directory).
pub fn kept(target: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let dir = regressions_dir().join(target);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if path.is_file() && !name.starts_with('.') {
            kept.push((name, std::fs::read(&path)?));
        }
    }
    kept.sort();
    Ok(kept)
}
