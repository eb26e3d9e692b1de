"""Keep freed memory for reuse where the C library hands it back to the kernel too eagerly.

Reading a large file in blocks allocates and frees the same few megabytes per block (the block's
bytes, a lower-cased copy). glibc serves such sizes by mmap, or trims them off its heap when freed,
so every block's copies fault their pages in anew: about 1,000 page faults per 4 MiB block, some 10 %
of analyze-soak's CPU time (bench/soak.py; docs/design/performance.md). Two glibc settings keep
them instead: serve blocks up to `heap_up_to` from the heap, and trim the heap only past `trim_at`.
Elsewhere (no glibc, no ctypes) nothing changes."""
from __future__ import annotations

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3


def keep_freed_memory(heap_up_to: int = 32 << 20, trim_at: int = 128 << 20) -> bool:
    """True when the C library took both settings (glibc); False where it has no mallopt."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except Exception:  # noqa: BLE001 - no ctypes, no C library by that name, no mallopt (macOS, Windows)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, heap_up_to)) and bool(mallopt(M_TRIM_THRESHOLD, trim_at))
