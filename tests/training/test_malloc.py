"""keep_freed_memory: freed training buffers stay mapped (far fewer page faults), and users' own
glibc settings win. (The training summary's ``malloc`` field: tests/pipelines/test_language_model.py.)"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from seqtasks.training import malloc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux") or
                                os.confstr("CS_GNU_LIBC_VERSION") is None,
                                reason="glibc's mallopt")

# A step's pattern: a 1 MiB and a 48 MiB buffer (the latter over any mmap threshold glibc
# allows) allocated, written, freed.
FAULTS = textwrap.dedent("""
    import ctypes, json, resource, sys
    from seqtasks.training import malloc
    applied = malloc.keep_freed_memory() if sys.argv[1] == "keep" else "not called"
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        blocks = [(libc.malloc(size), size) for size in (1 << 20, 48 << 20)]
        for block, size in blocks:
            ctypes.memset(block, 1, size)
        for block, _ in blocks:
            libc.free(block)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(json.dumps({"applied": applied, "faults": faults}))
""")


def faults(mode, **env):
    environment = {k: v for k, v in os.environ.items() if k not in malloc.USER_VARIABLES}
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True,
                         env={**environment, "PYTHONPATH": ROOT, **env}, check=True)
    return json.loads(out.stdout)


@glibc_only
def test_freed_buffers_are_reused_instead_of_faulted_back_in():
    default, kept = faults("default"), faults("keep")
    pages = 20 * (49 << 20) // 4096
    assert kept["applied"] == "top_pad=64MiB,mmap_threshold=32MiB"
    # glibc's defaults map and unmap the large block every time: its pages fault each time.
    assert default["faults"] > 0.9 * pages
    # Kept: both come from the heap and its retained top, faulted in once.
    assert kept["faults"] < 0.2 * pages, (default, kept)


@glibc_only
def test_users_own_glibc_settings_are_left_alone():
    assert faults("keep", MALLOC_TOP_PAD_="131072")["applied"] == "user environment"

