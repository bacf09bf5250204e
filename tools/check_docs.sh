#!/usr/bin/env bash
# Checks that the docs agree with the code: every `--flag` named in README.md
# and docs/*.md is a flag of the binaries (their --help) or of a tool the docs
# name on purpose (the list below, each with its tool), and every backticked
# Bazel label `//...` in them is a target or package of `bazel query //...`
# (a label with a placeholder, `:*` or `/...` names a package; `//x` where x
# is no folder of the tree is not a label, e.g. a URI's). Prints one line
# per mismatch and exits 1; prints one summary line and exits 0 otherwise.
#
#   tools/check_docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! bazel build //server //loadgen >/dev/null 2>&1; then
  echo "tools/check_docs.sh: bazel build //server //loadgen failed" >&2
  exit 1
fi
bin=$(bazel info bazel-bin 2>/dev/null)
helps=$(mktemp)
targets=$(mktemp)
trap 'rm -f "$helps" "$targets"' EXIT
{
  "$bin/server/server" --helpfull 2>&1 || true
  "$bin/loadgen/loadgen" --helpfull 2>&1 || true
  "$bin/loadgen/loadgen" merge --help 2>&1 || true
} >"$helps"
bazel query //... 2>/dev/null >"$targets"

/usr/bin/python3 - "$helps" "$targets" README.md docs/*.md <<'PY'
import os, re, sys

helps, targets_file, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
known = set(re.findall(r"--([a-z][a-z0-9_]*)", open(helps).read()))
# Flags of other tools the docs name on purpose.
others = {
    "config": "bazel", "test_output": "bazel",
    "jobs": "fuzz/run_all.sh", "seeds_only": "fuzz/coverage.sh",
    "check": "tools/format.sh",
    "close": "testing/bench/floor",
    "tool": "valgrind", "h1": "h2load", "data": "curl",
    "benchmark_repetitions": "Google Benchmark",
    "benchmark_report_aggregates_only": "Google Benchmark",
}
targets = set(open(targets_file).read().split())
packages = {t.split(":")[0] for t in targets}
flag_re = re.compile(r"(?<![\w-])--([a-z][a-z0-9_]*)")
label_re = re.compile(r"(?<![\w@:/.])//[A-Za-z0-9_/.-]*(?::[A-Za-z0-9_.<>*-]*)?")
bad = 0
flags = labels = 0
for doc in docs:
    for number, line in enumerate(open(doc), 1):
        for flag in flag_re.findall(line):
            flags += 1
            if flag not in known and flag not in others:
                print(f"{doc}:{number}: --{flag} is not a flag of //server or //loadgen")
                bad += 1
        for span in re.findall(r"`([^`]*)`", line):
            for label in label_re.findall(span):
                # `//x` is a label only where x is a folder of this tree
                # (not, say, a URI's `//authority`).
                top = label[2:].split("/")[0].split(":")[0]
                if label != "//..." and not os.path.isdir(top):
                    continue
                labels += 1
                package, _, name = label.partition(":")
                if label == "//..." or label.endswith("/..."):
                    ok = any(p == label[:-4] or p.startswith(label[:-3]) for p in packages) or label == "//..."
                elif not name or "<" in name or "*" in name:
                    ok = package in packages
                else:
                    ok = label in targets
                if not ok:
                    print(f"{doc}:{number}: {label} is not in bazel query //...")
                    bad += 1
if bad:
    sys.exit(1)
print(f"tools/check_docs.sh: {flags} flags and {labels} labels in {len(docs)} docs agree with the code")
PY
