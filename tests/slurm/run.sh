#!/bin/sh
# End-to-end test of `clbench sweep --slurm --submit` against a real Slurm:
# starts munged, slurmctld and slurmd on this machine (one node, no cgroups,
# everything in a temporary folder), submits a 4-cell sweep as a job array,
# waits for it and checks every cell finished and `clbench report` lists
# them all. Needs root and the Debian packages slurm-wlm and munge.
#
#   sh tests/slurm/run.sh [path/to/clbench]      (make test-slurm)
#
# Exit 0 on success, 1 on a failed check, 77 when it cannot run here (not
# root, or Slurm not installed). The daemons it started are stopped by PID
# and the folder removed on every exit.
set -eu

BIN=${1:-build/clbench}
FIXTURE=tests/fixtures/sweep/small.yaml
CELLS=4
TIMEOUT=120

say() { printf 'test-slurm: %s\n' "$*"; }
fail() { printf 'test-slurm: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { say "skipped: must run as root (it starts munged and the Slurm daemons)"; exit 77; }
for c in munged slurmctld slurmd sbatch scontrol sinfo; do
    command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$c" >/dev/null 2>&1 ||
        { say "skipped: $c not found (apt-get install slurm-wlm munge)"; exit 77; }
done
[ -x "$BIN" ] || fail "$BIN is not built (make first)"
[ -f "$FIXTURE" ] || fail "run from the repository root ($FIXTURE not found)"
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac

TMP=$(mktemp -d /tmp/clbench-slurm.XXXXXX)
chmod 755 "$TMP"
MUNGE_PID= CTLD_PID= SLURMD_PID=
cleanup() {
    rc=$?
    set +e
    # By PID only: the daemons this script started, nothing else.
    for p in $SLURMD_PID $CTLD_PID; do kill "$p" 2>/dev/null; done
    for p in $SLURMD_PID $CTLD_PID; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null
    done
    [ -n "$MUNGE_PID" ] && kill "$MUNGE_PID" 2>/dev/null
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        for f in slurmctld.log slurmd.log munged.log; do
            [ -f "$TMP/$f" ] && { echo "---- $f (tail)"; tail -n 20 "$TMP/$f"; }
        done
        for f in "$TMP"/out/slurm-logs/*; do
            [ -f "$f" ] && { echo "---- $f"; cat "$f"; }
        done
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- munge: its own socket and pid file under $TMP, the package's key ----
KEY=/etc/munge/munge.key
if [ ! -s "$KEY" ]; then
    say "creating $KEY"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile="$KEY"
    else dd if=/dev/urandom of="$KEY" bs=1 count=1024 2>/dev/null; fi
    chown munge:munge "$KEY"
    chmod 400 "$KEY"
fi
mkdir -p "$TMP/munge"
chown munge:munge "$TMP/munge"
chmod 755 "$TMP/munge" # munged wants its socket folder searchable by all, writable by it only
SOCK=$TMP/munge/munge.socket
MUNGED_ARGS="-F --socket=$SOCK --pid-file=$TMP/munge/munged.pid --seed-file=$TMP/munge/seed"
say "starting munged (socket $SOCK)"
# setpriv execs munged itself, so $! is munged's PID; -F logs to stderr.
if command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid=munge --regid=munge --init-groups munged $MUNGED_ARGS >"$TMP/munged.log" 2>&1 &
else
    runuser -u munge -- munged $MUNGED_ARGS >"$TMP/munged.log" 2>&1 &
fi
MUNGE_PID=$!
i=0
while [ ! -S "$SOCK" ]; do
    kill -0 "$MUNGE_PID" 2>/dev/null || { cat "$TMP/munged.log"; fail "munged exited"; }
    [ $i -lt 100 ] || fail "munged did not create $SOCK within 10 s"
    sleep 0.1; i=$((i + 1))
done

# ---- Slurm: one node, no cgroups, state and logs under $TMP ----
NODE=$(slurmd -C | sed -n 's/^\(NodeName=.*\)$/\1/p' | sed 's/ UpTime=.*//')
[ -n "$NODE" ] || fail "slurmd -C printed no NodeName line"
NODE_NAME=$(printf '%s\n' "$NODE" | sed 's/^NodeName=\([^ ]*\).*/\1/')
# RealMemory from slurmd -C is exact: declare a little less so the node is
# never drained for "low RealMemory" when free memory moves. NodeAddr below
# spares the daemons a name lookup of the host name.
NODE=$(printf '%s\n' "$NODE" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^RealMemory=/) {
    split($i, m, "="); $i = "RealMemory=" int(m[2] * 0.9) } print}')
mkdir -p "$TMP/state" "$TMP/spool"
CONF=$TMP/slurm.conf
cat >"$CONF" <<EOF
ClusterName=clbench-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$TMP/jobcomp.txt
MailProg=/bin/true
MpiDefault=none
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$CONF
say "starting slurmctld and slurmd (config $CONF)"
slurmctld -D -f "$CONF" >"$TMP/slurmctld.out" 2>&1 &
CTLD_PID=$!
slurmd -D -f "$CONF" >"$TMP/slurmd.out" 2>&1 &
SLURMD_PID=$!

say "waiting for node $NODE_NAME to be idle"
i=0
while :; do
    st=$(sinfo -h -n "$NODE_NAME" -o %T 2>/dev/null || true)
    [ "$st" = idle ] && break
    kill -0 "$CTLD_PID" 2>/dev/null || { cat "$TMP/slurmctld.out"; fail "slurmctld exited"; }
    kill -0 "$SLURMD_PID" 2>/dev/null || { cat "$TMP/slurmd.out"; fail "slurmd exited"; }
    [ $i -lt 300 ] || fail "node state '$st' after 30 s, want idle"
    sleep 0.1; i=$((i + 1))
done

# ---- the sweep ----
OUT=$TMP/out
say "clbench sweep $FIXTURE --slurm --submit --out $OUT"
rc=0
"$BIN" sweep "$FIXTURE" --slurm --submit --out "$OUT" --time 00:05:00 >"$TMP/submit.txt" || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/submit.txt"; fail "clbench sweep --slurm --submit exited $rc"; }
cat "$TMP/submit.txt"
JOBS=$(sed -n 's/^submitted job \([0-9][0-9]*\):.*/\1/p' "$TMP/submit.txt")
[ -n "$JOBS" ] || fail "no 'submitted job N' line"
SCRIPT=$(sed -n 's/^wrote \([^:]*\):.*/\1/p' "$TMP/submit.txt")
grep -q "^#SBATCH --array=0-$((CELLS - 1))\$" "$SCRIPT" || { cat "$SCRIPT"; fail "script lacks --array=0-$((CELLS - 1))"; }

JOBS=$(echo $JOBS)
say "waiting for job(s) $JOBS (at most $TIMEOUT s)"
i=0
while [ -n "$(squeue -h -j "$(echo "$JOBS" | tr ' ' ,)" -o %i 2>/dev/null)" ]; do
    [ $i -lt $((TIMEOUT * 2)) ] || { squeue; fail "jobs still queued after $TIMEOUT s"; }
    sleep 0.5; i=$((i + 1))
done
for j in $JOBS; do
    # Finished jobs stay in slurmctld's memory for MinJobAge (300 s).
    states=$(scontrol show job "$j" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort | uniq -c | tr -s ' ')
    say "job $j:$states"
    if echo "$states" | grep -qv COMPLETED; then fail "job $j has tasks that did not complete"; fi
done

say "checking results"
n=$(find "$OUT" -name metrics.json | wc -l)
[ "$n" -eq $CELLS ] || fail "$n metrics.json files, want $CELLS"
for f in "$OUT"/*/metrics.json; do
    grep -q '"status": "ok"' "$f" || fail "$f: status is not ok"
done
# The naive runs were held until their joint reference finished.
for f in "$OUT"/*-naive-*/metrics.json; do
    if grep -q '"intransigence": null' "$f"; then fail "$f: no intransigence (ran before its joint run?)"; fi
done
n=$(ls "$OUT"/slurm-logs | wc -l)
[ "$n" -eq $CELLS ] || fail "$n logs in $OUT/slurm-logs, want $CELLS"
"$BIN" sweep "$FIXTURE" --out "$OUT" --dry-run >"$TMP/dry.txt"
[ "$(grep -c '^skip ' "$TMP/dry.txt")" -eq $CELLS ] ||
    { cat "$TMP/dry.txt"; fail "a re-run would not skip every cell"; }
rc=0
"$BIN" report "$OUT" >"$TMP/report.md" || rc=$?
[ $rc -eq 0 ] || fail "clbench report exited $rc"
cat "$TMP/report.md"
# Two strategies x two seeds: each row counts 2/2 seeds ok.
for s in naive joint; do
    grep -q "^| $s .*| 2/2 |" "$TMP/report.md" || fail "the report has no '$s' row with 2/2 seeds"
done
say "ok: $CELLS cells ran as Slurm array tasks and the report lists them all"
