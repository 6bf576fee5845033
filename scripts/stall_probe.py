"""Measures how long other requests wait while a mount does slow work on one large file.

    python3 stall_probe.py MNT sync-dir SOURCE      cp SOURCE to MNT/big, then `sync MNT/big` and,
                                                    20 ms into that commit, `sync MNT`
    python3 stall_probe.py MNT sync-dir-later SOURCE  the same, `sync MNT` once the file has been
                                                    closed for 3 s (the background store's time)
    python3 stall_probe.py MNT first-write FILE     the first one-byte write into the committed MNT/FILE
    python3 stall_probe.py MNT many-files N         N new small files in MNT/many, committed by
                                                    `sync MNT/many/f0` (no folder lock: only ours)

While it runs, three probers, each on its own thread, list MNT, look up a name never looked up
before (so it reaches the daemon), and open and read MNT/small.txt, every 5 ms. Prints one line of
JSON: the slow operation's seconds and the longest wait of each probe. Used by
scripts/bench_large.py and Tests/VostMountTests/StallTests.swift (which assert no timings)."""

import json, os, shutil, subprocess, sys, threading, time

mnt, scenario, arg = sys.argv[1], sys.argv[2], sys.argv[3]
small = os.path.join(mnt, "small.txt")
with open(small, "w") as f:
    f.write("small\n")
subprocess.run(["sync", small], check=True)

worst = {"listing": 0.0, "lookup": 0.0, "read": 0.0}
probes = 0
done = threading.Event()


def probe(kind):
    """One kind of request, again and again, each on a thread of its own (so one that waits
    does not hide another)."""
    global probes
    n = 0
    while not done.is_set():
        n += 1
        start = time.perf_counter()
        if kind == "listing":
            os.listdir(mnt)
        elif kind == "lookup":
            os.path.exists(os.path.join(mnt, f"never-seen-{os.getpid()}-{n}"))
        else:
            with open(small, "rb") as f:
                f.read()
        worst[kind] = max(worst[kind], time.perf_counter() - start)
        probes += 1
        time.sleep(0.005)


class Probers:
    def start(self):
        self.threads = [threading.Thread(target=probe, args=(kind,)) for kind in worst]
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join()


def sync(path):
    subprocess.run(["sync", path], check=True)


if scenario in ("sync-dir", "sync-dir-later"):
    target = os.path.join(mnt, "big")
    shutil.copyfile(arg, target)
    if scenario == "sync-dir-later":
        time.sleep(3)
    prober = Probers()
    prober.start()
    start = time.perf_counter()
    file_sync = threading.Thread(target=sync, args=(target,))
    file_sync.start()
    time.sleep(0.02)
    sync(mnt)
    file_sync.join()
elif scenario == "first-write":
    target = os.path.join(mnt, arg)
    prober = Probers()
    prober.start()
    time.sleep(0.05)
    start = time.perf_counter()
    fd = os.open(target, os.O_WRONLY)
    os.pwrite(fd, b"!", 0)
    os.close(fd)
elif scenario == "many-files":
    folder = os.path.join(mnt, "many")
    os.makedirs(folder, exist_ok=True)
    for n in range(int(arg)):
        with open(os.path.join(folder, f"f{n}"), "w") as f:
            f.write(f"file {n}\n" * 20)
    prober = Probers()
    prober.start()
    time.sleep(0.05)
    start = time.perf_counter()
    sync(os.path.join(folder, "f0"))
else:
    sys.exit(f"unknown scenario {scenario}")
seconds = time.perf_counter() - start
time.sleep(0.05)
done.set()
prober.join()
print(json.dumps({"scenario": scenario, "seconds": round(seconds, 4), "probes": probes,
                  **{k: round(v, 4) for k, v in worst.items()}}))
