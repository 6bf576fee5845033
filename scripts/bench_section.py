"""What scripts/bench.py and its sections share: their arguments, a scratch folder, finding a
mount's daemon, dropping the kernel's caches, and making the one "## Heading" section of docs/benchmarks.md each
owns, leaving the rest of the page."""

import argparse, atexit, os, shutil, socket, subprocess, tempfile, time


def work_dir(prefix, base=None):
    """A new scratch folder, removed when the script exits, however it exits, with every
    mount under it unmounted first (a failed run must not leave mounts behind)."""
    work = tempfile.mkdtemp(prefix=prefix, dir=base)

    def clean_up():
        with open("/proc/mounts") as f:
            points = [line.split()[1] for line in f if line.split()[1].startswith(work + "/")]
        for point in sorted(points, reverse=True):
            subprocess.run(["fusermount3", "-u", "-z", point], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

    atexit.register(clean_up)
    return work


def daemon_pid(point):
    """The pid of the vostmount serving `point`: the newest, since the daemon of an earlier
    mount of the same point may still be exiting after its unmount returned."""
    return subprocess.run(["pgrep", "-n", "-f", f"vostmount .*{point}$"], capture_output=True, text=True).stdout.split()[0]


def start_giftless(work):
    """giftless (a Git LFS server, from PyPI, in GIFTLESS_PYTHON's venv) on 127.0.0.1 under
    Flask's development server, storing in `work`, stopped when the script exits; its base
    URL (an LFS endpoint is BASE/REPO.git/info/lfs)."""
    storage, config = f"{work}/giftless-objects", f"{work}/giftless.yaml"
    with open(config, "w") as f:
        f.write("LEGACY_ENDPOINTS: false\nAUTH_PROVIDERS:\n  - giftless.auth.allow_anon:read_write\n"
                "TRANSFER_ADAPTERS:\n  basic:\n    factory: giftless.transfer.basic_streaming:factory\n"
                "    options:\n      storage_class: giftless.storage.local_storage:LocalStorage\n"
                f"      storage_options:\n        path: {storage}\n"
                "PRE_AUTHORIZED_ACTION_PROVIDER:\n  options:\n    private_key: vostmount-bench-key-0123456789abcdef\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([os.environ["GIFTLESS_PYTHON"], "-m", "flask", "--app", "giftless.wsgi_entrypoint", "run",
                             "--host", "127.0.0.1", "--port", str(port)], env=dict(os.environ, GIFTLESS_CONFIG_FILE=config),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    atexit.register(proc.kill)
    deadline = time.time() + 30
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"http://127.0.0.1:{port}/bench"
        if time.time() > deadline:
            raise SystemExit("bench: giftless did not listen")
        time.sleep(0.1)


def drop_caches():
    """Empties the kernel's page, dentry and inode caches, so that a native tree starts as
    cold as a fresh mount does. Needs root; False where it is not allowed."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="docs/benchmarks.md")
    return ap.parse_args()


def write_section(path, heading, section):
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    marker = f"\n## {heading}"
    if marker in text:
        start = text.index(marker) + 1
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def publish(args, heading, intro, columns, rows, formats):
    """Prints the section (heading, the intro paragraphs, a table of `rows` with a format per
    column, None for text) and, unless --quick, writes it into args.out."""
    lines = [f"## {heading}", ""]
    for paragraph in intro:
        lines += [paragraph, ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(v) if fmt is None else format(v, fmt) for v, fmt in zip(row, formats)]
        lines.append("| " + " | ".join(cells) + " |")
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.quick:
        write_section(args.out, heading, section)
