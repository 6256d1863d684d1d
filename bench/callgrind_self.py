#!/usr/bin/env python3
"""Self cost per function from a callgrind output file (callgrind_annotate 3.19 misattributes
self cost in dumps taken after `callgrind_control -z`). usage: callgrind_self.py FILE [TOP]
With --calls PATTERN...: inclusive cost per call of the functions whose name holds a pattern,
e.g. `callgrind_self.py callgrind.out --calls 'gate::decide(' 'hubspot::extract('` on a run of
hubgate_decision_bench gives instructions per decision.
With --names OBJECT: the name of every function of OBJECT (a path ending, e.g. hubgate) that ran,
most instructions first, one a line (bench/callgrind.sh --code-order; take the file with --demangle=no).
With --callers PATTERN...: for the functions whose name holds a pattern, each caller's calls and the
instructions they cost (inclusive), e.g. `--callers __memcpy_avx_unaligned_erms` says who copies
(callgrind_annotate's --tree=caller shows nothing in a dump taken after `callgrind_control -z`)."""
import re, sys, collections
names = {}
def resolve(kind, text):
    m = re.match(r'\((\d+)\)(?: (.*))?', text)
    if not m:
        return text
    key = (kind, m.group(1))
    if m.group(2):
        names[key] = m.group(2)
    return names.get(key, text)
self_cost = collections.Counter()
calls = collections.Counter()
inclusive = collections.Counter()
edge_calls = collections.Counter()
edge_inclusive = collections.Counter()
fn = None
object_of = {}
current_object = None
callee = None
in_call = 0
for line in open(sys.argv[1], errors='replace'):
    line = line.rstrip('\n')
    if line.startswith('fn='):
        fn = resolve('fn', line[3:]); in_call = False
        object_of.setdefault(fn, current_object)
    elif line.startswith('ob='):
        current_object = resolve('ob', line[3:])
    elif line.startswith('cob='):
        resolve('ob', line[4:])
    elif line.startswith(('cfn=', 'cfi=', 'cfl=')):
        if line.startswith('cfn='):
            callee = resolve('fn', line[4:])
    elif line.startswith('calls='):
        in_call = int(line[6:].split()[0])
    elif line and (line[0].isdigit() or line[0] in '+-*'):
        parts = line.split()
        if in_call:
            # the line after calls= is the inclusive cost of the call
            cost = int(parts[1]) if len(parts) >= 2 else 0
            calls[callee] += in_call
            inclusive[callee] += cost
            edge_calls[(fn, callee)] += in_call
            edge_inclusive[(fn, callee)] += cost
            in_call = 0
            continue
        if fn and len(parts) >= 2:
            self_cost[fn] += int(parts[1])
if len(sys.argv) > 2 and sys.argv[2] == '--calls':
    for pattern in sys.argv[3:]:
        for name in sorted(n for n in calls if pattern in n):
            print(f'{inclusive[name] / calls[name]:>14,.0f} Ir/call {calls[name]:>9,} calls  {name[:150]}')
    sys.exit(0)
if len(sys.argv) > 2 and sys.argv[2] == '--names':
    seen = set()
    for name, c in self_cost.most_common():
        name = re.sub(r"'\d+$", '', name)  # callgrind's mark of a recursion level
        if c > 0 and not name.startswith('(') and (object_of.get(name) or '').endswith(sys.argv[3]) and name not in seen:
            seen.add(name)
            print(name)
    sys.exit(0)
if len(sys.argv) > 2 and sys.argv[2] == '--callers':
    for pattern in sys.argv[3:]:
        for edge in sorted((e for e in edge_calls if pattern in e[1]), key=lambda e: -edge_inclusive[e])[:20]:
            print(f'{edge_inclusive[edge]:>14,} Ir {edge_calls[edge]:>9,} calls  {edge[0][:100]}  ->  {edge[1][:60]}')
    sys.exit(0)
total = sum(self_cost.values())
top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
print(f'total self Ir {total:,}')
for name, c in self_cost.most_common(top):
    print(f'{c:>14,} {100*c/total:5.1f}%  {name[:150]}')
