"""Offline stand-in for @rules_cc//cc:defs.bzl.

Bazel 4.2.3's @bazel_tools//tools/cpp loads its C++ rules from @rules_cc, which
it would normally download. Every rule here forwards to the native rule built
into Bazel, which is exactly what rules_cc of that era did.
"""

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)
