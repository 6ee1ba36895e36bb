#!/bin/sh
# RUSTC_WRAPPER of the instrumented build (fuzz/run.sh). The AWS SDK, the Lambda runtime and
# the HTTP, TLS and async stacks behind them are most of the build, and no fuzz target runs
# them: they are compiled at opt-level 0 (the flag comes last, after cargo-afl's RUSTFLAGS,
# and wins). Every crate a target runs keeps cargo-afl's flags as they are.
rustc=$1
shift
case " $* " in
  *" --crate-name aws_sdk_"* | *" --crate-name aws_smithy_"* | *" --crate-name aws_config "* | \
    *" --crate-name aws_runtime "* | *" --crate-name aws_sigv4 "* | *" --crate-name aws_types "* | \
    *" --crate-name aws_credential_types "* | *" --crate-name lambda_runtime"* | \
    *" --crate-name tokio"* | *" --crate-name hyper"* | *" --crate-name h2 "* | *" --crate-name rustls"* | \
    *" --crate-name tower"* | *" --crate-name regex"* | *" --crate-name tracing_subscriber "*)
    exec "$rustc" "$@" -C opt-level=0
    ;;
esac
exec "$rustc" "$@"
