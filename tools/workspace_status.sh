#!/usr/bin/env bash
# Bazel's --workspace_status_command (.bazelrc): the git commit the binaries
# report in --version (//base:version stamps it). "unknown" outside a git
# checkout; "-dirty" when tracked files differ from the commit.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
if [[ $commit != unknown ]] && ! git diff --quiet HEAD -- 2>/dev/null; then
  commit+=-dirty
fi
echo "STABLE_GIT_COMMIT $commit"
