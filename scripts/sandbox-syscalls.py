#!/usr/bin/python3
"""System calls per sandbox role, from `strace -ff -o DIR/t` output of a
server run with POSTERN_SANDBOX=off (docs/sandbox.md). For every process
that logged `event=sandbox role=R`, counts the calls after that line and
every call of the threads it created afterwards.

    POSTERN_SANDBOX=off POSTERN_BIN=$PWD/build/postern \\
        strace -ff -qq -s 160 -o /tmp/st/t python3 -m pytest -q tests/integration
    scripts/sandbox-syscalls.py /tmp/st
"""
import collections
import os
import re
import sys

CALL = re.compile(r'^(?:<\.\.\. )?([a-z_0-9]+)[( ]')
CLONE = re.compile(r'^clone3?\(.*\) = (\d+)$')
ROLE = re.compile(r'event=sandbox role=([a-z-]+)')


def main(d):
    files = {int(f.rsplit('.', 1)[1]): os.path.join(d, f)
             for f in os.listdir(d) if f.startswith('t.')}
    calls = collections.defaultdict(collections.Counter)
    args = collections.defaultdict(collections.Counter)
    threads = {}

    def count(role, line):
        m = CALL.match(line)
        if not m:
            return
        calls[role][m.group(1)] += 1
        if m.group(1) in ('ioctl', 'fcntl'):
            args[role][m.group(1) + ' ' + line.split(',')[1].strip(' )')] += 1
        c = CLONE.match(line)
        if c:
            threads[int(c.group(1))] = role

    for path in files.values():
        role = None
        with open(path, errors='replace') as f:
            for line in f:
                if role is not None:
                    count(role, line)
                elif line.startswith('write(') and ROLE.search(line):
                    role = ROLE.search(line).group(1)
    for tid, role in list(threads.items()):
        if tid in files:
            with open(files[tid], errors='replace') as f:
                for line in f:
                    count(role, line)
    for role in sorted(calls):
        print(f'== {role}: {len(calls[role])} calls')
        print(' '.join(sorted(calls[role])))
        print(' '.join(sorted(args[role])))


if __name__ == '__main__':
    main(sys.argv[1])
