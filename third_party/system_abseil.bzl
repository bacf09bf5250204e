"""A repository rule exposing Debian's libabsl-dev under upstream's labels.

`system_abseil(name = "abseil-cpp", targets = {...})` writes one BUILD file per
abseil package (e.g. absl/strings/BUILD.bazel) so that code depends on
`@abseil-cpp//absl/strings` exactly as it would on the real module; moving to
the real module later is a WORKSPACE-only change. Headers come from
/usr/include (a toolchain system directory); each target's link line is taken
from `pkg-config --libs absl_<name>`, and the rule fails with the name of the
missing .pc file if libabsl-dev is not installed.
"""

def _system_abseil_impl(rctx):
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "# Debian's abseil; see absl/*/BUILD.bazel.\n")
    packages = {}
    for label, pc_name in rctx.attr.targets.items():
        pkg, name = label.split(":")
        result = rctx.execute(["pkg-config", "--libs", "absl_" + pc_name])
        if result.return_code != 0:
            fail("pkg-config absl_%s failed (is libabsl-dev installed? run tools/setup.sh): %s" %
                 (pc_name, result.stderr))
        rule = "cc_library(\n    name = %r,\n    linkopts = %r,\n)\n" % (
            name,
            result.stdout.strip().split(" "),
        )
        packages.setdefault(pkg, []).append(rule)
    for pkg, rules in packages.items():
        rctx.file(
            pkg + "/BUILD.bazel",
            'package(default_visibility = ["//visibility:public"])\n\n' + "\n".join(rules),
        )

system_abseil = repository_rule(
    implementation = _system_abseil_impl,
    attrs = {
        # "absl/<package>:<target>" -> pkg-config name without the "absl_" prefix.
        "targets": attr.string_dict(mandatory = True),
    },
    local = True,
)
