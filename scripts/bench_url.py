"""The "Mount a URL" part of scripts/bench: `vostmount URL MNT` against a `git daemon` this
script starts on 127.0.0.1 (with `uploadpack.allowFilter`), serving a history made by
`scripts/make_history.py` (51,000 commits, 5,000 files in folders of 500, incompressible
content: a pack of about 500 MiB), side by side with git's clones of the same URL in the same
run. Requests are counted in the daemon's log. Writes its own section of docs/benchmarks.md
("## Mount a URL")."""

import json, os, shutil, socket, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_section import parse_args, publish, start_giftless, work_dir  # noqa: E402

args = parse_args()
MOUNT = os.path.join(args.bin, "vostmount")
here = os.path.dirname(os.path.abspath(__file__))
shape = (["--first-parent", "1500", "--files", "1000", "--per-folder", "500", "--blob-bytes", "2000"] if args.quick else
         ["--first-parent", "15000", "--files", "5000", "--per-folder", "500", "--blob-bytes", "14000"])
work = work_dir("vost-bench-url-", os.environ.get("BENCH_DIR", "/var/tmp"))
served = f"{work}/served"
os.makedirs(served)
server = f"{served}/data.git"
point = f"{work}/mnt"
os.makedirs(point)
rows = []

report = json.loads(subprocess.run([sys.executable, f"{here}/make_history.py", server, "--incompressible"] + shape,
                                   check=True, capture_output=True, text=True).stdout)
subprocess.run(["git", "--git-dir", server, "config", "uploadpack.allowFilter", "true"], check=True)
pack_mib = sum(os.path.getsize(f"{server}/objects/pack/{f}") for f in os.listdir(f"{server}/objects/pack")) / 2**20
with socket.socket() as probe:  # a port free now, on loopback only
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
exec_path = subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True).stdout.strip()
daemon_log = open(f"{work}/daemon.log", "w")
daemon = subprocess.Popen([f"{exec_path}/git-daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}", "--export-all",
                           "--verbose", f"--base-path={served}", served], stderr=daemon_log)
url = f"git://127.0.0.1:{port}/data.git"
deadline = time.time() + 10
while subprocess.run(["git", "ls-remote", url], capture_output=True).returncode != 0:
    if time.time() > deadline:
        sys.exit("bench: git daemon did not answer")
    time.sleep(0.1)


def requests():
    daemon_log.flush()
    return open(f"{work}/daemon.log").read().count("Request upload-pack")


def seconds(cmd, env=None):
    start = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def disk(path):
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout.split()[0]) / 2**20


def row(case, ours, anchor_name, anchor, goal, note=""):
    rows.append((case, ours, anchor_name, anchor, anchor / ours if ours > 0 else float("inf"), goal, note))
    print(f"{case}: ours {ours:.3f} vs {anchor_name} {anchor:.3f} {note}", file=sys.stderr)


def lfs_rows(env):
    """A 1 GiB file in LFS on the server (its object on giftless, named by the repository's
    .lfsconfig), read through a new mount of the URL against `git lfs pull` of that object."""
    size = (64 if args.quick else 1024) << 20
    endpoint = start_giftless(work) + "/data.git/info/lfs"
    tree = f"{work}/lfs-work"
    subprocess.run(["git", "clone", "-q", "--no-checkout", server, tree], check=True)
    git_in = lambda *a: subprocess.run(["git", "-C", tree, *a], check=True, stdout=subprocess.DEVNULL,
                                       env=dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                                                GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b"))
    git_in("reset", "-q")  # the index of the tip, so that the commit adds to it
    git_in("lfs", "install", "--local")
    with open(f"{tree}/.gitattributes", "w") as f:
        f.write("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    with open(f"{tree}/.lfsconfig", "w") as f:
        f.write(f"[lfs]\n\turl = {endpoint}\n")
    subprocess.run(f"head -c {size} /dev/urandom > {tree}/big.bin", shell=True, check=True)
    git_in("add", ".gitattributes", ".lfsconfig", "big.bin")
    git_in("commit", "-q", "-m", "a large file in LFS")
    git_in("push", "-q", "origin", "HEAD:main")  # git lfs's pre-push hook sends the object to giftless
    os.remove(f"{tree}/big.bin")
    subprocess.run(f"{MOUNT} {url} {point}", shell=True, check=True, env=env)
    try:
        deadline = time.time() + 120
        while not os.path.exists(f"{point}/big.bin"):  # the mount's first fetch brings the new tip
            if time.time() > deadline:
                sys.exit("bench: the LFS commit never reached the mount")
            time.sleep(0.2)
        first = seconds(f"cat {point}/big.bin | cat > /dev/null")
        again = seconds(f"cat {point}/big.bin | cat > /dev/null")
    finally:
        subprocess.run(["fusermount3", "-u", point], check=True)
    by_hand = f"{work}/lfs-by-hand"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", url, by_hand], check=True,
                   env=dict(os.environ, GIT_LFS_SKIP_SMUDGE="1"))
    pull = seconds(f"git -C {by_hand} lfs pull --include=big.bin")
    local = seconds(f"cat {by_hand}/big.bin | cat > /dev/null")
    row(f"cat of a {size >> 20} MiB LFS file, first (its object from giftless)", first, "git lfs pull of that object",
        pull, ">= 0.8x anchor speed")
    row("the same cat again", again, "cat of the pulled file", local, "local speed")


try:
    full = seconds(f"git clone -q --bare {url} {work}/full.git")
    partial = seconds(f"git clone -q --bare --filter=blob:none {url} {work}/partial.git")
    env = dict(os.environ, XDG_CACHE_HOME=f"{work}/xdg")
    before = requests()
    started = time.perf_counter()
    ours = seconds(f"{MOUNT} {url} {point} && ls {point}", env)
    row("vostmount URL MNT until `ls MNT` answers (first mount: makes the clone)", ours,
        "git clone --bare --filter=blob:none", partial, "<= anchor + 1 s", f"{requests() - before} requests")
    row("the same, against a full clone", ours, "git clone --bare (full)", full, ">= 5x faster")
    # The history's trees, fetched behind the mount: until @/status says they are here.
    while True:
        status = json.load(open(f"{point}/@/status"))["partialClone"]
        if status["historyTreesError"] is not None:
            sys.exit(f"bench: the history's trees: {status['historyTreesError']}")
        if status["historyTreesFetchingSince"] is None:
            break
        if time.perf_counter() - started > 600:
            sys.exit("bench: the history's trees did not come within 600 s")
        time.sleep(0.05)
    row("the same until the history's trees are here too (behind the mount)", time.perf_counter() - started,
        "git clone --bare --filter=blob:none", partial, "-")
    clone = f"{work}/xdg/vostmount/" + os.listdir(f"{work}/xdg/vostmount")[0]
    # One small file, never listed before (its folder is not listed: only the file is looked up).
    sample = report["sample"][0]
    before = requests()
    first_cat = seconds(f"cat {point}/{sample} > /dev/null")
    row(f"first cat of one small file ({sample})", first_cat, "-", 0, "<= 2 fetch round trips",
        f"{requests() - before} requests")
    # A folder of 500 files read whole, against git archive of it on the full clone plus
    # git fetching the same blobs into a fresh partial clone (the transfer).
    parts = subprocess.run(["git", "--git-dir", f"{work}/full.git", "ls-tree", "--name-only", "main:src0"],
                           check=True, capture_output=True, text=True).stdout.split()
    folder = next(f"src0/{p}" for p in parts if not sample.startswith(f"src0/{p}/"))
    before = requests()
    tar = seconds(f"tar -cf - -C {point} {folder} | cat > /dev/null")
    tar_requests = requests() - before
    archive = seconds(f"git --git-dir={work}/full.git archive main {folder} | cat > /dev/null")
    shutil.copytree(f"{work}/partial.git", f"{work}/partial2.git")
    blobs = subprocess.run(["git", "--git-dir", f"{work}/full.git", "ls-tree", "-r", "--object-only", f"main:{folder}"],
                           check=True, capture_output=True, text=True).stdout.split()
    transfer = seconds(f"git --git-dir={work}/partial2.git -c fetch.negotiationAlgorithm=noop fetch -q origin --no-tags "
                       f"--no-write-fetch-head --filter=blob:none {' '.join(blobs)}")
    row(f"tar -cf - {folder}, piped to cat ({len(blobs)} files), through the mount", tar,
        "git archive on a full clone + fetch of those blobs", archive + transfer, "<= 2x anchor, <= 3 requests",
        f"{tar_requests} requests")
    # Disk after reading about 1% of the files (50 of 5,000 in folders not yet listed).
    files = subprocess.run(["git", "--git-dir", f"{work}/full.git", "ls-tree", "-r", "--name-only", "main"],
                           check=True, capture_output=True, text=True).stdout.split()
    picked = [f for f in files if not f.startswith(folder + "/") and f != sample][::max(1, len(files) // 50)][:50]
    for f in picked:
        subprocess.run(["cat", f"{point}/{f}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["fusermount3", "-u", point], check=True)
    time.sleep(1)
    read_blobs = subprocess.run(["git", "--git-dir", clone, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize:disk)"],
                                check=True, capture_output=True, text=True).stdout.split("\n")
    blob_bytes = sum(int(line.split()[1]) for line in read_blobs if line.startswith("blob ")) / 2**20
    partial_mib = disk(f"{work}/partial.git")
    ours_disk = disk(clone)
    row(f"disk used after reading {len(picked)} files and one folder (MiB)", ours_disk,
        "blob:none clone + the blobs read", partial_mib + blob_bytes, "<= anchor + 10%")
    before = requests()
    second = seconds(f"{MOUNT} {url} {point} && ls {point}", env)
    row("second mount of the same URL until `ls MNT` answers", second, "goal (s)", 1.0, "<= 1 s",
        f"{requests() - before} requests")
    subprocess.run(["fusermount3", "-u", point], check=True)
    lfs_rows(env)
finally:
    daemon.terminate()
    daemon.wait()

publish(args, "Mount a URL", [
    f"Made by `scripts/bench` (or `scripts/bench --url-only`{' --quick' if args.quick else ''}) on {time.strftime('%Y-%m-%d')}, "
    f"release build. Server: `git daemon` on 127.0.0.1 with `uploadpack.allowFilter`, serving `scripts/make_history.py "
    f"{' '.join(shape)} --incompressible`: {report['commits']} commits, {report['files']} files in folders of "
    f"{report['per_folder']}, a {pack_mib:.0f} MiB pack. Requests are `upload-pack` requests in the daemon's log. "
    "Seconds (disk row: MiB); \"x faster\" is anchor / ours. The LFS rows: a commit adding a random file in LFS "
    "(its object on giftless, an LFS server from PyPI under Flask's development server, named by the repository's "
    "`.lfsconfig`), read through a new mount of the URL (its first fetch brings the commit), against `git lfs pull "
    "--include` of that object in a blob:none clone.",
], ["case", "ours", "anchor", "anchor value", "x faster", "goal", "requests"],
        rows, [None, ".3f", None, ".3f", ".2f", None, None])
