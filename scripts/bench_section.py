"""What scripts/bench_remote.py and scripts/bench_large.py share: their arguments, and writing
the one "## Heading" section of docs/benchmarks.md each owns, leaving the rest of the page."""

import argparse, os


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
