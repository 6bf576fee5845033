"""The history-views part of scripts/bench: listing every version of one file
(`MNT/@/versions/PATH/`) on a 10,000-commit history, side by side with `git log` of that
path. Writes its own section of docs/benchmarks.md ("## History views")."""

import os, re, shutil, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_section import daemon_pid, parse_args, publish, work_dir  # noqa: E402

args = parse_args()
MOUNT = os.path.join(args.bin, "vostmount")
COMMITS = 1000 if args.quick else 10000
FILES = 1000
work = work_dir("vost-bench-history-", os.environ.get("BENCH_DIR", "/var/tmp"))
repo = f"{work}/repo.git"
point = f"{work}/mnt"
rows = []

# A tree of 1,000 files in 10 directories; commit n changes file n % 100 of directory
# n % 10, so each of those files has COMMITS / 100 versions.
subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo], check=True)
stream = ["commit refs/heads/main\ncommitter B <b@b> 1700000000 +0000\ndata 4\ninit\n"]
for f in range(FILES):
    stream.append(f"M 100644 inline d{f % 10}/f{f}.txt\ndata 6\ninit.\n\n")
for n in range(1, COMMITS):
    text = f"version {n}\n"
    stream.append(f"commit refs/heads/main\ncommitter B <b@b> {1700000000 + 60 * n} +0000\ndata 2\nc\n"
                  f"M 100644 inline d{n % 10}/f{n % 100}.txt\ndata {len(text)}\n{text}\n")
subprocess.run(["git", "--git-dir", repo, "fast-import", "--quiet"], input="".join(stream).encode(), check=True)
path = "d7/f57.txt"


def seconds(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def mount():
    os.makedirs(point, exist_ok=True)
    subprocess.run([MOUNT, "--read-only", repo, point], check=True)


def unmount():
    subprocess.run(["fusermount3", "-u", point], check=True)


def row(case, ours, anchor_name, anchor, target):
    rows.append((case, ours, anchor_name, anchor, anchor / ours if ours > 0 else float("inf"), target))
    print(f"{case}: ours {ours:.4f} vs {anchor_name} {anchor:.4f}", file=sys.stderr)


git_cold, git_out = seconds(f"git --git-dir={repo} log --first-parent --format=%H -- {path}")
git_warm, _ = seconds(f"git --git-dir={repo} log --first-parent --format=%H -- {path}")
mount()
cold, listed = seconds(f"ls {point}/@/versions/{path}")
warm, _ = seconds(f"ls {point}/@/versions/{path}")
pid = daemon_pid(point)
peak = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1)) / 1024
unmount()
if len(listed.split()) != len(git_out.split()):
    sys.exit(f"bench: {len(listed.split())} versions listed, git log names {len(git_out.split())} commits")
versions = len(listed.split())
row(f"ls MNT/@/versions/{path} ({COMMITS} commits, {versions} versions), first listing after mounting",
    cold, "git log --first-parent -- PATH", git_cold, "< 200 ms")
row(f"the same listing again", warm, "git log --first-parent -- PATH, again", git_warm, "< 20 ms")
row("daemon peak RSS after listing (MiB)", peak, "target", 128, "< 128 MiB")
shutil.rmtree(work, ignore_errors=True)

publish(args, "History views", [
    f"Made by `scripts/bench` (or `scripts/bench --history-only`{' --quick' if args.quick else ''}) on "
    f"{time.strftime('%Y-%m-%d')}, release build, read-only mount. History: {COMMITS} commits over {FILES} files, "
    "each commit changing one file, so the file listed has one version per 100 commits. Seconds (RSS row: MiB); "
    "\"x faster\" is anchor / ours.",
], ["case", "ours", "anchor", "anchor value", "x faster", "target"],
        rows, [None, ".4f", None, ".4f", ".2f", None])
