#!/usr/bin/env python3
"""Reads the one list of harnesses, fuzz/harnesses.bzl, for the shell scripts.

  fuzz/harnesses.py names      one harness name a line
  fuzz/harnesses.py settings   "NAME MAX_LEN HARNESS_COVERAGE DICT" a line
                               (HARNESS_COVERAGE is 0 or 1)

The list is a plain literal, so it is read without Bazel. Exits 2 with one
line on a usage error or a list it cannot read.
"""
import ast
import pathlib
import sys


def harnesses():
    text = (pathlib.Path(__file__).parent / "harnesses.bzl").read_text()
    marker = "FUZZ_HARNESSES = "
    start = text.index(marker) + len(marker)
    return ast.literal_eval(text[start:].strip())


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("names", "settings"):
        print("usage: fuzz/harnesses.py names|settings", file=sys.stderr)
        return 2
    try:
        entries = harnesses()
    except (OSError, ValueError, SyntaxError) as error:
        print(f"fuzz/harnesses.py: cannot read fuzz/harnesses.bzl: {error}", file=sys.stderr)
        return 2
    for h in entries:
        if sys.argv[1] == "names":
            print(h["name"])
        else:
            print(h["name"], h.get("max_len", 0), int(h.get("harness_coverage", False)),
                  h.get("dict", "http.dict"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
