"""The history-views part of scripts/bench, on a history of a real project's shape
(`scripts/make_history.py`: 24,000 first-parent commits, 82,000 in all, 1,000 tags, 5,000
files, a submodule), side by side with git in the same run: `@/versions/PATH` against
`git log --first-parent -- PATH`, `@/log` against `git log --first-parent`, `@{DATE}` against
`git rev-list --before`, each on the repository as fast-import left it (no commit-graph) and
on a copy after `git commit-graph write --reachable --changed-paths` (what `git maintenance`
does). Each of our rows is a fresh mount, so the listing reaches the daemon and nothing is
cached. Then the daemon's memory after walking every versions folder. Writes its own section
of docs/benchmarks.md ("## History views")."""

import json, os, re, shutil, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_section import daemon_pid, parse_args, publish, work_dir  # noqa: E402

args = parse_args()
MOUNT = os.path.join(args.bin, "vostmount")
here = os.path.dirname(os.path.abspath(__file__))
shape = ["--first-parent", "2000", "--files", "500", "--tags", "100"] if args.quick else []
work = work_dir("vost-bench-history-", os.environ.get("BENCH_DIR", "/var/tmp"))
plain = f"{work}/plain.git"
graph = f"{work}/graph.git"
point = f"{work}/mnt"
rows = []

report = json.loads(subprocess.run([sys.executable, f"{here}/make_history.py", plain] + shape,
                                   check=True, capture_output=True, text=True).stdout)
shutil.copytree(plain, graph, symlinks=True)
subprocess.run(["git", "--git-dir", graph, "commit-graph", "write", "--reachable", "--changed-paths"], check=True)
pack = sum(os.path.getsize(os.path.join(plain, "objects/pack", f)) for f in os.listdir(os.path.join(plain, "objects/pack")))
times = [int(t) for t in subprocess.run(["git", "--git-dir", plain, "log", "--first-parent", "--format=%ct"],
                                        check=True, capture_output=True, text=True).stdout.split()]
date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(times[len(times) * 2 // 3]))


def seconds(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def median(cmd, runs=3):
    results = [seconds(cmd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[0][1]


def mount(repo):
    os.makedirs(point, exist_ok=True)
    subprocess.run([MOUNT, "--read-only", repo, point], check=True)


def unmount():
    subprocess.run(["fusermount3", "-u", point], check=True)


def cold(repo, cmd, runs=3):
    """Median over `runs` fresh mounts of the first run of `cmd` after mounting."""
    results = []
    for _ in range(runs):
        mount(repo)
        try:
            results.append(seconds(cmd))
        finally:
            unmount()
    return statistics.median(r[0] for r in results), results[0][1]


def row(case, ours, anchor_name, anchor, target):
    rows.append((case, ours, anchor_name, anchor, anchor / ours if ours > 0 else float("inf"), target))
    print(f"{case}: ours {ours:.4f} vs {anchor_name} {anchor:.4f}", file=sys.stderr)


def side_by_side(repo, case, ours_cmd, git_cmd, anchor, same_count=True):
    """One row: `ours_cmd` on fresh mounts of `repo` against `git_cmd` on it; with
    `same_count`, both must name as many entries."""
    git_time, git_out = median(git_cmd)
    ours, listed = cold(repo, ours_cmd)
    if same_count and len(listed.split()) != len(git_out.split()):
        sys.exit(f"bench: {case}: {len(listed.split())} entries listed, git names {len(git_out.split())}")
    row(case, ours, anchor, git_time, "as fast as git")
    return len(git_out.split())


for repo, label in [(plain, "no commit-graph"), (graph, "commit-graph with changed paths")]:
    git = f"git --git-dir={repo}"
    for path, what in [("Makefile", f"{report['makefile_versions']} versions"), ("rare.txt", "changed twice")]:
        side_by_side(repo, f"{label}: ls MNT/@/versions/{path} ({what}), first listing after mounting",
                     f"ls {point}/@/versions/{path}", f"{git} log --first-parent --format=%H -- {path}", "git log --first-parent -- PATH")
    side_by_side(repo, f"{label}: ls MNT/@/log ({report['first_parent']} entries), first listing after mounting",
                 f"ls {point}/@/log", f"{git} log --first-parent --format=%H", "git log --first-parent")
    side_by_side(repo, f"{label}: ls MNT/@{{DATE}} (DATE two thirds back), first after mounting", f"ls {point}/@{{{date}}}",
                 f"{git} rev-list -1 --first-parent --before={date} main", "git rev-list -1 --first-parent --before=DATE",
                 same_count=False)

# Memory: every versions folder walked (find lists each, and looks up every version).
mount(graph)
try:
    walk, found = seconds(f"find {point}/@/versions -type f | wc -l")
    status = open(f"/proc/{daemon_pid(point)}/status").read()
finally:
    unmount()
anon = int(re.search(r"RssAnon:\s+(\d+)", status).group(1)) / 1024
peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
rows.append((f"daemon anonymous memory (MiB) after find over every versions folder ({report['files']} files, "
             f"{found.strip()} versions, {walk:.0f} s)", anon, "target", 128, 128 / anon, "< 128 MiB"))
rows.append(("daemon peak resident memory (MiB), the same run, for reference", peak, "-", 0, 0, "-"))
shutil.rmtree(work, ignore_errors=True)

publish(args, "History views", [
    f"Made by `scripts/bench` (or `scripts/bench --history-only`{' --quick' if args.quick else ''}) on "
    f"{time.strftime('%Y-%m-%d')}, release build, read-only mounts. History made by `scripts/make_history.py"
    f"{''.join(' ' + a for a in shape)}`: {report['commits']} commits, {report['first_parent']} on the first-parent line (each a merge "
    f"of a short side branch), {report['tags']} tags, {report['files']} files in nested folders, a submodule, "
    f"a {pack / 2**20:.0f} MiB pack. Each row is measured on the repository without a commit-graph and on a copy "
    "after `git commit-graph write --reachable --changed-paths`, with git on the same repository as anchor. Ours: "
    "median of 3 fresh mounts, the first listing after mounting; git: median of 3. Seconds (memory rows: MiB); "
    "\"x faster\" is anchor / ours.",
], ["case", "ours", "anchor", "anchor value", "x faster", "target"],
        rows, [None, ".4f", None, ".4f", ".2f", None])
