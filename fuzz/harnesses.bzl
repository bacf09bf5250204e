"""The list of libFuzzer harnesses: one entry per harness, read by
fuzz/BUILD.bazel (epollhttp_fuzzer() per entry), fuzz/run_all.sh and
.clusterfuzzlite/build.sh. A new harness is fuzz/NAME.cc, its seeds in
fuzz/corpus/NAME/, and one entry here.

Each entry: name; max_len (libFuzzer's -max_len default, 0: its own);
dict (a file in fuzz/); harness_coverage (instrument the harness file too:
only when it inlines the code under test from a header); deps.

The list is a plain literal (strings, numbers, booleans, lists, dicts) so
that the shell scripts can read it without Bazel.
"""

FUZZ_HARNESSES = [
    {
        "name": "content_length_fuzzer",
        "max_len": 0,
        "dict": "http.dict",
        # ParseContentLength's fast path is inline in its header.
        "harness_coverage": True,
        "deps": [
            "//server/http:content_length",
            "@abseil-cpp//absl/strings",
        ],
    },
    {
        "name": "request_parser_fuzzer",
        # Heads beyond 1 KiB add nothing: the 414/431 paths are reached
        # through the harness's small-limits mode.
        "max_len": 1024,
        "dict": "http.dict",
        "harness_coverage": False,
        "deps": [
            ":split_plan",
            "//server/http:body_reader",
            "//server/http:content_length",
            "//server/http:request_parser",
            "@abseil-cpp//absl/strings",
        ],
    },
    {
        "name": "chunked_fuzzer",
        "max_len": 0,
        "dict": "http.dict",
        "harness_coverage": False,
        "deps": [
            ":split_plan",
            "//server/http:body_reader",
            "@abseil-cpp//absl/strings",
        ],
    },
    {
        "name": "connection_fuzzer",
        "max_len": 0,
        "dict": "http.dict",
        "harness_coverage": False,
        "deps": [
            ":split_plan",
            "//net:buffer",
            "//net:event_loop",
            "//server:access_log",
            "//server:app",
            "//server:connection",
            "//server:metrics",
            "//server:observers",
            "//testing:fake_transport",
            "@abseil-cpp//absl/strings",
        ],
    },
    {
        # epollhttp's parser against llhttp on every input; differences must
        # be in testing/differential/known_differences.h.
        "name": "differential_fuzzer",
        "max_len": 1024,
        "dict": "http.dict",
        "harness_coverage": False,
        "deps": [
            "//testing/differential:known_differences",
            "//testing/differential:verdict",
            "@abseil-cpp//absl/strings",
        ],
    },
    {
        # The epoll library: loop, timers, watchers and the worker pool,
        # against a model.
        "name": "event_loop_fuzzer",
        "max_len": 512,
        "dict": "event_loop.dict",
        "harness_coverage": False,
        "deps": [
            "//base:clock",
            "//base:fd",
            "//net:event_loop",
            "//net:worker_pool",
        ],
    },
    {
        "name": "upload_headers_fuzzer",
        "max_len": 4200,
        "dict": "http.dict",
        "harness_coverage": False,
        "deps": [
            "//server/upload:checksum",
            "//server/upload:download_headers",
            "//server/upload:tus_headers",
            "@abseil-cpp//absl/strings",
        ],
    },
    {
        "name": "upload_recovery_fuzzer",
        "max_len": 512,
        "dict": "http.dict",
        "harness_coverage": False,
        "deps": [
            "//server/upload:fake_file_system",
            "//server/upload:store",
        ],
    },
]
