#!/usr/bin/env python3
"""layers.py: the source tree keeps its layers (run by tests/lint.sh).

Each folder is one layer or one program, and #include "..." points down only:
  protocol/           pure codecs: includes nothing of ours outside protocol/
  pinentry/, keystore/  protocol/ and their own folder (not each other)
  agent/              the daemon: keystore/, pinentry/, protocol/, agent/
  agent/cli/          tpm-key: keystore/, pinentry/, protocol/, agent/cli/ (not the daemon)
and no two modules include each other, directly or round a longer circle. A module is
a .c and its .h; a private header X_internal.h or X_int.h belongs to module X.
Prints each violation; exit 1 when there is one."""
import glob
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ALLOWED = {
    "protocol": {"protocol"},
    "pinentry": {"pinentry", "protocol"},
    "keystore": {"keystore", "protocol"},
    "agent": {"agent", "keystore", "pinentry", "protocol"},
    "agent/cli": {"agent/cli", "keystore", "pinentry", "protocol"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module(path):
    d, base = os.path.split(path)
    base = re.sub(r"_(internal|int)$", "", os.path.splitext(base)[0])
    return os.path.join(d, base)


def main():
    problems = []
    graph = {}
    for layer in ALLOWED:
        for f in sorted(glob.glob(os.path.join(ROOT, layer, "*.[ch]"))):
            rel = os.path.relpath(f, ROOT)
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
            for inc in INCLUDE.findall(text):
                target = os.path.normpath(os.path.join(layer, inc))
                if not os.path.exists(os.path.join(ROOT, target)):
                    continue  # generated (build/gen) or a system header in quotes
                tlayer = os.path.dirname(target)
                if tlayer not in ALLOWED[layer]:
                    problems.append("%s includes %s: %s/ may not depend on %s/"
                                    % (rel, target, layer, tlayer))
                a, b = module(rel), module(target)
                if a != b:
                    graph.setdefault(a, set()).add(b)
    problems += ["include circle: " + " -> ".join(c) for c in circles(graph)]
    for p in problems:
        print("layers: " + p, file=sys.stderr)
    if not problems:
        print("layers: %d modules, includes point down, no circles" % len(graph))
    return 1 if problems else 0


def circles(graph):
    """One circle per strongly connected component with more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(path_round(graph, set(comp)))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def path_round(graph, comp):
    """A concrete circle inside comp, for the message."""
    start = min(comp)
    prev, queue, seen = {}, [start], {start}
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in comp and w not in seen:
                seen.add(w)
                prev[w] = v
                queue.append(w)
    return sorted(comp)


if __name__ == "__main__":
    sys.exit(main())
