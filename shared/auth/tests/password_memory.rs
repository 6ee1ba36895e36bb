//! Peak memory of many password hashes in one process (a warm Lambda instance).
//!
//! argon2id fills an m_cost-sized block array per hash (19 MiB by default). Allocated afresh
//! for every hash, glibc's dynamic mmap threshold moved those arrays onto the heap, where they
//! were never given back: a warm token function grew by tens of MB per sign-in until Lambda
//! killed it. The hasher now owns one reusable array. This is its own test binary (one test),
//! so nothing else in the process moves the peak.

use oasis_auth::password::{PasswordHasher, Verification};

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux only)");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn a_hundred_hashes_in_one_process_use_the_memory_of_one() {
    const M_KIB: u64 = 19_456;
    let hasher = PasswordHasher::new(M_KIB as u32, 2, 1).unwrap();
    // One of each path that hashes: a new hash, a verification, the dummy, a rehash.
    let stored = hasher.hash("the first password").unwrap();
    assert_eq!(hasher.verify("the first password", &stored), Verification::Valid { rehash: None });
    let after_one = peak_rss_kib();

    let older = PasswordHasher::new(M_KIB as u32, 3, 1).unwrap().hash("an older password").unwrap();
    // Threads as well: a multi-threaded runtime hashes on whichever worker runs the request.
    std::thread::scope(|s| {
        for worker in 0..4 {
            let (hasher, stored, older) = (&hasher, &stored, &older);
            s.spawn(move || {
                for i in 0..25 {
                    match (worker + i) % 4 {
                        0 => drop(hasher.hash(&format!("password number {i}")).unwrap()),
                        1 => assert_eq!(hasher.verify("a wrong password", stored), Verification::Invalid),
                        2 => hasher.verify_dummy("whatever was typed"),
                        _ => assert!(matches!(
                            hasher.verify("an older password", older),
                            Verification::Valid { rehash: Some(_) }
                        )),
                    }
                }
            });
        }
    });
    let after_hundred = peak_rss_kib();
    let growth = after_hundred.saturating_sub(after_one);
    assert!(
        growth <= 2 * M_KIB,
        "peak RSS grew by {growth} KiB over 100 hashes (from {after_one} to {after_hundred} KiB); \
         the budget is twice one hash's memory ({} KiB)",
        2 * M_KIB
    );
}
