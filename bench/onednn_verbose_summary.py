#!/usr/bin/env python3
"""Where a cnnmem step's time goes, from ONEDNN_VERBOSE: the primitive time split.

Runs `cnnmem train ... --json` with ONEDNN_VERBOSE set (or reads a saved log), splits the exec
lines into steps (a step starts at each repeat of the first forward primitive; what comes before
is set-up: weight initialisation reorders), and prints for the steady steps (all but the first):
calls and milliseconds per step by primitive kind / implementation / propagation, every reorder
with its layouts, the slowest individual calls, and the sum of exec times against the step's
wall time (from the JSON's images_per_sec). Verbose printing itself slows a step down a little;
compare against a run without it.

Not here: kernels' internals (use perf), the framework's own loops (bench/ceiling_bench profile).

Usage:
  bench/onednn_verbose_summary.py [--cnnmem build/cnnmem] [--level 1] -- train --model vgg-mini \
      --data synthetic --max-steps 3 --batch 64 --optimizer adam --threads 2 --no-eval --json
  bench/onednn_verbose_summary.py --log saved_output.txt
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(text):
    execs, creates, rest = [], [], []
    for line in text.splitlines():
        if not line.startswith('onednn_verbose,'):
            rest.append(line)
            continue
        f = line.split(',')
        if len(f) < 10:
            continue
        if f[1] == 'exec':
            # exec,engine,primitive,impl,prop,mds,attrs,aux,problem,time
            execs.append({'kind': f[3], 'impl': f[4], 'prop': f[5], 'mds': f[6],
                          'aux': f[8], 'problem': f[9], 'ms': float(f[-1])})
        elif f[1].startswith('create'):
            creates.append({'kind': f[3], 'impl': f[4], 'prop': f[5], 'problem': f[9],
                            'ms': float(f[-1]), 'how': f[1]})
    return execs, creates, '\n'.join(rest)


def layouts(mds):
    """'src_f32::blocked:ABcd16b16a:f0 dst_f32::blocked:ABcd16a16b:f0' -> 'ABcd16b16a->ABcd16a16b'"""
    tags = [m.split(':')[3] if m.count(':') >= 3 else m for m in mds.split()]
    return '->'.join(tags)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cnnmem', default=os.path.join(ROOT, 'build', 'cnnmem'))
    p.add_argument('--level', default='1', help='ONEDNN_VERBOSE level (2 adds create lines)')
    p.add_argument('--log', help='read this saved output instead of running cnnmem')
    p.add_argument('--top', type=int, default=12)
    p.add_argument('args', nargs=argparse.REMAINDER, help='-- cnnmem arguments')
    a = p.parse_args()
    if a.log:
        text = open(a.log).read()
        cmd = None
    else:
        args = a.args[1:] if a.args and a.args[0] == '--' else a.args
        if not args:
            args = ('train --model vgg-mini --data synthetic --max-steps 3 --batch 64 '
                    '--optimizer adam --threads 2 --no-eval --json').split()
        cmd = [a.cnnmem] + args
        env = dict(os.environ, ONEDNN_VERBOSE=a.level)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            sys.exit(f'{" ".join(cmd)} failed:\n{r.stderr[-2000:]}')
        text = r.stdout
    execs, creates, rest = parse(text)
    if not execs:
        sys.exit('no onednn_verbose exec lines')
    first_fwd = next(i for i, e in enumerate(execs) if e['prop'].startswith('forward'))
    sig = lambda e: (e['kind'], e['impl'], e['prop'], e['problem'])
    starts = [i for i in range(first_fwd, len(execs)) if sig(execs[i]) == sig(execs[first_fwd])]
    steps = [execs[s:e] for s, e in zip(starts, starts[1:] + [len(execs)])]
    setup = execs[:first_fwd]
    steady = steps[1:] if len(steps) > 1 else steps
    n = len(steady)

    step_ms = None
    try:
        j = json.loads(rest[rest.index('{'):])
        if j.get('images_per_sec'):
            step_ms = 1e3 * j['batch'] / j['images_per_sec']
    except (ValueError, KeyError):
        pass

    if cmd:
        print('command: ONEDNN_VERBOSE=%s %s' % (a.level, ' '.join(cmd)))
    print(f'set-up calls (before step 1): {len(setup)}, {sum(e["ms"] for e in setup):.1f} ms')
    for k, s in enumerate(steps):
        print(f'step {k + 1}: {len(s)} primitive calls, sum of exec times '
              f'{sum(e["ms"] for e in s):.1f} ms')
    sums = [sum(e['ms'] for e in s) for s in steady]
    print(f'\nsteady steps ({n}): median sum of exec times {statistics.median(sums):.1f} ms per step'
          + (f'; wall time per step (JSON, steps after the first) {step_ms:.1f} ms: '
             f'{100 * statistics.median(sums) / step_ms:.0f}% inside primitives' if step_ms else ''))

    groups = collections.OrderedDict()
    for s in steady:
        for e in s:
            key = (e['kind'], e['prop'], e['impl'])
            g = groups.setdefault(key, [0, 0.0])
            g[0] += 1
            g[1] += e['ms']
    total = sum(g[1] for g in groups.values())
    print('\n| primitive | prop | implementation | calls/step | ms/step | share |')
    print('|---|---|---|---|---|---|')
    for (kind, prop, impl), (c, ms) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        print(f'| {kind} | {prop} | {impl} | {c / n:.0f} | {ms / n:.2f} | {100 * ms / total:.1f}% |')

    # Per position in the step (same call in every steady step): reorders and the slowest calls.
    per_pos = []
    for i, e in enumerate(steady[0]):
        times = [s[i]['ms'] for s in steady if i < len(s)]
        per_pos.append((statistics.median(times), i, e))
    reorders = [x for x in per_pos if x[2]['kind'] == 'reorder']
    print(f'\nreorders inside a step: {len(reorders)} calls, '
          f'{sum(x[0] for x in reorders):.2f} ms per step (medians)')
    print('| # | layouts | dims | ms |')
    print('|---|---|---|---|')
    for ms, i, e in reorders:
        print(f'| {i} | {layouts(e["mds"])} | {e["problem"]} | {ms:.3f} |')
    print(f'\nslowest {a.top} calls (median over steady steps):')
    print('| # | primitive | prop | problem | ms |')
    print('|---|---|---|---|---|')
    for ms, i, e in sorted(per_pos, key=lambda x: -x[0])[:a.top]:
        print(f'| {i} | {e["kind"]} {e["impl"]} | {e["prop"]} | {e["problem"]} | {ms:.2f} |')
    if creates:
        late = [c for c in creates if c['how'] != 'create:cache_hit']
        print(f'\ncreate lines: {len(creates)} ({len(late)} cache misses), '
              f'{sum(c["ms"] for c in creates):.1f} ms in all')


if __name__ == '__main__':
    main()
