"""The "Native speed" part of scripts/bench (issue 23): mounts against native ext4 in the same
run, each row the median of 3. Warm re-reads of 100,000 files of 100 bytes (`tar -cf - | cat`,
a second time) on a read-write mount, one with --no-open, a read-only one and the native
copy; a cold `find` (kernel caches dropped, a fresh mount each time); a cold `cat` of a 256
MiB text file packed by `git gc`, against native and against zlib alone (the floor); one byte
written into a committed 1 GiB file. Writes its own section of docs/benchmarks.md."""

import os, statistics, subprocess, sys, time, zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_section import drop_caches, parse_args, publish, work_dir  # noqa: E402

args = parse_args()
MOUNT = os.path.join(args.bin, "vostmount")
FILES = 10_000 if args.quick else 100_000
TEXT_MIB = 32 if args.quick else 256
BIG_MIB = 64 if args.quick else 1024
work = work_dir("vost-bench-native-", os.environ.get("BENCH_DIR", "/var/tmp"))
if not drop_caches():
    sys.exit("bench: the cold rows drop the kernel's caches, which needs root")
rows = []


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)


def timed(cmd):
    start = time.perf_counter()
    sh(cmd)
    return time.perf_counter() - start


def mount(repo, point, *extra):
    os.makedirs(point, exist_ok=True)
    subprocess.run([MOUNT, *extra, repo, point], check=True)


def unmount(point):
    subprocess.run(["fusermount3", "-u", point], check=True)
    time.sleep(0.5)  # the daemon commits and exits after the unmount returns; nothing waits on it here


def median(run):
    return statistics.median(run() for _ in range(3))


def row(case, ours, anchor_name, anchor, goal):
    rows.append((case, ours, anchor_name, anchor, ours / anchor if anchor > 0 else float("inf"), goal))
    print(f"{case}: {ours:.3f} vs {anchor_name} {anchor:.3f}", file=sys.stderr)


def make_small_files(repo):
    """FILES files of 100 bytes, 100 per folder, in one commit (git fast-import)."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo], check=True)
    stream = [b"commit refs/heads/main\ncommitter v <v@l> 1700000000 +0000\ndata 4\ntree\n"]
    for i in range(FILES):
        data = ((b"x%07d " % i) * 11)[:99] + b"\n"
        path = b"d%03d/d%02d/f%06d.txt" % (i // 1000, (i // 100) % 10, i)
        stream.append(b"M 100644 inline " + path + b"\ndata %d\n" % len(data) + data + b"\n")
    subprocess.run(["git", "--git-dir", repo, "fast-import", "--quiet"], input=b"".join(stream) + b"\n", check=True)


# Warm re-reads, and cold find, of many small files.
small = f"{work}/small.git"
make_small_files(small)
native = f"{work}/small-native"
os.makedirs(native)
sh(f"git --git-dir={small} archive main | tar -x -C {native}")
tar = "tar -cf - -C {} . | cat > /dev/null"
timed(tar.format(native))
native_tar = median(lambda: timed(tar.format(native)))
for label, extra in (("read-write mount", ()), ("read-write mount --no-open", ("--no-open",)),
                     ("read-only mount", ("--read-only",))):
    point = f"{work}/mnt"
    mount(small, point, *extra)
    timed(tar.format(point))
    warm = median(lambda: timed(tar.format(point)))
    unmount(point)
    row(f"{FILES:,} files of 100 bytes read again (tar into a pipe), {label}", warm, "native ext4, again", native_tar,
        "<= 1x native")


def cold_find(point, extra):
    if extra is not None:
        mount(small, point, *extra)
    drop_caches()
    seconds = timed(f"find {point} > /dev/null")
    if extra is not None:
        unmount(point)
    return seconds


native_find = median(lambda: cold_find(native, None))
row(f"find over {FILES:,} files, cold (fresh mount)", median(lambda: cold_find(f"{work}/mnt", ())), "native ext4, cold",
    native_find, "<= 2x native")

# A large packed text file, read cold, and zlib's own time for the same entry.
packed = f"{work}/packed.git"
text = f"{work}/text.txt"
words = [f"w{i:x}{'abcdefg'[i % 7] * (i % 9)}" for i in range(5000)]
with open(text, "w") as f:
    line, written, i = "", 0, 0
    while written < TEXT_MIB << 20:
        line = " ".join(words[(i * 7 + k * 13) % 5000] for k in range(12)) + "\n"
        f.write(line)
        written += len(line)
        i += 1
subprocess.run(["git", "init", "-q", "--bare", "-b", "main", packed], check=True)
blob = subprocess.run(["git", "--git-dir", packed, "hash-object", "-w", text], check=True, capture_output=True, text=True).stdout.strip()
tree = subprocess.run(["git", "--git-dir", packed, "mktree"], input=f"100644 blob {blob}\ttext.txt\n", check=True,
                      capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "--git-dir", packed, "commit-tree", tree, "-m", "text"], check=True, capture_output=True,
                        text=True, env=dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                                            GIT_COMMITTER_EMAIL="b@b")).stdout.strip()
sh(f"git --git-dir={packed} update-ref refs/heads/main {commit} && git --git-dir={packed} gc -q")


def cold_cat_mount():
    point = f"{work}/mnt"
    mount(packed, point)
    drop_caches()
    seconds = timed(f"cat {point}/text.txt > /dev/null")
    unmount(point)
    return seconds


def cold_cat_native():
    drop_caches()
    return timed(f"cat {text} > /dev/null")


def zlib_alone():
    """Inflating the blob's pack entry in memory, the file already read: the floor."""
    idx = next(f for f in os.listdir(f"{packed}/objects/pack") if f.endswith(".idx"))
    listing = subprocess.run(["git", "verify-pack", "-v", f"{packed}/objects/pack/{idx}"], check=True, capture_output=True,
                             text=True).stdout.splitlines()
    offset = int(next(line.split()[4] for line in listing if line.startswith(blob)))
    data = open(f"{packed}/objects/pack/{idx[:-4]}.pack", "rb").read()
    while data[offset] & 0x80:  # the entry's type-and-size header
        offset += 1
    start = time.perf_counter()
    zlib.decompressobj().decompress(memoryview(data)[offset + 1:])
    return time.perf_counter() - start


native_cat = median(cold_cat_native)
row(f"cat of a {TEXT_MIB} MiB packed text file, cold", median(cold_cat_mount), "native ext4, cold", native_cat,
    "<= 1.5x native")
row(f"zlib alone on that pack entry, in memory (the floor)", median(zlib_alone), "native ext4, cold", native_cat, "-")

# One byte written into a committed 1 GiB file, then sync FILE.
big = f"{work}/big.git"
point = f"{work}/big-mnt"
data = f"{work}/random.bin"
sh(f"head -c {BIG_MIB << 20} /dev/urandom > {data}")
mount(big, point, "--create")
sh(f"cp {data} {point}/big && sync {point}/big")
poke = "printf x | dd of={} bs=1 seek=1000 conv=notrunc status=none && sync {}"
ours = median(lambda: timed(poke.format(f"{point}/big", f"{point}/big")))
unmount(point)
native_copy = f"{work}/native-big"
sh(f"cp {data} {native_copy} && sync")
theirs = median(lambda: timed(poke.format(native_copy, native_copy)))
row(f"1 byte written into a committed {BIG_MIB} MiB file, then sync FILE", ours, "native ext4", theirs, "say what it costs")

publish(args, "Native speed", [
    f"Made by `scripts/bench` (or `scripts/bench --native-only`{' --quick' if args.quick else ''}) on "
    f"{time.strftime('%Y-%m-%d')}, release build, as root (caches dropped through /proc/sys/vm/drop_caches). Each row is the "
    "median of 3 in one run, the anchor measured in the same run on ext4 on the same disk; \"x native\" is ours / "
    "anchor (lower is better). \"Again\" reads run after one read that fills the page cache.",
], ["case", "ours (s)", "anchor", "anchor (s)", "x native", "goal"], rows, [None, ".3f", None, ".3f", ".2f", None])
