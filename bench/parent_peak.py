"""Run bce in this process and report this process's own peak memory and CPU time.

    .venv/bin/python bench/parent_peak.py compute shards/ --workers 2 --metrics

GNU time's %M is the largest process of the tree it waits for, and `--workers`'
processes are bce's children, so the parent's own peak needs its own
`getrusage(RUSAGE_SELF)`. bce runs as its console script does (`bcecli.__main__`);
once it has written its result, the last line of stderr is `parent-peak ` and a
JSON object: the parent's peak RSS (MiB) and CPU seconds, and those of its
children (the largest child's peak, all children's CPU). `bench/run.py --only
workers` runs it.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys


def report() -> None:
    """The figures, on stderr (bce's exit handlers run before it ends the process)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("parent-peak " + json.dumps({
        "parent_mib": me.ru_maxrss / 1024, "parent_cpu": me.ru_utime + me.ru_stime,
        "children_mib": children.ru_maxrss / 1024,
        "children_cpu": children.ru_utime + children.ru_stime}), file=sys.stderr)


if __name__ == "__main__":
    atexit.register(report)
    from bcecli.__main__ import main

    main()
