#!/usr/bin/env python3
"""Instructions per call of one function in a callgrind file: its inclusive cost divided by how
many times it was called (summed over its callers), which is exact whatever the benchmark
harness's warm-up runs did. usage: bench/per_call.py CALLGRIND_FILE FUNCTION_SUBSTRING"""
import re
import subprocess
import sys

path, wanted = sys.argv[1], sys.argv[2]
out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=caller", "--threshold=100", path],
                     capture_output=True, text=True).stdout
inclusive = None
calls = 0
block = []
for line in out.splitlines():
    if " *  " in line:
        name = line.split(" *  ", 1)[1]
        if wanted in name and inclusive is None:
            inclusive = int(line.split()[0].replace(",", ""))
            for caller in block:
                m = re.search(r"\((\d[\d,]*)x\)", caller)
                if m:
                    calls += int(m.group(1).replace(",", ""))
            print(name[:140])
            break
        block = []
    elif line.lstrip().startswith(tuple("0123456789")) and " < " in line:
        block.append(line)
    elif not line.strip():
        block = []
if inclusive is None or calls == 0:
    sys.exit(f"{wanted}: not found, or no calls recorded")
print(f"{inclusive:,} instructions in {calls:,} calls: {inclusive / calls:,.0f} per call")
