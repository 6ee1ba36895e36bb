#!/usr/bin/env bash
# `make fuzz`: every fuzz target (`oasis-fuzz list`) under AFL++ for FUZZ_SECONDS each, starting
# from seeds made from events/ and from the kept inputs of fuzz/regressions/. Fails on any crash
# or hang: each new one is copied to fuzz/regressions/<target>/ (commit it with the fix) and
# printed in base64, so a CI log is enough to keep it. Fails too, loudly, when cargo-afl or
# AFL++ cannot be installed or built: fuzzing is never skipped.
#
#   FUZZ_SECONDS=3600 FUZZ_TARGETS=jwt fuzz/run.sh    one target for an hour
#
# cargo-afl (crates.io) builds AFL++ from the sources it ships (make and a C compiler) and
# instruments Rust with the stable toolchain's sanitizer-coverage passes: no nightly needed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
# The same version as the `afl` crate fuzz/Cargo.toml pins.
version=0.18.2

if [ "$(cargo afl --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "== fuzz: installing cargo-afl $version"
  cargo install --locked --quiet cargo-afl --version "$version"
fi
# AFL++ (afl-fuzz and the runtime the targets link), built once per Rust toolchain.
if ! out=$(cargo afl config --build 2>&1); then
  if ! grep -q "already built" <<<"$out"; then
    echo "$out" >&2
    echo "fuzz: building AFL++ with cargo afl config --build failed" >&2
    exit 1
  fi
fi

# Its own target directory, so the instrumented flags never invalidate target/debug. An
# explicit --target keeps cargo-afl's flags off build scripts and proc macros (they run in the
# compiler, never under AFL++), and the wrapper builds what no target runs (the AWS SDK, the
# runtime, HTTP and TLS) unoptimised: minutes instead of half an hour.
export CARGO_TARGET_DIR=$PWD/target/fuzz
host=$(rustc -vV | sed -n 's/^host: //p')
echo "== fuzz: building the instrumented targets (target/fuzz)"
RUSTC_WRAPPER=$PWD/fuzz/rustc-wrapper.sh \
  cargo afl build --quiet --target "$host" --profile fuzz -p oasis-fuzz --features afl --bin oasis-fuzz
bin=$CARGO_TARGET_DIR/$host/fuzz/oasis-fuzz

work=$CARGO_TARGET_DIR/run
rm -rf "$work"
mkdir -p "$work/out"
"$bin" seeds "$work/seeds"
targets=${FUZZ_TARGETS:-$("$bin" list | cut -f1)}

# A sandbox or CI machine: no CPU frequency governor to check, cores shared with other work,
# core dumps wherever the machine sends them, no terminal.
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_FAST_CAL=1

failed=()
for t in $targets; do
  out=$work/out/$t
  # AFL++ skips a starting input that crashes; a kept one that still does fails here.
  for f in "$work/seeds/$t"/kept-*; do
    [ -e "$f" ] || continue
    if ! { "$bin" "$t" <"$f" >/dev/null 2>&1; } 2>/dev/null; then
      echo "fuzz: $t: the kept input ${f##*/kept-} still crashes: $bin $t < fuzz/regressions/$t/${f##*/kept-}" >&2
      failed+=("$t")
    fi
  done
  if ! cargo afl fuzz -i "$work/seeds/$t" -o "$out" -V "$seconds" -t 2000 -- "$bin" "$t" >"$work/$t.log" 2>&1; then
    tail -n 30 "$work/$t.log" >&2
    echo "fuzz: afl-fuzz failed on $t (log: $work/$t.log)" >&2
    failed+=("$t")
    continue
  fi
  stats=$out/default/fuzzer_stats
  stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  echo "== fuzz: $t: $(stat execs_done) runs ($(stat execs_per_sec)/s), $(stat corpus_count) inputs in the corpus, $(stat bitmap_cvg) of the map, stability $(stat stability)"
  if [ "$(stat execs_done)" = 0 ]; then
    echo "fuzz: $t never ran" >&2
    failed+=("$t")
  fi
  found=0
  for kind in crash hang; do
    for f in "$out/default/${kind}s"/id:* "$out/default/${kind}es"/id:*; do
      [ -e "$f" ] || continue
      found=1
      mkdir -p "fuzz/regressions/$t"
      keep="fuzz/regressions/$t/$kind-$(sha256sum "$f" | cut -c1-16)"
      cp "$f" "$keep"
      echo "fuzz: $t: $kind kept as $keep; reproduce with $bin $t < $keep; base64:" >&2
      base64 -w0 "$f" >&2
      echo >&2
    done
  done
  [ "$found" = 0 ] || failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: $(printf '%s\n' "${failed[@]}" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
echo "== fuzz: no crash and no hang in ${seconds}s per target"
