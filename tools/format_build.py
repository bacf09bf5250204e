#!/usr/bin/env python3
"""Sorts the label lists of BUILD.bazel files the way buildifier does.

Lists assigned to deps, srcs, hdrs, data and visibility are sorted: local
labels (":x") first, then labels of this workspace ("//x"), then external
ones ("@x"), each group alphabetically. Lists that hold anything but plain
strings are left alone.

Usage: tools/format_build.py [--check] [FILE...]   (default: every BUILD.bazel)
With --check, changes nothing and exits 1 naming the files that would change.
"""
import pathlib
import re
import subprocess
import sys

LIST = re.compile(r'(\n(\s*)(deps|srcs|hdrs|data|visibility) = \[\n)((?:\s*"[^"\n]*",\n)+)(\s*\])')


def key(label):
    group = 0 if label.startswith(":") else 2 if label.startswith("@") else 1
    return (group, label)


def sort_lists(text):
    def fix(m):
        items = re.findall(r'"([^"\n]*)"', m.group(4))
        indent = m.group(2) + "    "
        body = "".join(f'{indent}"{item}",\n' for item in sorted(set(items), key=key))
        return m.group(1) + body + m.group(5)

    return LIST.sub(fix, text)


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if a != "--check"]
    if not files:
        root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                              text=True, check=True).stdout.strip()
        files = sorted(str(p) for p in pathlib.Path(root).rglob("BUILD.bazel")
                       if "bazel-" not in str(p) and "/.git/" not in str(p))
    changed = []
    for name in files:
        path = pathlib.Path(name)
        text = path.read_text()
        fixed = sort_lists(text)
        if fixed != text:
            changed.append(name)
            if not check:
                path.write_text(fixed)
    if check and changed:
        print("format_build.py: unsorted lists in " + " ".join(changed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
