//! The AFL++ entry point, built by `make fuzz` (cargo-afl, feature `afl`):
//!
//! * `oasis-fuzz TARGET` runs one target: under afl-fuzz, in its persistent loop; outside it,
//!   once on stdin (to reproduce a crash: `oasis-fuzz form < crash-file`).
//! * `oasis-fuzz seeds DIR` writes each target's seeds (from `events/`) and kept inputs (from
//!   `fuzz/regressions/`) to `DIR/<target>/`.
//! * `oasis-fuzz list` names the targets and what each parses.

use std::path::Path;
use std::process::ExitCode;

use oasis_fuzz::{TARGETS, kept, seeds, target};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["list"] => {
            for t in TARGETS {
                println!("{}\t{}", t.name, t.covers);
            }
            ExitCode::SUCCESS
        }
        ["seeds", dir] => match write_seeds(Path::new(dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("oasis-fuzz seeds: {e}");
                ExitCode::FAILURE
            }
        },
        [name] if target(name).is_some() => {
            let run = target(name).map(|t| t.run).unwrap_or(|_| {});
            // No aborting panic hook: the `event` target catches lambda_http's own panics
            // (see `oasis_fuzz::event::convert`); any other panic unwinds into afl::fuzz,
            // which aborts, and AFL++ records the crash.
            afl::fuzz(false, run);
            ExitCode::SUCCESS
        }
        _ => {
            let names: Vec<_> = TARGETS.iter().map(|t| t.name).collect();
            eprintln!("usage: oasis-fuzz list | seeds DIR | TARGET (one of {})", names.join(", "));
            ExitCode::from(2)
        }
    }
}

fn write_seeds(dir: &Path) -> std::io::Result<()> {
    let events = seeds::events(&seeds::events_dir())?;
    for t in TARGETS {
        let out = dir.join(t.name);
        std::fs::create_dir_all(&out)?;
        for (i, seed) in (t.seeds)(&events).iter().enumerate() {
            std::fs::write(out.join(format!("seed-{i:03}")), seed)?;
        }
        for (name, bytes) in kept(t.name)? {
            std::fs::write(out.join(format!("kept-{name}")), bytes)?;
        }
    }
    Ok(())
}
