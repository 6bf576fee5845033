"""Makes a bare repository with the shape of a real project's history, through `git fast-import`:
a first-parent line of merges, each bringing a short side branch; thousands of files in nested
folders; tags; one submodule entry; a Makefile changed often, a file changed twice.

    python3 make_history.py REPO [--first-parent N] [--side N] [--files N] [--tags N] [--blob-bytes N]
                                 [--per-folder N] [--incompressible] [--seed S]

Defaults are the shape issue 21 measured (24,000 first-parent commits, 82,000 in all, 1,000
tags, 5,000 files). Prints one line of JSON: the counts and the paths worth looking at.
The tests (`Tests/VostMountTests/HistoryGraphTests.swift`) and `scripts/bench_history.py` use it."""

import argparse, base64, json, random, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("repo")
ap.add_argument("--first-parent", type=int, default=24000)
ap.add_argument("--side", type=float, default=2.42, help="side commits per merge, on average")
ap.add_argument("--files", type=int, default=5000)
ap.add_argument("--tags", type=int, default=1000)
ap.add_argument("--blob-bytes", type=int, default=2000)
ap.add_argument("--per-folder", type=int, default=25, help="files per folder")
ap.add_argument("--incompressible", action="store_true", help="blobs of random text (a pack as large as its content)")
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()
rng = random.Random(args.seed)

# Folders two deep, 25 files each; the Makefile, a README and the rarely changed file at the
# top, and a submodule (a gitlink: mode 160000 naming a commit of another repository).
files = ["Makefile", "README", "rare.txt"]
per_folder = args.per_folder
for n in range(args.files - len(files)):
    folder = n // per_folder
    files.append(f"src{folder // 10}/part{folder % 10}/file{n}.c")
submodule = "vendor/lib"
makefile_share = 1498 / 24000  # of merges, as in the measured repository

out = []
mark = 0
blob_of = {}


def new_mark():
    global mark
    mark += 1
    return mark


def blob(path, n):
    """A new version of `path`: mostly shared text (it compresses as code does), one line its own."""
    if args.incompressible:
        body = f"/* {path} version {n} */\n" + base64.b64encode(rng.randbytes(args.blob_bytes * 3 // 4)).decode() + "\n"
    else:
        body = f"/* {path} version {n} */\n" + ("int x%d = %d;\n" % (n % 97, n)) * max(1, args.blob_bytes // 16)
    m = new_mark()
    data = body.encode()
    out.append(b"blob\nmark :%d\ndata %d\n" % (m, len(data)) + data + b"\n")
    blob_of[path] = m
    return m


clock = 1_100_000_000  # 2004: twenty years of history


def commit(ref, message, parents, changes, extra=b""):
    global clock
    clock += rng.randint(600, 14000)
    m = new_mark()
    text = message.encode()
    head = b"commit %s\nmark :%d\ncommitter Dev <dev@example.org> %d +0000\ndata %d\n%s\n" % (ref.encode(), m, clock, len(text), text)
    if parents:
        head += b"from :%d\n" % parents[0]
        for p in parents[1:]:
            head += b"merge :%d\n" % p
    body = b"".join(b"M 100644 :%d %s\n" % (blob_of[p], p.encode()) for p in changes)
    out.append(head + body + extra + b"\n")
    return m


for i, path in enumerate(files):
    blob(path, 0)
init = commit("refs/heads/main", "initial import", [], files, b"M 160000 %s %s\n" % (b"1" * 40, submodule.encode()))
main = init
total = 1
makefile_versions = 1
rare_changes = set(rng.sample(range(1, args.first_parent), 2)) if args.first_parent > 2 else set()
tag_every = max(1, args.first_parent // max(1, args.tags)) if args.tags else 0
tags = 0
for n in range(1, args.first_parent):
    count = int(args.side) + (1 if rng.random() < args.side - int(args.side) else 0)
    side = main
    changed = []
    for s in range(count):
        path = "Makefile" if rng.random() < makefile_share / max(1, count) else files[3 + rng.randrange(len(files) - 3)]
        blob(path, n * 10 + s)
        side = commit("refs/heads/side", f"change {path} ({n}.{s})", [side], [path])
        changed.append(path)
        total += 1
    if n in rare_changes:
        blob("rare.txt", n)
        changed.append("rare.txt")
    if "Makefile" in changed:
        makefile_versions += 1
    parents = [main, side] if count else [main]
    main = commit("refs/heads/main", f"Merge side {n}", parents, sorted(set(changed)))
    total += 1
    if tag_every and n % tag_every == 0 and tags < args.tags:
        tags += 1
        out.append(b"reset refs/tags/v%d\nfrom :%d\n\n" % (tags, main))
out.append(b"reset refs/heads/side\nfrom 0000000000000000000000000000000000000000\n\n")

stream = b"".join(out)
subprocess.run(["git", "init", "-q", "--bare", "-b", "main", args.repo], check=True)
subprocess.run(["git", "--git-dir", args.repo, "fast-import", "--quiet", "--depth=50"], input=stream, check=True)
print(json.dumps({"commits": total, "folder": files[3].rsplit("/", 1)[0], "per_folder": per_folder, "first_parent": args.first_parent, "tags": tags, "files": len(files),
                  "makefile_versions": makefile_versions, "rare": "rare.txt", "submodule": submodule,
                  "sample": [files[3 + rng.randrange(len(files) - 3)] for _ in range(20)]}))
