"""Offline stand-in for @rules_cc//cc:defs.bzl.

Bazel 4.2.3's @bazel_tools//tools/cpp loads its C++ rules from @rules_cc, which
it would normally download, and every BUILD file of this project loads its
cc_* rules from here. Every rule forwards to the native rule built into
Bazel, which is exactly what rules_cc of that era did.

Debian's bazel-rules-cc (0.0.4, /usr/share/bazel/rules/cc) cannot take this
place: Bazel 4.2.3 fails to load its defs.bzl with
  Error: file '@bazel_tools//tools/cpp:toolchain_utils.bzl' does not contain
  symbol 'use_cpp_toolchain' (did you mean 'find_cpp_toolchain'?)
(from cc/private/rules_impl/compiler_flag.bzl, line 17). A Bazel that can load
it needs only WORKSPACE's rules_cc path changed.
"""

def cc_binary(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-binary
    native.cc_binary(**attrs)

def cc_library(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-library
    native.cc_library(**attrs)

def cc_test(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-test
    native.cc_test(**attrs)

def cc_import(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-import
    native.cc_import(**attrs)

def cc_proto_library(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-proto
    native.cc_proto_library(**attrs)

def cc_toolchain(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-toolchain
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-toolchain-suite
    native.cc_toolchain_suite(**attrs)

def objc_library(**attrs):
    # The stand-in forwards to the built-in rule (see above).
    # buildifier: disable=native-cc-objc-library
    native.objc_library(**attrs)
