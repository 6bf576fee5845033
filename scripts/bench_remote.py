"""The remote half of scripts/bench: mounts syncing through a Git remote on this machine,
side by side with the git CLI doing the same transfer. Writes its own section of
docs/benchmarks.md ("## Several machines"), leaving the rest of the page as it is."""

import os, re, shutil, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_section import daemon_pid, parse_args, publish, start_giftless, work_dir  # noqa: E402

args = parse_args()

MOUNT = os.path.join(args.bin, "vostmount")
BENCH = os.path.join(args.bin, "vost-bench")
FILES = 1000 if args.quick else 10_000
SAMPLES = 5 if args.quick else 20
IDLE = 10 if args.quick else 60
DEFAULT_INTERVAL = 15  # RemoteSync.defaultFetchInterval
work = work_dir("vost-bench-remote-")
rows = []
ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b")


def git(*a, **kw):
    return subprocess.run(["git", *a], check=True, capture_output=True, text=True, env=ENV, **kw).stdout.strip()


def row(case, ours, anchor_name, anchor, target):
    ratio = anchor / ours if ours > 0 else float("inf")
    rows.append((case, ours, anchor_name, anchor, ratio, target))
    print(f"{case}: ours {ours:.4f} vs {anchor_name} {anchor:.4f} -> {ratio:.2f}x", file=sys.stderr)


def server(name):
    path = f"{work}/{name}.git"
    seed = f"{work}/{name}-seed"
    git("init", "-q", "--bare", "-b", "main", path)
    git("init", "-q", "-b", "main", seed)
    open(f"{seed}/README", "w").write("hello\n")
    git("-C", seed, "add", "-A")
    git("-C", seed, "commit", "-q", "-m", "seed")
    git("-C", seed, "push", "-q", path, "main")
    return path


def clone(src, name):
    path = f"{work}/{name}.git"
    git("clone", "-q", "--bare", src, path)
    return path


def mount(repo, name, *extra):
    point = f"{work}/{name}"
    os.makedirs(point, exist_ok=True)
    subprocess.run([MOUNT, "--remote", "origin", *extra, repo, point], check=True)
    return point


def unmount(point):
    subprocess.run(["fusermount3", "-u", point], check=True)


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def wait_for(condition, limit=120):
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    sys.exit("bench: a remote case did not finish in time")


def tip(repo):
    return git("--git-dir", repo, "rev-parse", "main")


# 1. A change written and fsynced on one mount, seen on the other.
for interval, samples in ((1, SAMPLES), (DEFAULT_INTERVAL, max(3, SAMPLES // 2))):
    srv = server(f"vis{interval}")
    a = mount(clone(srv, f"vis{interval}-a"), f"vis{interval}-ma", "--fetch-interval", str(interval))
    b = mount(clone(srv, f"vis{interval}-mb"), f"vis{interval}-mb", "--fetch-interval", str(interval))
    delays = []
    for i in range(samples):
        name = f"change-{i}"
        with open(f"{a}/{name}", "w") as f:
            f.write(f"{i}\n")
            f.flush()
            os.fsync(f.fileno())
        start = time.perf_counter()
        wait_for(lambda: os.path.exists(f"{b}/{name}"), limit=interval + 30)
        delays.append(time.perf_counter() - start)
    unmount(a)
    unmount(b)
    rows.append((f"change visible on the other mount after fsync, --fetch-interval {interval}, median of {samples} (max {max(delays):.2f} s)",
                 statistics.median(delays), "target", interval + 1.0, (interval + 1.0) / statistics.median(delays),
                 f"<= interval + 1 s{' (< 2 s)' if interval == 1 else ''}"))

# 2. Pushing the one commit of a 10,000-file batch, against `git push` of the same commit.
srv = server("push")
repo = clone(srv, "push-a")
point = mount(repo, "push-ma", "--fetch-interval", str(DEFAULT_INTERVAL))
ours, theirs = [], []
for r in range(3):
    before = tip(srv)
    mirror = clone(srv, f"push-mirror-{r}")  # the server as it was, for git's push
    os.makedirs(f"{point}/batch{r}")
    for i in range(FILES):
        with open(f"{point}/batch{r}/d{i % 100:02d}-f{i}", "w") as f:
            f.write(f"round {r} file {i}\n")
    fsync_path(f"{point}/batch{r}")
    start = time.perf_counter()
    wait_for(lambda: tip(srv) != before)
    ours.append(time.perf_counter() - start)
    commit = tip(repo)
    start = time.perf_counter()
    git("--git-dir", repo, "push", "-q", mirror, f"{commit}:refs/heads/main")
    theirs.append(time.perf_counter() - start)
unmount(point)
row(f"push the one commit of a {FILES:,}-file batch (after fsync returns until the server has it), median of 3",
    statistics.median(ours), "git push of the same commit", statistics.median(theirs), "<= 1.5x git push")

# 3. Merging two diverged 10,000-file batches (the engine's merge, as the sync runs it).
ours, theirs = [], []
for r in range(3):
    repo = f"{work}/merge{r}.git"
    out = subprocess.run([BENCH, "merge-diverged", repo, "--files", str(FILES)], check=True, capture_output=True, text=True)
    ours.append(float(out.stdout.split()[-1]))
    start = time.perf_counter()
    merged = git("--git-dir", repo, "merge-tree", "--write-tree", "main^1", "other")
    theirs.append(time.perf_counter() - start)
    if merged.split()[0] != git("--git-dir", repo, "rev-parse", "main^{tree}"):
        sys.exit("bench: our merged tree differs from git merge-tree's")
row(f"merge two diverged {FILES:,}-file batches in the same 100 directories (same tree as git's), median of 3",
    statistics.median(ours), "git merge-tree --write-tree", statistics.median(theirs), "< 2 s")

# 4. What an idle mount with a remote costs: CPU of the daemon and the git it runs.
def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


for interval in (DEFAULT_INTERVAL, 1):
    srv = server(f"idle{interval}")
    point = mount(clone(srv, f"idle{interval}-a"), f"idle{interval}-m", "--fetch-interval", str(interval))
    pid = daemon_pid(point)
    time.sleep(2)
    before, start = cpu_seconds(pid), time.perf_counter()
    time.sleep(IDLE)
    share = (cpu_seconds(pid) - before) / (time.perf_counter() - start) * 100
    unmount(point)
    rows.append((f"idle mount with a remote (local path), --fetch-interval {interval}: % of one core over {IDLE} s",
                 share, "target", 1.0, 1.0 / share if share > 0 else float("inf"), "< 1 %"))
    print(f"idle {interval}: {share:.3f} %", file=sys.stderr)

# 5. A 100 MB file stored in LFS on one mount, readable on the other: objects through
#    giftless (an LFS server, from PyPI) over HTTP on 127.0.0.1, against the same transfer
#    by hand (`git lfs push` of the object, `git lfs fetch` of it) plus the fetch interval.
LFS_SIZE = (10 if args.quick else 100) << 20
LFS_INTERVAL = 2
endpoint = start_giftless(work)
srv = server("lfs")
sides = []
for name in ("lfs-a", "lfs-b"):
    repo = clone(srv, name)
    git("--git-dir", repo, "config", "lfs.url", f"{endpoint}/data.git/info/lfs")
    sides.append((repo, mount(repo, f"{name}-m", "--fetch-interval", str(LFS_INTERVAL))))
(repo_a, a), (repo_b, b) = sides
with open(f"{a}/.gitattributes", "w") as f:
    f.write("*.bin filter=lfs diff=lfs merge=lfs -text\n")
fsync_path(f"{a}/.gitattributes")
wait_for(lambda: os.path.exists(f"{b}/.gitattributes"), limit=60)
ours, push_by_hand, fetch_by_hand = [], [], []
for r in range(3):
    source = f"{work}/lfs-source-{r}.bin"
    subprocess.run(["head", "-c", str(LFS_SIZE), "/dev/urandom"], stdout=open(source, "wb"), check=True)
    oid = subprocess.run(["sha256sum", source], capture_output=True, text=True, check=True).stdout.split()[0]
    shutil.copyfile(source, f"{a}/big{r}.bin")
    fsync_path(f"{a}/big{r}.bin")
    start = time.perf_counter()
    # Readable: shown, with its object in the other side's store (an open would not wait).
    local = f"{repo_b}/lfs/objects/{oid[:2]}/{oid[2:4]}/{oid}"
    wait_for(lambda: os.path.exists(f"{b}/big{r}.bin") and os.path.exists(local), limit=LFS_INTERVAL + 300)
    ours.append(time.perf_counter() - start)
    if subprocess.run(["cmp", "-s", source, f"{b}/big{r}.bin"]).returncode != 0:
        sys.exit("bench: the LFS file read on the other mount differs")
    # By hand, to another repository of the same server: push the object, fetch it to a new clone.
    elsewhere = f"{endpoint}/byhand{r}.git/info/lfs"
    start = time.perf_counter()
    git("--git-dir", repo_a, "-c", f"lfs.url={elsewhere}", "lfs", "push", "--object-id", "origin", oid)
    push_by_hand.append(time.perf_counter() - start)
    fresh = clone(srv, f"lfs-byhand-{r}")
    start = time.perf_counter()
    git("--git-dir", fresh, "-c", f"lfs.url={elsewhere}", "lfs", "fetch", "origin", "main", "--include", f"big{r}.bin")
    fetch_by_hand.append(time.perf_counter() - start)
    if not os.path.exists(f"{fresh}/lfs/objects/{oid[:2]}/{oid[2:4]}/{oid}"):
        sys.exit("bench: git lfs fetch by hand did not bring the object")
unmount(a)
unmount(b)
anchor = LFS_INTERVAL + statistics.median(push_by_hand) + statistics.median(fetch_by_hand)
row(f"a {LFS_SIZE >> 20} MB LFS file written on one mount, readable on the other (giftless over HTTP, --fetch-interval "
    f"{LFS_INTERVAL}; by hand: push {statistics.median(push_by_hand):.2f} + fetch {statistics.median(fetch_by_hand):.2f}), "
    f"median of 3 (max {max(ours):.2f} s)",
    statistics.median(ours), "interval + git lfs push + git lfs fetch", anchor, "<= anchor + 20%")

shutil.rmtree(work, ignore_errors=True)

publish(args, "Several machines", [
    f"Made by `scripts/bench` (or `scripts/bench --remote-only`{' --quick' if args.quick else ''}) on {time.strftime('%Y-%m-%d')}, "
    "release build. Servers are bare repositories on this machine reached by path, so the figures are the mount's own "
    "costs without a network's; `git` itself does each transfer (see docs/namespace.md, \"Several machines\"). "
    "Times in seconds; the idle rows are percent of one core; \"x faster\" is anchor / ours.",
    "Reading it: each visibility sample writes right after the previous one was seen, that is right after the "
    "other mount's fetch, so every sample waits nearly a whole interval: these are the worst case, not the average "
    "(interval / 2 plus the push). The push row is the time from `fsync` returning to the server having the commit; "
    "the mount runs `git push` itself, so it matches git. The merge row is the engine's merge alone; git's "
    "merge-tree makes the identical tree (checked in the run). Idle cost is the daemon's CPU and that of the "
    "`git fetch` it runs, from /proc; at the default interval it is a sixth of the 1 % budget.",
    "The LFS row times from `fsync` returning on one mount until the other shows the file with its object in its "
    "local store (so an open there does not wait; the content is compared after the clock stops): the first "
    "mount's `git lfs push` and `git push`, the other's next fetch (on average half the interval) and its background "
    "`git lfs fetch`. The anchor is a whole interval plus the same object pushed and fetched by hand with `git lfs`. giftless runs under Flask's development server, whose downloads are far slower than its uploads, for the mount and by hand alike.",
], ["case", "ours", "anchor", "anchor value", "x faster", "target"],
        rows, [None, ".4f", None, ".4f", ".2f", None])
