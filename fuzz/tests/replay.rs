//! Every seed and every kept input (`fuzz/regressions/<target>/`) through its target, without
//! AFL: a crash a fuzzer found stays a test case on every `cargo test`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use oasis_fuzz::{TARGETS, kept, regressions_dir, seeds};

fn events() -> Vec<seeds::Event> {
    let events = seeds::events(&seeds::events_dir()).expect("events/ is readable");
    assert!(events.len() > 10, "the sample events are where the seeds come from");
    events
}

#[test]
fn every_seed_and_every_kept_crash_input_passes_its_target() {
    let events = events();
    let mut failed = Vec::new();
    for t in TARGETS {
        let seeds = (t.seeds)(&events);
        assert!(seeds.len() >= 3, "{}: only {} seeds", t.name, seeds.len());
        let inputs = seeds
            .into_iter()
            .enumerate()
            .map(|(i, s)| (format!("seed {i}"), s))
            .chain(kept(t.name).expect("fuzz/regressions/ is readable"));
        for (name, input) in inputs {
            let started = Instant::now();
            if catch_unwind(AssertUnwindSafe(|| (t.run)(&input))).is_err() {
                failed.push(format!("{}: {name} ({:?})", t.name, String::from_utf8_lossy(&input)));
            }
            // A kept hang ran past AFL's 2 s limit on an optimised build; fixed, it is quick.
            if name.starts_with("hang-") && started.elapsed() > Duration::from_secs(1) {
                failed.push(format!("{}: {name} still takes {:?}", t.name, started.elapsed()));
            }
        }
    }
    assert!(failed.is_empty(), "inputs that fail their target:\n{}", failed.join("\n"));
}

#[test]
fn every_directory_of_kept_inputs_names_a_target() {
    for entry in std::fs::read_dir(regressions_dir()).expect("fuzz/regressions/ exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(oasis_fuzz::target(name).is_some(), "fuzz/regressions/{name}/ is no target");
        }
    }
}

#[test]
fn the_jwt_seeds_hold_accepted_tokens_so_the_checks_behind_the_signature_run() {
    let accepted = (oasis_fuzz::jwt::seeds)(&events()).iter().filter(|s| oasis_fuzz::jwt::accepted(s)).count();
    assert!(accepted >= 4, "{accepted} accepted seeds");
}

/// A kept `jwt` input signed in its run holds the times of that run, and an expired token is
/// refused before its claims are looked at. Moved to now (same lifetime), it replays what the
/// fuzzer saw: a token the verifier takes, or refuses, for what it holds.
fn refreshed(input: &[u8]) -> Option<Vec<u8>> {
    let number = |name: &str| -> Option<(usize, usize, u64)> {
        let key = format!("\"{name}\":");
        let at = input.windows(key.len()).position(|w| w == key.as_bytes())? + key.len();
        let len = input[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        Some((at, len, std::str::from_utf8(&input[at..at + len]).ok()?.parse().ok()?))
    };
    let (iat, exp) = (number("iat")?, number("exp")?);
    let shift = oasis_auth::now().checked_sub(iat.2 + 60)?;
    let (first, second) = if iat.0 < exp.0 { (iat, exp) } else { (exp, iat) };
    let mut out = input[..first.0].to_vec();
    out.extend_from_slice((first.2 + shift).to_string().as_bytes());
    out.extend_from_slice(&input[first.0 + first.1..second.0]);
    out.extend_from_slice((second.2 + shift).to_string().as_bytes());
    out.extend_from_slice(&input[second.0 + second.1..]);
    Some(out)
}

#[test]
fn kept_jwt_inputs_replay_with_their_times_moved_to_now() {
    for (name, input) in kept("jwt").expect("fuzz/regressions/ is readable") {
        if input.first().is_some_and(|mode| mode % 2 == 1)
            && let Some(fresh) = refreshed(&input)
        {
            let outcome = catch_unwind(AssertUnwindSafe(|| oasis_fuzz::jwt::run(&fresh)));
            assert!(outcome.is_ok(), "jwt: {name}, moved to now, fails its target");
        }
    }
}
