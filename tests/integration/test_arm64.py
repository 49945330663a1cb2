"""`injector version` names the architecture and the linkage of the binary under test, and the
arm64 pass (`make check-arm64`) really runs an aarch64 binary, under qemu-user.

Every pass runs the version test against its own binary (dynamic x86-64, ASan, valgrind, the
aarch64 static one under qemu-aarch64-static). The guard runs only where the Makefile sets
INJECTOR_EXPECT_ARCH: a check-arm64 pointed at an x86-64 binary, or one that dropped the
emulator, would otherwise pass while testing nothing arm64."""
import os
import re

import pytest

from conftest import INJECTOR, WRAPPER, run
from test_image import elf_has_interp, elf_machine, image_binary

EXPECT_ARCH = os.environ.get("INJECTOR_EXPECT_ARCH")


def test_version_names_the_binarys_architecture_and_linkage(base_env):
    res = run(["version"], base_env)
    assert res.rc == 0, res
    first = res.out.splitlines()[0]
    m = re.fullmatch(r"injector (\S+) \((\S+), (static|dynamic)\)", first)
    assert m, first
    assert m.group(2) == elf_machine(INJECTOR), (first, INJECTOR)
    assert m.group(3) == ("dynamic" if elf_has_interp(INJECTOR) else "static"), first
    res = run(["--version"], base_env)
    assert res.rc == 0 and res.out.splitlines()[0] == first, res


@pytest.mark.skipif(not EXPECT_ARCH, reason="only in a pass that sets INJECTOR_EXPECT_ARCH")
def test_the_pass_runs_the_expected_architecture_under_its_emulator():
    assert elf_machine(INJECTOR) == EXPECT_ARCH, INJECTOR
    assert not elf_has_interp(INJECTOR), f"{INJECTOR} is not the static build"
    assert WRAPPER and os.path.basename(WRAPPER[0]) == f"qemu-{EXPECT_ARCH}-static", WRAPPER
    # The empty-chroot image tests of the same pass run the same binary.
    assert os.path.realpath(image_binary()) == os.path.realpath(INJECTOR), image_binary()
