"""The "Sync churn" rows of docs/benchmarks.md: scripts/churn.py (three mounts of three
clones of one git daemon server and a plain git writer, all writing as fast as they can) for
90 s per seed, three seeds, release build. The promise checked: every version an fsync
returned for is, after quiet, reachable from the server's branch (final tree, conflict copy
or history). The suite runs the same at 10 s."""

import json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(__file__))
from bench_section import parse_args, publish  # noqa: E402

args = parse_args()
seconds = 10 if args.quick else 90
rows = []
for seed in (1, 2, 3):
    started = time.monotonic()
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "churn.py"), "--bin", args.bin + "/vostmount",
                          "--seconds", str(seconds), "--seed", str(seed)], capture_output=True, text=True)
    report = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    rows.append((seed, seconds, report["fsyncs"], report["git_pushes"], report["lost"], "yes" if report["converged"] else "NO",
                 report["fsck_failures"], time.monotonic() - started))
    if out.returncode != 0:
        print(out.stdout[-4000:], file=sys.stderr)

publish(args, "Sync churn", [
    f"Made by `scripts/bench --churn-only` on {time.strftime('%Y-%m-%d')}, release build: `scripts/churn.py` per seed. "
    "Lost = versions an fsync returned 0 for that no commit reachable from the server's branch holds (the target is 0). "
    "Before the fix of the sync churn issue, the same script lost 5 of 2,203 versions in 30 s (seed 1, debug build).",
], ["seed", "seconds writing", "fsyncs", "git pushes", "lost", "converged", "fsck failures", "wall s"],
    rows, [None, None, None, None, None, None, None, ".1f"])
sys.exit(0 if all(row[4] == 0 and row[5] == "yes" for row in rows) else 1)
