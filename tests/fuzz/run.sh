#!/bin/sh
# Runs libFuzzer targets built by `make fuzz` for a bounded time each and
# prints one summary line per target. Usage:
#   sh tests/fuzz/run.sh OUT SECONDS NAME...
# OUT/bin/fuzz_NAME is the target. It reads tests/fuzz/corpus/NAME and
# tests/fuzz/regressions/NAME but writes new inputs only to OUT/corpus/NAME
# (libFuzzer adds units to its first corpus folder only), so the repository
# is never modified. SECONDS 0 replays the seeds and regressions once
# without mutating them: deterministic, for CI. Crashing inputs land in OUT/crashes/NAME/; the full log
# is OUT/logs/NAME.log. Exits 1 if any target crashed, leaked or timed out.
set -u
out=$1 secs=$2
shift 2
failed=0
summary=""
for name in "$@"; do
    bin=$out/bin/fuzz_$name
    mkdir -p "$out/corpus/$name" "$out/crashes/$name" "$out/logs"
    log=$out/logs/$name.log
    seeds=tests/fuzz/corpus/$name
    regs=tests/fuzz/regressions/$name
    [ -d "$regs" ] || regs=""
    dict=""
    [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
    if [ "$secs" -eq 0 ]; then
        limit="-runs=0"
        echo "fuzz: $name, seeds and regressions once (log: $log)"
    else
        limit="-max_total_time=$secs"
        echo "fuzz: $name for ${secs}s (log: $log)"
    fi
    # -timeout: one input taking 10 s is a hang worth reporting.
    # -rss_limit_mb: the machine has room; an input needing more is a bug.
    # shellcheck disable=SC2086
    "$bin" $limit -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$name/" $dict \
        "$out/corpus/$name" "$seeds" $regs >"$log" 2>&1
    rc=$?
    # The last status line: "#N DONE cov: C ft: F corp: K/..b ... exec/s: E ...".
    stat=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    runs=$(echo "$stat" | sed -n 's/^#\([0-9]*\).*/\1/p')
    cov=$(echo "$stat" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$stat" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$stat" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    eps=$(grep -E 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
    if [ "$rc" -eq 0 ]; then
        verdict=ok
    else
        verdict="FAILED (exit $rc; input in $out/crashes/$name/)"
        failed=1
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant broken)' "$log" | head -n 3
    fi
    summary="$summary$(printf '  %-8s %-6s runs %-10s exec/s %-7s cov %-6s ft %-6s corpus %s' \
        "$name" "$verdict" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
"
done
echo "fuzz summary (${secs}s per target):"
printf '%s' "$summary"
exit $failed
