"""The measuring half of scripts/bench: runs each case against its anchors and writes a
table of times, ratios and peak RSS to docs/benchmarks.md (and stdout)."""

import argparse, os, re, shutil, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_section import daemon_pid, drop_caches, work_dir  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--quick", action="store_true")
ap.add_argument("--out", default="docs/benchmarks.md")
args = ap.parse_args()

BIG = (64 << 20) if args.quick else (1 << 30)
HISTORY = 1000 if args.quick else 10_000
BENCH = os.path.join(args.bin, "vost-bench")
PY = sys.executable
work = work_dir("vost-bench-")
rows = []


def measure(cmd, cwd=None, inner=False):
    """Runs cmd under GNU time; returns (seconds, peak RSS in MiB). With inner, the seconds
    are the number the command printed (its own timer, leaving out process start-up).
    Dirty pages of the previous case are flushed first, so its writeback is not billed here."""
    os.sync()
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    seconds = float(p.stdout.strip().split()[-1]) if inner else wall
    return seconds, rss


def sh(cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, shell=isinstance(cmd, str), stdout=subprocess.DEVNULL)


def row(case, ours, anchor_name, anchor, target):
    ratio = anchor[0] / ours[0] if ours[0] > 0 else float("inf")
    rows.append((case, ours, anchor_name, anchor, ratio, target))
    print(f"{case}: ours {ours[0]:.3f}s vs {anchor_name} {anchor[0]:.3f}s -> {ratio:.2f}x", file=sys.stderr)


VOST_BATCH = """
import sys, time, vost
repo = vost.GitStore.open(sys.argv[1])
fs = repo.branches["main"]
t = time.perf_counter()
with fs.batch() as b:
    for i in range(10000):
        b.write(f"d{i%100}/f{i}", b"a" * 92 + f"{i:08d}".encode())
print(time.perf_counter() - t)
"""
VOST_READ = """
import sys, time, vost
fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
t = time.perf_counter()
n = 0
for dp, dirs, files in fs.walk():
    for e in files:
        n += len(fs.read((dp + "/" if dp else "") + e.name))
print(time.perf_counter() - t)
"""
VOST_SINGLE = """
import sys, time, vost
repo = vost.GitStore.open(sys.argv[1])
fs = repo.branches["main"]
n = int(sys.argv[2])
t = time.perf_counter()
for i in range(n):
    fs = fs.write(f"f{i%50}", str(i).encode())
print(time.perf_counter() - t)
"""

# 1. 10,000 files of 100 bytes in 100 directories, one batch.
ours = measure([BENCH, "commit-many", f"{work}/ours.git"], inner=True)
vost_t = measure([PY, "-c", VOST_BATCH, f"{work}/vost.git"], inner=True)
checkout = f"{work}/checkout"
os.makedirs(checkout)
sh(["git", "init", "-q", checkout])
for i in range(10000):
    d = f"{checkout}/d{i%100}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i}", "wb") as f:
        f.write(b"a" * 92 + f"{i:08d}".encode())
git_t = measure(["sh", "-c", "git add -A && git -c user.name=b -c user.email=b@b commit -qm x"], cwd=checkout)
row("commit 10,000 x 100 B files, one batch", ours, "vost batch", vost_t, ">= 10x vost")
row("commit 10,000 x 100 B files, one batch", ours, "git add -A && git commit", git_t, "> 1x git")

# 2. Read them back.
ours = measure([BENCH, "read-many", f"{work}/ours.git"], inner=True)
vost_t = measure([PY, "-c", VOST_READ, f"{work}/vost.git"], inner=True)
row("read those 10,000 files", ours, "vost read", vost_t, ">= 10x vost")

# 3. Single-file commits (per commit).
def median_of_3(run):
    """Runs run(0..2) (each returns (seconds, RSS)), prints all three, returns the median:
    for rows whose single runs swing with the machine more than with the code."""
    runs = sorted((run(i) for i in range(3)), key=lambda r: r[0])
    print(f"  runs: {', '.join(f'{r[0]:.4f}' for r in runs)}", file=sys.stderr)
    return runs[1]


# Each commit creates files, so this row swings with the disk's state (writeback of the
# cases before it): fresh repositories, the same for both sides.
n = 1000
ours = median_of_3(lambda i: measure([BENCH, "single-commits", f"{work}/single{i}.git", "--count", str(n)], inner=True))
vn = 200
vost_t = median_of_3(lambda i: measure([PY, "-c", VOST_SINGLE, f"{work}/vsingle{i}.git", str(vn)], inner=True))
row("one-file commit (ms each, median of 3 runs)", (ours[0] / n * 1000, ours[1]), "vost write", (vost_t[0] / vn * 1000, vost_t[1]), "<= 1 ms")

# 4. A big file from disk, and 5. read back in 1 MiB slices.
big = f"{work}/big.bin"
with open(big, "wb") as f:
    chunk = os.urandom(1 << 20)
    for i in range(BIG >> 20):
        f.write(chunk[i % 256:] + chunk[: i % 256])
label = f"{BIG >> 20} MiB"
ours = measure([BENCH, "write-file", f"{work}/bigrepo.git", big], inner=True)
sh(["git", "init", "-q", "--bare", f"{work}/gitbig.git"])
git_t = measure(["git", "--git-dir", f"{work}/gitbig.git", "hash-object", "-w", big])
row(f"write a {label} file from disk", ours, "git hash-object -w", git_t, "<= 1.3x time, RSS < 128 MiB")
blob = subprocess.run(["git", "--git-dir", f"{work}/bigrepo.git", "rev-parse", "main:big.bin"],
                      capture_output=True, text=True, check=True).stdout.strip()
ours = measure([BENCH, "read-slices", f"{work}/bigrepo.git", "big.bin"], inner=True)
git_t = measure(["sh", "-c", f"git --git-dir {work}/bigrepo.git cat-file blob {blob} > /dev/null"])
row(f"read a {label} file in 1 MiB slices", ours, "git cat-file blob", git_t, "<= 1.3x time")
os.remove(big)

# 6. Revisions on a long history (fresh process each: cold caches).
def make_history(repo, count):
    """A linear history of `count` commits, one minute apart in commit time, via fast-import."""
    sh(["git", "init", "-q", "--bare", "-b", "main", repo])
    sh(["git", "--git-dir", repo, "config", "core.logAllRefUpdates", "true"])
    start = 1_700_000_000
    stream = []
    for i in range(count):
        data = f"{i}\n".encode()
        stream.append(f"commit refs/heads/main\ncommitter vost <vost@localhost> {start + 60 * i} +0000\n"
                      f"data {len(f'c{i}')}\nc{i}\n".encode())
        stream.append(f"M 100644 inline f{i % 100}\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(["git", "--git-dir", repo, "fast-import", "--quiet"], input=b"".join(stream), check=True)


make_history(f"{work}/hist.git", HISTORY)
back = min(1000, HISTORY - 1)
# Milliseconds each, so single runs swing with the page cache: medians of three, both sides.
ours = median_of_3(lambda _: measure([BENCH, "resolve", f"{work}/hist.git", f"main~{back}"], inner=True))
git_t = median_of_3(lambda _: measure(["git", "--git-dir", f"{work}/hist.git", "rev-parse", f"main~{back}"]))
row(f"resolve main~{back} ({HISTORY} commits, median of 3)", ours, "git rev-parse", git_t, "< 20 ms")
# Commit times are whole seconds apart at best, so dates are taken from the history itself:
# the date of the commit `back` steps back, and the oldest one (the whole chain: worst case).
dates = subprocess.run(["git", "--git-dir", f"{work}/hist.git", "log", "--first-parent", "--format=%cI", "main"],
                       capture_output=True, text=True, check=True).stdout.split()
for label, date in ((f"{back} back", dates[back]), ("at the far end", dates[-2])):
    ours = median_of_3(lambda _: measure([BENCH, "resolve", f"{work}/hist.git", f"@{{{date}}}"], inner=True))
    git_t = median_of_3(lambda _: measure(["git", "--git-dir", f"{work}/hist.git", "rev-list", "-1", f"--before={date}", "--first-parent", "main"]))
    row(f"resolve @{{date}} {label} ({HISTORY} commits), cold process, median of 3", ours, "git rev-list --before", git_t, "< 20 ms")
ours = median_of_3(lambda _: measure([BENCH, "resolve", "--warm", f"{work}/hist.git", f"@{{{dates[-2]}}}"], inner=True))
row(f"resolve @{{date}} at the far end ({HISTORY} commits), warm (as in the mount)", ours, "git rev-list --before", git_t, "< 20 ms")

# ---------------------------------------------------------------------------------------
# The mount (issue 3): a generated 100,000-file tree with 10,000 commits, and a real
# repository (a toolchain package, packed), each against a native checkout of the same tree.
MOUNT = os.path.join(args.bin, "vostmount")
FILES = 10_000 if args.quick else 100_000
COMMITS = 1000 if args.quick else 10_000


def make_tree_history(repo, files, commits):
    """One commit with `files` files in 1,000 directories, then commits changing one file each."""
    sh(["git", "init", "-q", "--bare", "-b", "main", repo])
    start = 1_700_000_000
    out = [f"commit refs/heads/main\ncommitter vost <vost@localhost> {start} +0000\ndata 4\ntree\n".encode()]
    for i in range(files):
        data = f"file {i}\n".encode() * 4
        out.append(f"M 100644 inline d{i % 1000:03d}/f{i:06d}.txt\ndata {len(data)}\n".encode() + data + b"\n")
    for c in range(1, commits):
        data = f"change {c}\n".encode()
        out.append(f"commit refs/heads/main\ncommitter vost <vost@localhost> {start + 60 * c} +0000\ndata 2\nc\n"
                   f"M 100644 inline d{c % 1000:03d}/f{c:06d}.txt\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(["git", "--git-dir", repo, "fast-import", "--quiet"], input=b"".join(out), check=True)


def timed(cmd, cwd=None):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, shell=isinstance(cmd, str), stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def mount(repo, point, *extra):
    os.makedirs(point, exist_ok=True)
    t = time.perf_counter()
    subprocess.run([MOUNT, *extra, repo, point], check=True)
    return time.perf_counter() - t


def daemon_memory(point):
    pid = daemon_pid(point)
    status = open(f"/proc/{pid}/status").read()
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    now = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    return peak, now


def unmount(point):
    subprocess.run(["fusermount3", "-u", point], check=True)


def remount(repo, point, *extra):
    if os.path.ismount(point):
        unmount(point)
    return mount(repo, point, *extra)


def mount_rows(label, repo, native):
    """Listing and reading the whole tree. "Right after mounting" is a fresh mount with the
    kernel's caches dropped, compared with a native checkout both warm and with its caches
    dropped too; "warm" is the same command run again."""
    point = f"{work}/mnt-{re.sub(r'[^a-z0-9]+', '-', label.lower())}"
    ready = remount(repo, point)
    rows.append((f"{label}: mount ready (command returns)", (ready, 0), "target", (0.2, 0), 0.2 / ready, "< 0.2 s"))
    for name, cmd in (("find MNT | wc -l", "find {} | wc -l"), ("ls -lR MNT", "ls -lR {} > /dev/null")):
        remount(repo, point)
        cold_caches = drop_caches()
        cold = timed(cmd.format(point))
        warm = timed(cmd.format(point))
        native_cold = timed(cmd.format(native)) if drop_caches() else None
        timed(cmd.format(native))
        native_t = timed(cmd.format(native))
        row(f"{label}: {name}, right after mounting", (cold, 0), "native checkout, warm", (native_t, 0), "<= 3x native")
        if cold_caches and native_cold is not None:
            row(f"{label}: {name}, right after mounting", (cold, 0), "native checkout, caches dropped", (native_cold, 0), "<= 3x native")
        row(f"{label}: {name}, warm", (warm, 0), "native checkout, warm", (native_t, 0), "<= 1.5x native")
    # tar must read every byte: to /dev/null GNU tar skips the reads, so through a pipe. The
    # names are known by now (ls -lR ran); the contents are read for the first time.
    tar = "tar -C {} -cf - . | cat > /dev/null"
    tar_t = timed(tar.format(point))
    tar_again = timed(tar.format(point))
    archive_t = timed(f"git --git-dir {repo} archive HEAD | cat > /dev/null")
    timed(tar.format(native))
    native_tar = timed(tar.format(native))
    row(f"{label}: tar -cf - MNT, first read", (tar_t, 0), "git archive HEAD", (archive_t, 0), "<= 2x")
    row(f"{label}: tar -cf - MNT, again", (tar_again, 0), "git archive HEAD", (archive_t, 0), "<= 2x")
    row(f"{label}: tar -cf - of the native checkout (for scale)", (native_tar, 0), "git archive HEAD", (archive_t, 0), "-")
    # A read-only mount needs no open, release or flush per file (the kernel is told so).
    ro = point + "-ro"
    remount(repo, ro, "--read-only")
    timed(f"ls -lR {ro} > /dev/null")
    ro_t = timed(tar.format(ro))
    ro_again = timed(tar.format(ro))
    unmount(ro)
    row(f"{label}: tar -cf - MNT (--read-only), first read", (ro_t, 0), "git archive HEAD", (archive_t, 0), "<= 2x")
    row(f"{label}: tar -cf - MNT (--read-only), again", (ro_again, 0), "git archive HEAD", (archive_t, 0), "<= 2x")
    timed(f"find {point} > /dev/null")
    return point


work_m = f"{work}/mount"
os.makedirs(work_m)
gen = f"{work_m}/gen.git"
make_tree_history(gen, FILES, COMMITS)
native_gen = f"{work_m}/gen-native"
os.makedirs(native_gen)
sh(f"git --git-dir {gen} archive main | tar -x -C {native_gen}")
gen_point = mount_rows(f"{FILES:,} files, {COMMITS:,} commits", gen, native_gen)
for back in (min(1000, COMMITS - 1), COMMITS - 1):
    t = timed(f"ls {gen_point}/@~{back}/ > /dev/null")
    rows.append((f"ls MNT/@~{back}/ ({COMMITS:,}-commit history)", (t, 0), "target", (0.05, 0), 0.05 / t, "< 50 ms"))
gen_mem = daemon_memory(gen_point)
remount(gen, gen_point)
back = min(1000, COMMITS - 1)
t = timed(f"ls {gen_point}/@~{back}/ > /dev/null")
rows.append((f"ls MNT/@~{back}/ ({COMMITS:,}-commit history), fresh mount", (t, 0), "target", (0.05, 0), 0.05 / t, "< 50 ms"))
unmount(gen_point)

real = "/opt/swift-packages/apple/swift-nio.git"
if os.path.isdir(real):
    native_real = f"{work_m}/nio-native"
    os.makedirs(native_real)
    sh(f"git --git-dir {real} archive HEAD | tar -x -C {native_real}")
    real_point = mount_rows("swift-nio (packed, real)", real, native_real)
    unmount(real_point)

# A 1 GiB file: cat cold and warm, and a 4 KiB read at a random offset in @~1.
bigrepo = f"{work_m}/big.git"
big = f"{work_m}/big.bin"
with open(big, "wb") as f:
    chunk = os.urandom(1 << 20)
    for i in range(BIG >> 20):
        f.write(chunk[i % 256:] + chunk[: i % 256])
sh([BENCH, "write-file", bigrepo, big])
sh([BENCH, "single-commits", bigrepo, "--count", "1"])
blob = subprocess.run(["git", "--git-dir", bigrepo, "rev-parse", "main:big.bin"], capture_output=True, text=True, check=True).stdout.strip()
big_point = f"{work_m}/mnt-big"
mount(bigrepo, big_point)
os.sync()
cold = timed(f"cat {big_point}/big.bin > /dev/null")
warm = timed(f"cat {big_point}/big.bin > /dev/null")
git_t = timed(f"git --git-dir {bigrepo} cat-file blob {blob} > /dev/null")
timed(f"cat {big} > /dev/null")
native_warm = timed(f"cat {big} > /dev/null")
big_label = f"{BIG >> 20} MiB"
row(f"cat a {big_label} file, cold", (cold, 0), "git cat-file blob", (git_t, 0), "<= 1.1x time")
row(f"cat a {big_label} file, second time", (warm, 0), "native file in page cache", (native_warm, 0), ">= 0.8x speed")
probe = f"""
import os, random, time
fd = os.open("{big_point}/@~1/big.bin", os.O_RDONLY)
random.seed(7)
off = random.randrange(0, {BIG} - 4096)
t = time.perf_counter(); data = os.pread(fd, 4096, off); first = time.perf_counter() - t
t = time.perf_counter(); os.pread(fd, 4096, random.randrange(0, {BIG} - 4096)); second = time.perf_counter() - t
assert len(data) == 4096
print(first, second)
"""
first, second = map(float, subprocess.run([PY, "-c", probe], capture_output=True, text=True, check=True).stdout.split())
rows.append((f"4 KiB read at a random offset, {big_label} file in @~1 (first read after open)", (first, 0), "target", (0.005, 0), 0.005 / first, "< 5 ms"))
rows.append((f"4 KiB read at another random offset, same open file", (second, 0), "target", (0.005, 0), 0.005 / second, "< 5 ms"))
big_mem = daemon_memory(big_point)
unmount(big_point)
rows.append(("daemon peak RSS after the tree cases (VmHWM)", (gen_mem[0], 0), "target", (128, 0), 128 / gen_mem[0], "< 128 MiB"))
rows.append((f"daemon peak RSS after the {big_label} file cases (VmHWM)", (big_mem[0], 0), "target", (128, 0), 128 / big_mem[0], "< 128 MiB"))

# Writes through the mount, each ending in one commit, against a native checkout + git.
os.environ.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@b")
work_w = f"{work}/writes"
os.makedirs(work_w)
SMALL = 1000 if args.quick else 10_000
src = f"{work_w}/src"
for d in range(100):
    os.makedirs(f"{src}/d{d:02d}")
for i in range(SMALL):
    with open(f"{src}/d{i % 100:02d}/f{i:05d}", "wb") as f:
        f.write(b"w" * 92 + f"{i:08d}".encode())
wrepo = f"{work_w}/w.git"
wpoint = f"{work_w}/mnt"
os.makedirs(wpoint)
sh([MOUNT, "--create", wrepo, wpoint])
checkout = f"{work_w}/checkout"
sh(f"git init -q {checkout} && git -C {checkout} commit -q --allow-empty -m init")


def commits(repo):
    return int(subprocess.run(["git", "--git-dir", repo, "rev-list", "--count", "main"], capture_output=True, text=True, check=True).stdout)


def write_case(label, ours_cmd, native_cmd, target):
    before = commits(wrepo)
    os.sync()
    ours = timed(ours_cmd)
    made = commits(wrepo) - before
    os.sync()
    native = timed(native_cmd)
    row(f"{label} ({made} commit{'s' if made != 1 else ''})", (ours, 0), "native + git add + git commit", (native, 0), target)


write_case(f"cp -r {SMALL:,} files of 100 B into the mount, then sync MNT",
           f"cp -r {src} {wpoint}/src && sync {wpoint}",
           f"cp -r {src} {checkout}/src && git -C {checkout} add -A && git -C {checkout} commit -q -m cp",
           "<= 2x time")
write_case(f"rm -rf those {SMALL:,} files, then sync MNT",
           f"rm -rf {wpoint}/src && sync {wpoint}",
           f"rm -rf {checkout}/src && git -C {checkout} commit -q -a -m rm",
           "<= 2x time")
write_case(f"cp a {BIG >> 20} MiB file into the mount, then sync it",
           f"cp {big} {wpoint}/big.bin && sync {wpoint}/big.bin",
           f"cp {big} {checkout}/big.bin && git -C {checkout} add big.bin && git -C {checkout} commit -q -m big",
           "<= 1.5x time")
write_mem = daemon_memory(wpoint)
if os.path.isdir(real):
    tarball = f"{work_w}/nio.tar"
    sh(f"git --git-dir {real} archive HEAD > {tarball}")
    count = int(subprocess.run(f"tar -tf {tarball} | grep -vc '/$'", shell=True, capture_output=True, text=True).stdout)
    write_case(f"tar -x swift-nio ({count:,} files) into the mount, then sync MNT",
               f"mkdir {wpoint}/nio && tar -xf {tarball} -C {wpoint}/nio && sync {wpoint}",
               f"mkdir {checkout}/nio && tar -xf {tarball} -C {checkout}/nio && git -C {checkout} add -A && git -C {checkout} commit -q -m nio",
               "<= 2x time")
unmount(wpoint)
rows.append(("daemon peak RSS after the write cases (VmHWM)", (write_mem[0], 0), "target", (128, 0), 128 / write_mem[0], "< 128 MiB"))

shutil.rmtree(work)

lines = [
    "# Benchmarks",
    "",
    f"Made by `scripts/bench{' --quick' if args.quick else ''}` on {time.strftime('%Y-%m-%d')}, release build, "
    f"on this project's machine ({os.cpu_count()} cores). Times are wall-clock seconds unless the case says ms; "
    "the engine's and vost's numbers are timed inside the process (start-up left out), git's include its start-up. "
    "\"x faster\" is anchor time / our time. The machines are shared, so single runs vary; compare ratios.",
    "",
    "Rows whose anchor is `target` compare with the issue's number (seconds or MiB) instead of another tool.",
    "",
    "| case | ours | anchor | anchor value | x faster | our peak RSS | anchor peak RSS | target |",
    "|---|---|---|---|---|---|---|---|",
]
for case, ours, name, anchor, ratio, target in rows:
    lines.append(f"| {case} | {ours[0]:.4f} | {name} | {anchor[0]:.4f} | {ratio:.2f} | {ours[1]:.0f} MiB | {anchor[1]:.0f} MiB | {target} |")
text = "\n".join(lines) + "\n"
print(text)
if not args.quick:
    # What people wrote under the table to read it by stays; the table is made anew.
    kept = ""
    if os.path.exists(args.out):
        old = open(args.out).read()
        if "\n## Reading the table" in old:
            kept = "\n" + old[old.index("\n## Reading the table") + 1:]
    with open(args.out, "w") as f:
        f.write(text + kept)
