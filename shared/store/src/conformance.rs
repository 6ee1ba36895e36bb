//! The conformance suite every backend must pass. Backends run it through
//! [`crate::conformance_tests!`] with a constructor for a fresh, empty store.

use crate::*;

/// Test ids: `uid("u1")` is the user id `usr_u1`.
fn uid(short: &str) -> UserId {
    UserId::parse(&format!("usr_{short}")).expect("a valid test user id")
}

fn name(raw: &str) -> Username {
    Username::parse(raw).expect("a valid test username")
}

fn cid(raw: &str) -> ClientId {
    ClientId::parse(raw).expect("a valid test client id")
}

fn rating(age: u8) -> Maturity {
    Maturity::rating(age).expect("a valid test rating")
}

fn user(id: &str, username: &str) -> User {
    User {
        id: uid(id),
        username: name(username),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        disabled: false,
        scopes: ScopeSet::parse("data:read search").expect("test scopes"),
        maturity: rating(13),
        token_generation: 0,
        created_at: 1_000,
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: cid(id),
        secret_hash: Some("hash".into()),
        name: "Test client".into(),
        first_party: true,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        scopes: ScopeSet::parse("search").expect("test scopes"),
        refresh_in_cookie: false,
        allowed_origins: vec!["https://app.example".into()],
        redirect_uris: vec![RedirectUri::parse("https://app.example/callback").unwrap()],
        disabled: false,
        created_at: 1_000,
    }
}

fn family(id: &str, user_id: &str) -> RefreshFamily {
    RefreshFamily {
        family_id: id.into(),
        user_id: uid(user_id),
        client_id: cid("web"),
        scope: "search".into(),
        user_generation: 7,
        created_at: 1_000,
        expires_at: 100_000,
        revoked: false,
    }
}

fn token(hash: &str, family_id: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family_id.into(),
        issued_at: 1_000,
        idle_expires_at: 50_000,
        rotated_at: None,
        expires_at: 100_000,
        successor: None,
        reissued: false,
    }
}

pub async fn users_are_found_by_username_and_id(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    assert_eq!(s.user_by_username(&name("alice")).await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(s.user_by_id(&uid("u1")).await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(s.user_by_username(&name("bob")).await.unwrap(), None);
    assert_eq!(s.user_by_id(&uid("u2")).await.unwrap(), None);
}

pub async fn a_username_cannot_be_taken_twice(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    let again = s.create_user(&user("u2", "alice")).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists(_))), "{again:?}");
    assert_eq!(s.user_by_id(&uid("u2")).await.unwrap(), None, "nothing half-written");
}

pub async fn user_updates_are_persisted(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    s.set_password_hash(&uid("u1"), "new-hash").await.unwrap();
    s.set_disabled(&uid("u1"), true).await.unwrap();
    s.cut_off_tokens(&uid("u1")).await.unwrap();
    let u = s.user_by_id(&uid("u1")).await.unwrap().unwrap();
    assert_eq!((u.password_hash.as_str(), u.disabled, u.token_generation), ("new-hash", true, 1));
    // Concurrent cut-offs each count: an increment in the store, not a value read and written.
    let u1 = uid("u1");
    let (a, b) = tokio::join!(s.cut_off_tokens(&u1), s.cut_off_tokens(&u1));
    a.unwrap();
    b.unwrap();
    assert_eq!(s.user_by_id(&uid("u1")).await.unwrap().unwrap().token_generation, 3);
    s.cut_off_tokens(&uid("nobody")).await.unwrap();
    assert_eq!(s.user_by_id(&uid("nobody")).await.unwrap(), None, "cutting off an unknown user creates nothing");
}

pub async fn clients_round_trip_and_are_unique(s: &dyn Store) {
    s.create_client(&client("web")).await.unwrap();
    assert_eq!(s.client(&cid("web")).await.unwrap(), Some(client("web")));
    assert_eq!(s.client(&cid("other")).await.unwrap(), None);
    assert!(matches!(s.create_client(&client("web")).await, Err(StoreError::AlreadyExists(_))));
    let mut public = client("spa");
    public.secret_hash = None;
    s.create_client(&public).await.unwrap();
    assert_eq!(s.client(&cid("spa")).await.unwrap().unwrap().secret_hash, None);
    s.set_client_disabled(&cid("web"), true).await.unwrap();
    assert!(s.client(&cid("web")).await.unwrap().unwrap().disabled);
    s.set_client_disabled(&cid("web"), false).await.unwrap();
    assert_eq!(s.client(&cid("web")).await.unwrap(), Some(client("web")), "enabled again, nothing else changed");
    s.set_client_disabled(&cid("nobody"), true).await.unwrap();
    assert_eq!(s.client(&cid("nobody")).await.unwrap(), None, "disabling an unknown client creates nothing");
}

/// An empty key finds nothing rather than failing (DynamoDB refuses empty key values). Empty
/// user ids, usernames and client ids cannot reach a store at all: their types refuse them.
pub async fn lookups_with_an_empty_key_find_nothing(s: &dyn Store) {
    s.create_client(&client("web")).await.unwrap();
    assert_eq!(s.refresh_token("").await.unwrap(), None);
    assert_eq!(s.attempts("", 0).await.unwrap(), None);
}

pub async fn a_refresh_token_rotates_exactly_once(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1")).await.unwrap();
    let (t, f) = s.refresh_token("h1").await.unwrap().unwrap();
    assert_eq!((t, f), (token("h1", "f1"), family("f1", "u1")));
    assert_eq!(s.rotate("h1", &token("h2", "f1"), "sealed-h2", 2_000).await.unwrap(), Rotation::Rotated);
    assert_eq!(s.refresh_token("h1").await.unwrap().unwrap().0.rotated_at, Some(2_000));
    assert!(s.refresh_token("h2").await.unwrap().is_some());
    assert_eq!(s.rotate("h1", &token("h3", "f1"), "sealed-h3", 2_001).await.unwrap(), Rotation::AlreadyUsed);
    assert_eq!(s.refresh_token("h3").await.unwrap(), None, "a lost rotation writes nothing");
}

/// What the token endpoint's grace window reads back: the rotated token names its successor,
/// sealed, and a lost rotation changes neither.
pub async fn a_rotated_token_records_its_successor(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1")).await.unwrap();
    assert_eq!(s.refresh_token("h1").await.unwrap().unwrap().0.successor, None);
    assert_eq!(s.rotate("h1", &token("h2", "f1"), "sealed-h2", 2_000).await.unwrap(), Rotation::Rotated);
    let want = Some(Successor { token_hash: "h2".into(), sealed: "sealed-h2".into() });
    let (rotated, _) = s.refresh_token("h1").await.unwrap().unwrap();
    assert_eq!((rotated.rotated_at, rotated.successor.clone()), (Some(2_000), want.clone()));
    assert_eq!(s.refresh_token("h2").await.unwrap().unwrap().0.successor, None, "the successor has none yet");
    assert_eq!(s.rotate("h1", &token("h3", "f1"), "sealed-h3", 2_001).await.unwrap(), Rotation::AlreadyUsed);
    assert_eq!(s.refresh_token("h1").await.unwrap().unwrap().0.successor, want, "a lost rotation changes nothing");
    assert_eq!(s.rotate("h2", &token("h3", "f1"), "sealed-h3", 2_002).await.unwrap(), Rotation::Rotated);
    assert_eq!(s.refresh_token("h2").await.unwrap().unwrap().0.rotated_at, Some(2_002), "the chain goes on");
}

pub async fn a_token_handed_out_again_is_marked_and_an_unknown_one_is_not_created(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1")).await.unwrap();
    assert!(!s.refresh_token("h1").await.unwrap().unwrap().0.reissued);
    s.mark_reissued("h1").await.unwrap();
    s.mark_reissued("h1").await.unwrap();
    let (t, _) = s.refresh_token("h1").await.unwrap().unwrap();
    assert_eq!(t, RefreshToken { reissued: true, ..token("h1", "f1") }, "marked, nothing else changed");
    s.mark_reissued("nope").await.unwrap();
    s.mark_reissued("").await.unwrap();
    assert_eq!(s.refresh_token("nope").await.unwrap(), None);
}

pub async fn a_revoked_family_cannot_rotate(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1")).await.unwrap();
    s.revoke_family("f1").await.unwrap();
    assert!(s.refresh_token("h1").await.unwrap().unwrap().1.revoked);
    assert_eq!(s.rotate("h1", &token("h2", "f1"), "sealed-h2", 2_000).await.unwrap(), Rotation::AlreadyUsed);
    assert_eq!(s.refresh_token("h2").await.unwrap(), None);
}

pub async fn revoking_a_user_revokes_all_their_families_only(s: &dyn Store) {
    s.create_family(&family("f1", "u1"), &token("h1", "f1")).await.unwrap();
    s.create_family(&family("f2", "u1"), &token("h2", "f2")).await.unwrap();
    s.create_family(&family("f3", "u2"), &token("h3", "f3")).await.unwrap();
    assert_eq!(s.revoke_user_families(&uid("u1")).await.unwrap(), 2);
    assert!(s.refresh_token("h1").await.unwrap().unwrap().1.revoked);
    assert!(s.refresh_token("h2").await.unwrap().unwrap().1.revoked);
    assert!(!s.refresh_token("h3").await.unwrap().unwrap().1.revoked);
}

pub async fn a_family_revoked_before_it_exists_cannot_then_be_created(s: &dyn Store) {
    s.revoke_family("f9").await.unwrap();
    let late = s.create_family(&family("f9", "u1"), &token("h9", "f9")).await;
    assert!(matches!(late, Err(StoreError::AlreadyExists(_))), "{late:?}");
    assert_eq!(s.refresh_token("h9").await.unwrap(), None, "nothing of it was written");
    assert_eq!(s.revoke_user_families(&uid("u1")).await.unwrap(), 0, "a tombstone belongs to no user");
    s.create_family(&family("f1", "u1"), &token("h1", "f1")).await.unwrap();
    s.revoke_family("f1").await.unwrap();
    assert!(s.refresh_token("h1").await.unwrap().unwrap().1.revoked, "an existing family is revoked as before");
}

pub async fn unknown_refresh_tokens_are_not_found(s: &dyn Store) {
    assert_eq!(s.refresh_token("nope").await.unwrap(), None);
    assert_eq!(s.rotate("nope", &token("h2", "f1"), "sealed-h2", 1).await.unwrap(), Rotation::AlreadyUsed);
}

pub async fn failure_counters_count_lock_and_expire(s: &dyn Store) {
    assert_eq!(s.attempts("acct:alice", 100).await.unwrap(), None);
    assert_eq!(s.record_failure("acct:alice", 100, 200).await.unwrap().failures, 1);
    assert_eq!(s.record_failure("acct:alice", 110, 210).await.unwrap().failures, 2);
    assert!(s.try_lock("acct:alice", 115, 150, 210).await.unwrap(), "an unlocked counter can be locked");
    assert!(!s.try_lock("acct:alice", 120, 180, 210).await.unwrap(), "a locked one cannot be locked again");
    let a = s.attempts("acct:alice", 120).await.unwrap().unwrap();
    assert_eq!((a.failures, a.locked_until, a.expires_at), (2, 150, 210));
    assert!(!s.try_lock("acct:nobody", 120, 150, 210).await.unwrap(), "no counter, nothing to lock");
    assert!(s.try_lock("acct:alice", 150, 160, 210).await.unwrap(), "once the lock is over it can be taken again");
    assert_eq!(s.attempts("acct:alice", 210).await.unwrap(), None, "expired counters are gone");
    let fresh = s.record_failure("acct:alice", 300, 400).await.unwrap();
    assert_eq!((fresh.failures, fresh.locked_until), (1, 0), "an expired counter restarts");
    s.clear_attempts("acct:alice").await.unwrap();
    assert_eq!(s.attempts("acct:alice", 301).await.unwrap(), None);
}

pub async fn a_forgiven_failure_is_taken_back_and_never_below_zero_or_into_a_new_counter(s: &dyn Store) {
    s.record_failure("ip:10.9.9.9", 100, 200).await.unwrap();
    s.record_failure("ip:10.9.9.9", 100, 200).await.unwrap();
    s.forgive_failure("ip:10.9.9.9", 110).await.unwrap();
    assert_eq!(s.attempts("ip:10.9.9.9", 110).await.unwrap().unwrap().failures, 1);
    s.forgive_failure("ip:10.9.9.9", 110).await.unwrap();
    s.forgive_failure("ip:10.9.9.9", 110).await.unwrap();
    assert_eq!(s.attempts("ip:10.9.9.9", 110).await.unwrap().unwrap().failures, 0, "not below zero");
    s.forgive_failure("ip:nobody", 110).await.unwrap();
    assert_eq!(s.attempts("ip:nobody", 110).await.unwrap(), None, "forgiving creates no counter");
    s.record_failure("ip:10.9.9.8", 100, 200).await.unwrap();
    s.forgive_failure("ip:10.9.9.8", 200).await.unwrap();
    assert_eq!(s.attempts("ip:10.9.9.8", 199).await.unwrap().unwrap().failures, 1, "an expired counter is not touched");
}

pub async fn only_the_lock_an_attempt_took_is_released(s: &dyn Store) {
    s.record_failure("ip:10.9.9.7", 100, 500).await.unwrap();
    assert!(s.try_lock("ip:10.9.9.7", 100, 130, 500).await.unwrap());
    s.release_lock("ip:10.9.9.7", 129).await.unwrap();
    assert_eq!(s.attempts("ip:10.9.9.7", 110).await.unwrap().unwrap().locked_until, 130, "another lock stays");
    s.release_lock("ip:10.9.9.7", 130).await.unwrap();
    let a = s.attempts("ip:10.9.9.7", 110).await.unwrap().unwrap();
    assert_eq!((a.locked_until, a.failures), (0, 1), "released, the count kept");
    s.release_lock("ip:nobody", 130).await.unwrap();
    assert_eq!(s.attempts("ip:nobody", 110).await.unwrap(), None, "releasing creates no counter");
}

pub async fn counters_are_kept_per_key(s: &dyn Store) {
    s.record_failure("acct:alice", 100, 200).await.unwrap();
    s.record_failure("ip:10.0.0.1", 100, 200).await.unwrap();
    s.record_failure("ip:10.0.0.1", 100, 200).await.unwrap();
    assert_eq!(s.attempts("acct:alice", 100).await.unwrap().unwrap().failures, 1);
    assert_eq!(s.attempts("ip:10.0.0.1", 100).await.unwrap().unwrap().failures, 2);
}

pub async fn profiles_round_trip_and_update(s: &dyn Store) {
    let mut p = Profile {
        user_id: uid("u1"),
        display_name: "Alice".into(),
        entitlements: vec!["premium".into()],
        watchlist: vec!["tt1".into(), "tt2".into()],
    };
    s.put_profile(&p).await.unwrap();
    assert_eq!(s.profile(&uid("u1")).await.unwrap(), Some(p.clone()));
    p.watchlist.clear();
    s.put_profile(&p).await.unwrap();
    assert_eq!(s.profile(&uid("u1")).await.unwrap(), Some(p));
    assert_eq!(s.profile(&uid("u2")).await.unwrap(), None);
}

/// A small catalog with the cases that break naive search: accents, case, shared prefixes,
/// equal titles, SQL and LIKE metacharacters, every maturity level.
pub fn sample_catalog() -> Vec<Title> {
    let t = |id: &str, title: &str, genre: &str, year: u16, maturity: u8| Title {
        id: id.into(),
        title: title.into(),
        genre: Genre::parse(genre).expect("a valid test genre"),
        year,
        maturity: rating(maturity),
    };
    vec![
        t("tt01", "The Matrix", "scifi", 1999, 16),
        t("tt02", "The Matrix Reloaded", "scifi", 2003, 16),
        t("tt03", "Amélie", "comedy", 2001, 13),
        t("tt04", "AMELIE returns", "comedy", 2021, 0),
        t("tt05", "Matryoshka", "drama", 2010, 7),
        t("tt06", "100% Pure_Drama", "drama", 2015, 18),
        t("tt07", "O'Brien's Café", "comedy", 1995, 0),
        t("tt08", "Noël à Zürich", "family", 2008, 0),
        t("tt09", "The Matrix", "scifi", 2021, 13),
        t("tt10", "Rob'); DROP TABLE titles;--", "comedy", 2020, 7),
        t("tt11", "Night Shift", "horror", 2019, 18),
        t("tt12", "Nightingale", "drama", 2018, 16),
    ]
}

fn query(terms: &[&str], max_maturity: u8) -> CatalogQuery {
    CatalogQuery {
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
        genre: None,
        year_from: None,
        year_to: None,
        max_maturity: Maturity::parse(max_maturity).unwrap(),
        after: None,
        limit: 100,
    }
}

fn reference(q: &CatalogQuery) -> Vec<String> {
    let mut all: Vec<Title> = sample_catalog().into_iter().filter(|t| q.matches(t)).collect();
    all.sort_by_key(|t| (t.sort_key(), t.id.clone()));
    all.into_iter().take(q.limit).map(|t| t.id).collect()
}

pub async fn search_matches_words_and_prefixes_ignoring_case_and_accents(s: &dyn Store) {
    s.put_titles(&sample_catalog()).await.unwrap();
    assert_eq!(s.title_count().await.unwrap(), 12);
    let ids = |v: Vec<Title>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let cases: Vec<(Vec<&str>, u8, Vec<&str>)> = vec![
        (vec!["amelie"], 18, vec!["tt03", "tt04"]),
        (vec!["matr"], 18, vec!["tt05", "tt01", "tt09", "tt02"]),
        (vec!["matrix", "rel"], 18, vec!["tt02"]),
        (vec!["noel", "zurich"], 18, vec!["tt08"]),
        (vec!["cafe"], 18, vec!["tt07"]),
        (vec!["night"], 18, vec!["tt11", "tt12"]),
        (vec!["drop", "table"], 18, vec!["tt10"]),
        (vec!["atrix"], 18, vec![]),
        (vec!["%"], 18, vec![]),
        (vec!["_"], 18, vec![]),
        (vec!["' or 1=1 --"], 18, vec![]),
        (vec!["matr"], 13, vec!["tt05", "tt09"]),
        (vec!["matr"], 0, vec![]),
    ];
    for (terms, maturity, want) in cases {
        let q = query(&terms, maturity);
        let got = ids(s.search(&q).await.unwrap().titles);
        assert_eq!(got, want, "{terms:?} at maturity {maturity}");
        assert_eq!(got, reference(&q), "backend disagrees with CatalogQuery::matches for {terms:?}");
    }
}

pub async fn search_filters_by_genre_and_year_range(s: &dyn Store) {
    s.put_titles(&sample_catalog()).await.unwrap();
    let mut q = query(&["the"], 18);
    q.genre = Some(Genre::parse("scifi").unwrap());
    q.year_from = Some(2000);
    q.year_to = Some(2010);
    let got: Vec<String> = s.search(&q).await.unwrap().titles.into_iter().map(|t| t.id).collect();
    assert_eq!(got, vec!["tt02"]);
    assert_eq!(got, reference(&q));
}

/// Reads every page of `q` (following `resume_after`), checking each page's size.
async fn all_pages(s: &dyn Store, mut q: CatalogQuery) -> (Vec<String>, usize) {
    let (mut seen, mut pages) = (vec![], 0);
    loop {
        let page = s.search(&q).await.unwrap();
        assert!(page.titles.len() <= q.limit, "a page holds at most `limit` titles");
        pages += 1;
        assert!(pages <= 10_000, "paging does not end");
        seen.extend(page.titles.into_iter().map(|t| t.id));
        match page.resume_after {
            Some(after) => q.after = Some(after),
            None => return (seen, pages),
        }
    }
}

pub async fn search_pages_cover_every_match_once_in_order(s: &dyn Store) {
    s.put_titles(&sample_catalog()).await.unwrap();
    let full = reference(&query(&["the"], 18));
    assert!(full.len() >= 3);
    let mut q = query(&["the"], 18);
    q.limit = 2;
    let first = s.search(&q).await.unwrap();
    assert_eq!(first.titles.len(), 2, "a full page while more match");
    assert!(first.resume_after.is_some(), "and a position to read on from");
    let (seen, _) = all_pages(s, q).await;
    assert_eq!(seen, full);
    let mut last = query(&["the"], 18);
    last.limit = full.len();
    assert_eq!(s.search(&last).await.unwrap().resume_after, None, "no cursor once every match is on the page");
}

/// Matches that are sparse in their index range. Two words common alone and rare together are
/// found by skipping (the rare word's range leads the common one's), in one page. A narrow
/// filter cannot be skipped to: its pages stop at the read budget (short pages with a
/// position) instead of scanning on, and together still give every match once.
pub async fn sparse_matches_come_in_budgeted_pages_that_still_cover_every_match(s: &dyn Store) {
    let mut catalog: Vec<Title> = (0..400)
        .map(|i| Title {
            id: format!("sp{i:03}"),
            title: format!("Common Story {i}"),
            genre: Genre::parse("drama").unwrap(),
            year: 2000,
            maturity: Maturity::ALL_AGES,
        })
        .collect();
    // Late in result order ("common story 39…"), far beyond the first page's budget.
    for i in [390, 399] {
        catalog[i].title = format!("Common Story {i} Rare");
        catalog[i].genre = Genre::parse("horror").unwrap();
    }
    for chunk in catalog.chunks(100) {
        s.put_titles(chunk).await.unwrap();
    }
    let reference = |q: &CatalogQuery| {
        let mut all: Vec<&Title> = catalog.iter().filter(|t| q.matches(t)).collect();
        all.sort_by_key(|t| (t.sort_key(), t.id.clone()));
        all.into_iter().map(|t| t.id.clone()).collect::<Vec<_>>()
    };

    let mut rare = query(&["rare", "common"], 18);
    rare.limit = 2;
    let page = s.search(&rare).await.unwrap();
    assert_eq!(page.titles.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["sp390", "sp399"]);
    assert_eq!(page.resume_after, None, "both found and the ranges exhausted in one page");

    let mut narrow = query(&["story"], 18);
    narrow.genre = Some(Genre::parse("horror").unwrap());
    narrow.limit = 2;
    let first = s.search(&narrow).await.unwrap();
    assert!(first.titles.is_empty() && first.resume_after.is_some(), "the budget ends the page: {first:?}");
    let (seen, pages) = all_pages(s, narrow.clone()).await;
    assert_eq!(seen, reference(&narrow));
    assert_eq!(seen, ["sp390", "sp399"]);
    assert!(pages >= 3, "400 entries at a budget of 108 a page: {pages} pages");
}

pub async fn replacing_a_title_reindexes_it(s: &dyn Store) {
    s.put_titles(&sample_catalog()).await.unwrap();
    let mut renamed = sample_catalog()[0].clone();
    renamed.title = "Completely Different".into();
    s.put_titles(&[renamed]).await.unwrap();
    assert_eq!(s.title_count().await.unwrap(), 12);
    let by = |w: &str| query(&[w], 18);
    assert!(!s.search(&by("matrix")).await.unwrap().titles.iter().any(|t| t.id == "tt01"), "old words are gone");
    assert!(!s.search(&by("mat")).await.unwrap().titles.iter().any(|t| t.id == "tt01"), "and their prefixes");
    assert_eq!(s.search(&by("complet")).await.unwrap().titles[0].id, "tt01");
}

pub async fn titles_the_index_cannot_hold_are_refused_and_change_nothing(s: &dyn Store) {
    let good = sample_catalog()[0].clone();
    let with = |f: &dyn Fn(&mut Title)| {
        let mut t = good.clone();
        f(&mut t);
        t
    };
    let bad = [
        with(&|t| t.title = "Split\u{1}Here".into()),
        with(&|t| t.title = "Tab\tbed".into()),
        with(&|t| t.id = "has space".into()),
        with(&|t| t.id = String::new()),
        with(&|t| t.title = "한".repeat(200)),
    ];
    for t in bad {
        assert!(s.put_titles(&[good.clone(), t.clone()]).await.is_err(), "{t:?}");
    }
    assert_eq!(s.title_count().await.unwrap(), 0, "a refused batch stores nothing");
}

pub async fn a_title_given_twice_in_one_batch_is_indexed_as_its_last_copy(s: &dyn Store) {
    let first = sample_catalog()[0].clone();
    let mut second = first.clone();
    second.title = "Completely Different".into();
    s.put_titles(&[first, second]).await.unwrap();
    assert_eq!(s.title_count().await.unwrap(), 1);
    assert!(s.search(&query(&["matrix"], 18)).await.unwrap().titles.is_empty(), "the first copy left no entries");
    assert_eq!(s.search(&query(&["complet"], 18)).await.unwrap().titles.len(), 1);
}

fn code(raw: &str) -> UserCode {
    UserCode::parse(raw).expect("a valid test user code")
}

fn device_grant(hash: &str, user_code: &str) -> DeviceGrant {
    DeviceGrant {
        device_code_hash: hash.into(),
        user_code: code(user_code),
        client_id: cid("tv-app"),
        scope: ScopeSet::parse("search").expect("test scopes"),
        created_at: 1_000,
        expires_at: 1_900,
        interval: 5,
        last_polled_at: None,
        state: DeviceGrantState::Pending,
    }
}

fn approve(user: &str) -> DeviceDecision {
    DeviceDecision::Approve {
        user_id: uid(user),
        scope: ScopeSet::parse("search").expect("test scopes"),
        user_generation: 7,
    }
}

pub async fn a_device_grant_is_found_by_its_user_code_until_it_expires(s: &dyn Store) {
    s.create_device_grant(&device_grant("d1", "BCDFGHJK"), 1_000).await.unwrap();
    assert_eq!(
        s.device_grant_by_user_code(&code("BCDFGHJK"), 1_899).await.unwrap(),
        Some(device_grant("d1", "BCDFGHJK"))
    );
    assert_eq!(s.device_grant_by_user_code(&code("BCDFGHJK"), 1_900).await.unwrap(), None, "expired");
    assert_eq!(s.device_grant_by_user_code(&code("ZZZZZZZZ"), 1_000).await.unwrap(), None);
}

pub async fn a_user_code_or_device_code_is_held_by_one_live_grant_only(s: &dyn Store) {
    s.create_device_grant(&device_grant("d1", "BCDFGHJK"), 1_000).await.unwrap();
    let taken = s.create_device_grant(&device_grant("d2", "BCDFGHJK"), 1_500).await;
    assert!(matches!(taken, Err(StoreError::AlreadyExists(_))), "{taken:?}");
    let same_device = s.create_device_grant(&device_grant("d1", "CCDFGHJK"), 1_500).await;
    assert!(matches!(same_device, Err(StoreError::AlreadyExists(_))), "{same_device:?}");
    assert_eq!(
        s.device_grant_by_user_code(&code("CCDFGHJK"), 1_500).await.unwrap(),
        None,
        "a refused grant wrote nothing"
    );
    let mut later = device_grant("d3", "BCDFGHJK");
    (later.created_at, later.expires_at) = (2_000, 2_900);
    s.create_device_grant(&later, 2_000).await.unwrap();
    assert_eq!(
        s.device_grant_by_user_code(&code("BCDFGHJK"), 2_000).await.unwrap(),
        Some(later),
        "an expired grant's code is free again"
    );
}

pub async fn a_device_grant_is_decided_once_and_only_while_pending(s: &dyn Store) {
    s.create_device_grant(&device_grant("d1", "BCDFGHJK"), 1_000).await.unwrap();
    assert!(s.decide_device_grant(&code("BCDFGHJK"), &approve("u1"), 1_100).await.unwrap());
    assert!(!s.decide_device_grant(&code("BCDFGHJK"), &DeviceDecision::Deny, 1_101).await.unwrap(), "decided already");
    assert!(!s.decide_device_grant(&code("BCDFGHJK"), &approve("u2"), 1_101).await.unwrap(), "decided already");
    let g = s.device_grant_by_user_code(&code("BCDFGHJK"), 1_102).await.unwrap().unwrap();
    let approved = DeviceGrantState::Approved {
        user_id: uid("u1"),
        scope: ScopeSet::parse("search").unwrap(),
        user_generation: 7,
    };
    assert_eq!(g.state, approved);
    s.create_device_grant(&device_grant("d2", "CCDFGHJK"), 1_000).await.unwrap();
    assert!(!s.decide_device_grant(&code("CCDFGHJK"), &approve("u1"), 1_900).await.unwrap(), "expired");
    assert!(!s.decide_device_grant(&code("ZZZZZZZZ"), &approve("u1"), 1_100).await.unwrap(), "unknown");
    s.create_device_grant(&device_grant("d3", "DCDFGHJK"), 1_000).await.unwrap();
    assert!(s.decide_device_grant(&code("DCDFGHJK"), &DeviceDecision::Deny, 1_100).await.unwrap());
    assert_eq!(
        s.device_grant_by_user_code(&code("DCDFGHJK"), 1_100).await.unwrap().unwrap().state,
        DeviceGrantState::Denied
    );
}

pub async fn polling_sooner_than_the_interval_slows_the_device_down(s: &dyn Store) {
    s.create_device_grant(&device_grant("d1", "BCDFGHJK"), 1_000).await.unwrap();
    let poll = |now| async move {
        s.poll_device_grant("d1", &cid("tv-app"), now, 5).await.unwrap().map(|p| (p.slow_down, p.grant.interval))
    };
    let first = s.poll_device_grant("d1", &cid("tv-app"), 1_010, 5).await.unwrap().unwrap();
    assert_eq!(first, DevicePoll { grant: device_grant("d1", "BCDFGHJK"), slow_down: false });
    assert_eq!(poll(1_012).await, Some((true, 10)));
    assert_eq!(poll(1_020).await, Some((true, 15)), "counted from the last poll, too fast or not");
    let patient = s.poll_device_grant("d1", &cid("tv-app"), 1_035, 5).await.unwrap().unwrap();
    assert_eq!((patient.slow_down, patient.grant.interval, patient.grant.last_polled_at), (false, 15, Some(1_020)));
    assert_eq!(s.poll_device_grant("nope", &cid("tv-app"), 1_040, 5).await.unwrap(), None);
    assert_eq!(s.poll_device_grant("", &cid("tv-app"), 1_040, 5).await.unwrap(), None);
    assert_eq!(s.poll_device_grant("d1", &cid("other-app"), 1_040, 5).await.unwrap(), None, "another client's code");
    let after = s.poll_device_grant("d1", &cid("tv-app"), 1_050, 5).await.unwrap().unwrap();
    assert_eq!(after.grant.last_polled_at, Some(1_035), "another client's poll recorded nothing");
    let late = s.poll_device_grant("d1", &cid("tv-app"), 5_000, 5).await.unwrap().unwrap();
    assert_eq!(late.grant.expires_at, 1_900, "an expired grant still answers");
}

pub async fn an_approved_device_grant_is_redeemed_exactly_once(s: &dyn Store) {
    s.create_device_grant(&device_grant("d1", "BCDFGHJK"), 1_000).await.unwrap();
    assert!(!s.redeem_device_grant("d1", 1_050).await.unwrap(), "pending");
    assert!(s.decide_device_grant(&code("BCDFGHJK"), &approve("u1"), 1_100).await.unwrap());
    let (a, b, c, d) = tokio::join!(
        s.redeem_device_grant("d1", 1_200),
        s.redeem_device_grant("d1", 1_200),
        s.redeem_device_grant("d1", 1_200),
        s.redeem_device_grant("d1", 1_200),
    );
    let won = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    assert_eq!(
        s.poll_device_grant("d1", &cid("tv-app"), 1_300, 5).await.unwrap().unwrap().grant.state,
        DeviceGrantState::Redeemed
    );
    s.create_device_grant(&device_grant("d2", "CCDFGHJK"), 1_000).await.unwrap();
    assert!(s.decide_device_grant(&code("CCDFGHJK"), &DeviceDecision::Deny, 1_100).await.unwrap());
    assert!(!s.redeem_device_grant("d2", 1_200).await.unwrap(), "denied");
    s.create_device_grant(&device_grant("d3", "DCDFGHJK"), 1_000).await.unwrap();
    assert!(s.decide_device_grant(&code("DCDFGHJK"), &approve("u1"), 1_100).await.unwrap());
    assert!(!s.redeem_device_grant("d3", 1_900).await.unwrap(), "expired");
    assert!(!s.redeem_device_grant("", 1_100).await.unwrap());
}

fn auth_code(hash: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        client_id: cid("web"),
        redirect_uri: "https://app.example/callback".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        scope: ScopeSet::parse("search").expect("test scopes"),
        user_id: uid("u1"),
        user_generation: 7,
        created_at: 1_000,
        valid_until: 1_060,
        expires_at: 87_400,
    }
}

pub async fn an_authorization_code_is_redeemed_once_and_a_replay_names_the_family_it_started(s: &dyn Store) {
    s.create_code(&auth_code("c1")).await.unwrap();
    assert!(matches!(s.create_code(&auth_code("c1")).await, Err(StoreError::AlreadyExists(_))));
    let (a, b, c) = tokio::join!(
        s.redeem_code("c1", "fam-a", 1_010),
        s.redeem_code("c1", "fam-b", 1_010),
        s.redeem_code("c1", "fam-c", 1_010)
    );
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
    let winners: Vec<_> = outcomes.iter().filter(|o| matches!(o, CodeRedemption::Redeemed(_))).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(*winners[0], CodeRedemption::Redeemed(auth_code("c1")));
    let family = match outcomes.iter().position(|o| matches!(o, CodeRedemption::Redeemed(_))) {
        Some(0) => "fam-a",
        Some(1) => "fam-b",
        _ => "fam-c",
    };
    assert_eq!(
        s.redeem_code("c1", "fam-d", 1_020).await.unwrap(),
        CodeRedemption::Replayed { family_id: Some(family.into()), client_id: cid("web") }
    );
    assert_eq!(
        s.redeem_code("c1", "fam-e", 2_000).await.unwrap(),
        CodeRedemption::Replayed { family_id: Some(family.into()), client_id: cid("web") },
        "a replay is known after the code's minute"
    );
}

pub async fn an_expired_or_unknown_authorization_code_redeems_nothing(s: &dyn Store) {
    s.create_code(&auth_code("c1")).await.unwrap();
    assert_eq!(s.redeem_code("c1", "fam-a", 1_060).await.unwrap(), CodeRedemption::Unknown, "past its minute");
    assert_eq!(s.redeem_code("nope", "fam-a", 1_010).await.unwrap(), CodeRedemption::Unknown);
    assert_eq!(s.redeem_code("", "fam-a", 1_010).await.unwrap(), CodeRedemption::Unknown);
}

fn session(hash: &str) -> SignInSession {
    SignInSession {
        session_hash: hash.into(),
        user_id: uid("u1"),
        user_generation: 7,
        created_at: 1_000,
        idle_expires_at: 2_800,
        expires_at: 44_200,
    }
}

pub async fn a_sign_in_session_lives_until_it_idles_out_or_ends_or_is_deleted(s: &dyn Store) {
    s.create_session(&session("s1")).await.unwrap();
    assert!(matches!(s.create_session(&session("s1")).await, Err(StoreError::AlreadyExists(_))));
    let touched = s.touch_session("s1", 2_000, 3_800).await.unwrap().unwrap();
    assert_eq!((touched.user_id, touched.user_generation, touched.idle_expires_at), (uid("u1"), 7, 3_800));
    assert_eq!(s.touch_session("s1", 3_800, 5_600).await.unwrap(), None, "idled out");
    s.create_session(&SignInSession { expires_at: 2_500, ..session("s2") }).await.unwrap();
    assert_eq!(s.touch_session("s2", 2_500, 4_300).await.unwrap(), None, "past its absolute end");
    s.create_session(&session("s3")).await.unwrap();
    s.delete_session("s3").await.unwrap();
    assert_eq!(s.touch_session("s3", 1_100, 2_900).await.unwrap(), None);
    assert_eq!(s.touch_session("", 1_100, 2_900).await.unwrap(), None);
    s.delete_session("nope").await.unwrap();
}

/// Generates one `#[tokio::test]` per conformance check for a backend.
/// `$make` is an async expression returning a fresh store (`impl Store`).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            users_are_found_by_username_and_id,
            a_username_cannot_be_taken_twice,
            user_updates_are_persisted,
            clients_round_trip_and_are_unique,
            lookups_with_an_empty_key_find_nothing,
            a_refresh_token_rotates_exactly_once,
            a_rotated_token_records_its_successor,
            a_token_handed_out_again_is_marked_and_an_unknown_one_is_not_created,
            a_revoked_family_cannot_rotate,
            revoking_a_user_revokes_all_their_families_only,
            unknown_refresh_tokens_are_not_found,
            a_family_revoked_before_it_exists_cannot_then_be_created,
            failure_counters_count_lock_and_expire,
            counters_are_kept_per_key,
            a_forgiven_failure_is_taken_back_and_never_below_zero_or_into_a_new_counter,
            only_the_lock_an_attempt_took_is_released,
            profiles_round_trip_and_update,
            search_matches_words_and_prefixes_ignoring_case_and_accents,
            search_filters_by_genre_and_year_range,
            search_pages_cover_every_match_once_in_order,
            sparse_matches_come_in_budgeted_pages_that_still_cover_every_match,
            replacing_a_title_reindexes_it,
            titles_the_index_cannot_hold_are_refused_and_change_nothing,
            a_title_given_twice_in_one_batch_is_indexed_as_its_last_copy,
            a_device_grant_is_found_by_its_user_code_until_it_expires,
            a_user_code_or_device_code_is_held_by_one_live_grant_only,
            a_device_grant_is_decided_once_and_only_while_pending,
            polling_sooner_than_the_interval_slows_the_device_down,
            an_approved_device_grant_is_redeemed_exactly_once,
            an_authorization_code_is_redeemed_once_and_a_replay_names_the_family_it_started,
            an_expired_or_unknown_authorization_code_redeems_nothing,
            a_sign_in_session_lives_until_it_idles_out_or_ends_or_is_deleted,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $make.await;
                $crate::conformance::$name(&store).await;
            }
        )*
    };
}
