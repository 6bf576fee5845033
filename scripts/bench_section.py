"""Writes one "## Heading" section of docs/benchmarks.md in place, leaving the rest of the page
as it is (scripts/bench_remote.py and scripts/bench_large.py each own one)."""

import os


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
