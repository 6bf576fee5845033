#!/usr/bin/env python3
"""Sync churn: three mounts of three bare clones of one `git daemon` server, plus one
ordinary clone that commits and pushes, all writing as fast as they can; then checks the
promise "no version an fsync returned for is lost".

Each mount's writer appends a line to the shared `shared.txt`, overwrites shared binary
files and creates files of its own, with an fsync after every change, and records the
content each fsync returned for (read back through the same descriptor, which the mount
never swaps while it is open for writing). After the writers stop, every mount is left to
converge and is unmounted (its last commit and push); then every recorded version must be
a blob reachable from the server's branch: in the final tree, in a conflict copy, or in
history. Exits 1 (and names the lost versions) when one is not.

    churn.py --bin .build/debug/vostmount --seconds 15 --seed 1
Used by the test suite (short) and by scripts/bench (longer). Servers listen on 127.0.0.1
only; everything it starts is stopped and unmounted when it exits, also on failure.
"""
import argparse, hashlib, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time

GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="churn", GIT_AUTHOR_EMAIL="churn@localhost",
               GIT_COMMITTER_NAME="churn", GIT_COMMITTER_EMAIL="churn@localhost",
               GIT_CONFIG_NOSYSTEM="1", HOME=os.environ.get("HOME", "/root"))


def git(*args, cwd=None, check=True):
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class MountWriter(threading.Thread):
    """One mount's writer: fast changes, each fsynced; records (path, blob) of every version."""

    def __init__(self, index, point, seed, until):
        super().__init__(daemon=True)
        self.index, self.point, self.until = index, point, until
        self.rng = random.Random(seed * 1000 + index)
        self.versions = []
        self.errors = []
        self.fsyncs = 0

    def change(self, path, mode, data):
        fd = os.open(os.path.join(self.point, path), mode, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
            # What the fsync committed: this node's content, read through the same descriptor.
            size = os.fstat(fd).st_size
            content = os.pread(fd, size, 0) if size else b""
            self.versions.append((path, blob_id(content)))
            self.fsyncs += 1
        finally:
            os.close(fd)

    def run(self):
        n = 0
        while time.monotonic() < self.until:
            n += 1
            roll = self.rng.random()
            try:
                if roll < 0.5:
                    line = b"m%d line %d %s\n" % (self.index, n, os.urandom(4).hex().encode())
                    self.change("shared.txt", os.O_RDWR | os.O_APPEND | os.O_CREAT, line)
                elif roll < 0.8:
                    name = "bin/shared-%d.bin" % self.rng.randrange(3)
                    self.change(name, os.O_RDWR | os.O_TRUNC | os.O_CREAT, os.urandom(self.rng.randrange(64, 4096)))
                else:
                    self.change("own/m%d-%d.txt" % (self.index, n), os.O_RDWR | os.O_CREAT | os.O_EXCL,
                                b"mount %d file %d\n" % (self.index, n))
            except OSError as error:
                self.errors.append("%s: %s" % (roll, error))
            time.sleep(self.rng.random() * 0.05)


class GitWriter(threading.Thread):
    """A plain clone committing and pushing, rebasing on rejection, as a person's git would."""

    def __init__(self, clone, seed, until):
        super().__init__(daemon=True)
        self.clone, self.until, self.rng = clone, until, random.Random(seed * 7919)
        self.pushed = 0
        self.last_error = ""

    def run(self):
        n = 0
        while time.monotonic() < self.until:
            n += 1
            with open(os.path.join(self.clone, "git.txt"), "a") as f:
                f.write("git line %d\n" % n)
            git("add", "-A", cwd=self.clone)
            git("commit", "-q", "-m", "git %d" % n, cwd=self.clone)
            for _ in range(20):
                pushed = git("push", "-q", "origin", "main", cwd=self.clone, check=False)
                if pushed.returncode == 0:
                    self.pushed += 1
                    break
                self.last_error = pushed.stderr.strip()
                pulled = git("pull", "-q", "--rebase", "origin", "main", cwd=self.clone, check=False)
                if pulled.returncode != 0:
                    self.last_error = pulled.stderr.strip()
                    git("rebase", "--abort", cwd=self.clone, check=False)
                    git("reset", "-q", "--hard", "origin/main", cwd=self.clone, check=False)
            time.sleep(self.rng.random() * 0.3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="the vostmount binary")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mounts", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="vost-churn-")
    mounts, daemon = [], None
    try:
        server = os.path.join(work, "server.git")
        seed_dir = os.path.join(work, "seed")
        git("init", "-q", "--bare", "-b", "main", server)
        git("init", "-q", "-b", "main", seed_dir)
        os.makedirs(os.path.join(seed_dir, "bin"))
        os.makedirs(os.path.join(seed_dir, "own"))
        open(os.path.join(seed_dir, "own", ".keep"), "w").close()
        with open(os.path.join(seed_dir, "shared.txt"), "w") as f:
            f.write("start\n")
        for i in range(3):
            with open(os.path.join(seed_dir, "bin", "shared-%d.bin" % i), "wb") as f:
                f.write(os.urandom(100))
        git("add", "-A", cwd=seed_dir)
        git("commit", "-q", "-m", "seed", cwd=seed_dir)
        git("push", "-q", server, "main", cwd=seed_dir)

        port = free_port()
        exec_path = git("--exec-path").stdout.strip()
        daemon = subprocess.Popen([exec_path + "/git-daemon", "--reuseaddr", "--listen=127.0.0.1", "--port=%d" % port,
                                   "--export-all", "--enable=receive-pack", "--base-path=" + work, work],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = "git://127.0.0.1:%d/server.git" % port
        if not poll(lambda: git("ls-remote", url, check=False).returncode == 0, 10):
            raise SystemExit("churn: git daemon did not answer")

        clones = []
        for i in range(args.mounts):
            clone = os.path.join(work, "m%d.git" % i)
            point = os.path.join(work, "m%d" % i)
            git("clone", "-q", "--bare", url, clone)
            os.makedirs(point)
            subprocess.run([args.bin, "--remote", "origin", "--fetch-interval", "1", "--log",
                            os.path.join(work, "m%d.log" % i), clone, point], check=True)
            mounts.append(point)
            clones.append(clone)
        plain = os.path.join(work, "plain")
        git("clone", "-q", url, plain)

        until = time.monotonic() + args.seconds
        writers = [MountWriter(i, point, args.seed, until) for i, point in enumerate(mounts)]
        gitter = GitWriter(plain, args.seed, until)
        for w in writers + [gitter]:
            w.start()
        for w in writers + [gitter]:
            w.join()

        def tip(repo):
            return git("--git-dir=" + repo, "rev-parse", "-q", "--verify", "refs/heads/main", check=False).stdout.strip()

        def converged():
            server_tip = tip(server)
            for point, clone in zip(mounts, clones):
                try:
                    with open(os.path.join(point, "@/status")) as f:
                        status = json.load(f)
                except (OSError, ValueError):
                    return False
                if status.get("pending") != 0 or tip(clone) != server_tip:
                    return False
            return True

        settled = poll(converged, 60)
        for point in mounts:
            subprocess.run(["fusermount3", "-u", point], check=False)
        for point in mounts:
            poll(lambda: not os.path.ismount(point), 30)
        mounts = []

        reachable = set(git("--git-dir=" + server, "rev-list", "--objects", "refs/heads/main").stdout.split())
        versions = [(w.index, path, blob) for w in writers for path, blob in w.versions]
        lost = [(i, path, blob) for i, path, blob in versions if blob not in reachable]
        fsck = [git("--git-dir=" + repo, "fsck", "--strict", check=False).returncode for repo in [server] + clones]
        report = {
            "seed": args.seed, "seconds": args.seconds, "fsyncs": sum(w.fsyncs for w in writers),
            "git_pushes": gitter.pushed, "versions": len(versions), "lost": len(lost), "converged": settled,
            "fsck_failures": sum(1 for code in fsck if code != 0),
            "write_errors": sum(len(w.errors) for w in writers),
        }
        print(json.dumps(report))
        for i, path, blob in lost[:20]:
            print("lost: mount %d %s %s" % (i, path, blob))
        if gitter.pushed == 0:
            print("the git writer pushed nothing: " + gitter.last_error)
        for w in writers:
            for error in w.errors[:5]:
                print("write error on mount %d: %s" % (w.index, error))
        ok = not lost and settled and report["fsck_failures"] == 0 and report["write_errors"] == 0
        if not ok:
            for i in range(args.mounts):
                log = os.path.join(work, "m%d.log" % i)
                if os.path.exists(log):
                    print("--- m%d.log (tail)" % i)
                    print("".join(open(log).readlines()[-15:]))
        return 0 if ok else 1
    finally:
        for point in mounts:
            subprocess.run(["fusermount3", "-u", "-z", point], check=False, stderr=subprocess.DEVNULL)
        if daemon:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(10)
        if not args.keep:
            # The daemons exit once their last push is done: wait for them before removing.
            poll(lambda: subprocess.run(["pgrep", "-f", "vostmount.*" + work], stdout=subprocess.DEVNULL).returncode != 0, 60)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept " + work)


if __name__ == "__main__":
    sys.exit(main())
