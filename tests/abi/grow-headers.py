#!/usr/bin/env python3
"""usage: grow-headers.py OUTDIR HEADER...

Writes a copy of each public header into OUTDIR with one member added at the end of every struct
the caller sizes with struct_size: the headers of a "next" library version, so the ABI test can
build that library and run a program compiled against today's structs on it."""
import os
import sys

ADDED = {
    "of_lock_options": "uint64_t abi_test_added;",
    "of_lock_stats": "uint64_t abi_test_added;",
    "of_lock_provider_config": "uint64_t abi_test_added;",
    "of_lock_event": "uint64_t abi_test_added;",
    "of_lock_provider_ops": "void (*abi_test_added)(void *self);",
    "of_lock_redis_options": "uint64_t abi_test_added;",
    "of_ring_options": "uint64_t abi_test_added;",
    "of_ring_stats": "uint64_t abi_test_added;",
}

out_dir = sys.argv[1]
grown = set()
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    out = []
    for line in lines:
        stripped = line.strip()
        for name, member in ADDED.items():
            if stripped == "} %s;" % name:
                out.append("    %s /* newer than ABI 1 */\n" % member)
                grown.add(name)
        out.append(line)
    with open(os.path.join(out_dir, os.path.basename(path)), "w", encoding="utf-8") as f:
        f.writelines(out)
missing = set(ADDED) - grown
if missing:
    sys.exit("struct(s) not found, so not grown: " + ", ".join(sorted(missing)))
