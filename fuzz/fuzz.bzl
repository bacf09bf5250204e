"""epollhttp_fuzzers(): the targets of every harness in fuzz/harnesses.bzl.

For a harness `NAME` (source NAME.cc, seeds in corpus/NAME/) it declares:
  NAME_bin          the harness binary (tagged manual). Under --config=fuzz it is
                    a libFuzzer binary (clang, ASan + UBSan); otherwise it links
                    the corpus-replay main and runs the files it is given.
  NAME              `bazel run --config=fuzz //fuzz:NAME -- [libFuzzer flags]`:
                    runs NAME_bin with its dictionary, the seed corpus and
                    a writable corpus under .fuzz/NAME/ of the workspace.
  NAME_replay_test  a cc_test that replays corpus/NAME/ in plain `bazel test`.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def epollhttp_fuzzer(name, deps = [], harness_coverage = False, max_len = 0, dict = "http.dict"):
    """Declares the targets above for harness `name`.

    Args:
      name: harness name; the source is NAME.cc.
      deps: libraries the harness tests (they are coverage-instrumented).
      harness_coverage: instrument the harness's own file too. Off by default:
        oracle code (reference decoders, string compares) would add features
        that say nothing about the code under test and slow every execution.
        Turn it on when the harness inlines the code under test from a header.
      max_len: default -max_len for `bazel run` (0: libFuzzer's own, 4096);
        a -max_len the user passes wins.
      dict: the libFuzzer dictionary, a file in fuzz/.
    """
    corpus = native.glob(["corpus/%s/**" % name])
    if not corpus:
        fail("fuzz harness %s has no seed corpus in fuzz/corpus/%s/" % (name, name))
    cc_library(
        name = name + "_harness",
        testonly = True,
        srcs = [name + ".cc"],
        copts = [] if harness_coverage else select({
            "//fuzz:fuzzing": ["-fno-sanitize=fuzzer-no-link"],
            "//conditions:default": [],
        }),
        deps = deps,
        alwayslink = True,
    )
    cc_binary(
        name = name + "_bin",
        testonly = True,
        linkopts = select({
            "//fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual"],
        deps = [":%s_harness" % name] + select({
            "//fuzz:fuzzing": [],
            "//conditions:default": ["//testing:fuzz_replay_main"],
        }),
    )

    # Bazel 4.2.3 has sh_binary built in; rules_shell is not packaged for it.
    # buildifier: disable=native-sh-binary
    native.sh_binary(
        name = name,
        testonly = True,
        srcs = ["run_fuzzer.sh"],
        args = ["$(rootpath :%s_bin)" % name, name, str(max_len), dict],
        data = [":%s_bin" % name, dict] + corpus,
        tags = ["manual"],
    )
    cc_test(
        name = name + "_replay_test",
        size = "small",
        args = ["fuzz/corpus/" + name],
        data = corpus,
        deps = [
            ":%s_harness" % name,
            "//testing:fuzz_replay_main",
        ],
    )

def epollhttp_fuzzers(name, harnesses):
    """Declares every harness of `harnesses`, and a filegroup of their binaries.

    The filegroup `name` is how `bazel build --config=fuzz //fuzz:NAME` builds
    them all: they are tagged manual, so patterns skip them.

    Args:
      name: the filegroup's name.
      harnesses: fuzz/harnesses.bzl's FUZZ_HARNESSES.
    """
    for harness in harnesses:
        epollhttp_fuzzer(**harness)
    native.filegroup(
        name = name,
        testonly = True,
        srcs = [":%s_bin" % harness["name"] for harness in harnesses],
    )
