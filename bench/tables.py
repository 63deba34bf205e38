#!/usr/bin/env python3
"""Markdown tables for bench/RESULTS.md from the raw output of bench/run_all.sh.

Reads the Google Benchmark console output (3 repetitions, aggregates: the *_median rows) and
prints one table per suite, threads 1 and 2 side by side.
  bench/tables.py [/tmp/cnnmem-bench]
Not here: running anything (bench/run_all.sh), the PyTorch table (compare_torch.py prints it).
"""
import os
import re
import sys

ROW = re.compile(r'^(\S+?)(?:/min_time:[\d.]+)?(?:/iterations:\d+)?/real_time_median\s+([\d.]+) (\w+)\s+'
                 r'([\d.]+) (\w+)\s+\d+\s*(.*)$')
SCALE = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}
SI = {'k': 1e3, 'M': 1e6, 'G': 1e9, 'm': 1e-3, 'u': 1e-6, '': 1.0}


def number(text):
    m = re.match(r'^(-?[\d.]+)([kMGmu]?)(?:/s)?%?$', text)
    return float(m.group(1)) * SI[m.group(2)] if m else None


def read(path):
    rows = {}
    if not os.path.exists(path):
        return rows
    for line in open(path):
        m = ROW.match(line.strip())
        if not m:
            continue
        name, t, tu, c, cu, rest = m.groups()
        counters = {}
        for kv in rest.split():
            k, _, v = kv.partition('=')
            counters[k] = number(v)
        rows[name] = {'ms': float(t) * SCALE[tu], 'cpu_ms': float(c) * SCALE[cu], **counters}
    return rows


def split_threads(name):
    base, _, t = name.rpartition('/threads:')
    return base, int(t)


def by_base(rows):
    out = {}
    for name, r in rows.items():
        base, t = split_threads(name)
        out.setdefault(base, {})[t] = r
    return out


def f(x, digits=2):
    return '—' if x is None else f'{x:.{digits}f}'


def step_table(rows):
    print('| benchmark | 1 thread ms (cpu ms) | img/s | GFLOP/s | 2 threads ms (cpu ms) | img/s | '
          'GFLOP/s | arena peak MiB |')
    print('|---|---|---|---|---|---|---|---|')
    for base, t in sorted(by_base(rows).items()):
        one, two = t.get(1, {}), t.get(2, {})
        peak = (one or two).get('peak_bytes')
        print(f'| {base} | {f(one.get("ms"), 1)} ({f(one.get("cpu_ms"), 1)}) | '
              f'{f(one.get("items_per_second"), 0)} | {f((one.get("FLOPS") or 0) / 1e9, 1)} | '
              f'{f(two.get("ms"), 1)} ({f(two.get("cpu_ms"), 1)}) | '
              f'{f(two.get("items_per_second"), 0)} | {f((two.get("FLOPS") or 0) / 1e9, 1)} | '
              f'{f((peak or 0) / 2**20, 1)} |')


def ceiling_table(rows):
    print('| case | threads | step ms | replay of all ops ms | ceiling ms | custom ops ms | '
          'overhead ms (step - ceiling) | overhead % | step cpu ms | ceiling cpu ms | '
          'overhead % (cpu) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for name, r in sorted(rows.items()):
        if '/side_by_side' not in name:
            continue
        base, t = split_threads(name)
        print(f'| {base.replace("/side_by_side", "")} | {t} | {f(r["step_ms"])} | {f(r["all_ms"])} | '
              f'{f(r["ceiling_ms"])} | {f(r["custom_ms"])} | {f(r["overhead_ms"])} | '
              f'{f(r["overhead_pct"], 1)} | {f(r["step_cpu_ms"])} | {f(r["ceiling_cpu_ms"])} | '
              f'{f(r["overhead_cpu_pct"], 1)} |')


def profile_table(rows):
    profiles = {name: r for name, r in rows.items() if '/profile/' in name}
    cats = sorted({k for r in profiles.values() for k in r if k.endswith('_ms') and
                   k not in ('ms', 'cpu_ms', 'total_ms')})
    names = sorted(profiles)
    print('| category (ms per step) | ' + ' | '.join(n.replace('/b64/adam/profile', '')
                                                    for n in names) + ' |')
    print('|---|' + '---|' * len(names))
    for c in cats:
        print(f'| {c[:-3]} | ' + ' | '.join(f(profiles[n].get(c), 3) for n in names) + ' |')
    print('| **total** | ' + ' | '.join(f(profiles[n].get('total_ms'), 2) for n in names) + ' |')


def layer_table(rows):
    print('| layer (batch) | part | 1 thread ms | GFLOP/s | 2 threads ms | GFLOP/s |')
    print('|---|---|---|---|---|---|')
    case_order = ['lenet5.conv1', 'lenet5.conv2', 'lenet5.fc1', 'vgg-mini.features.2',
                  'vgg-mini.features.3', 'vgg-mini.features.4', 'vgg-mini.classifier.0',
                  'vgg16.features.2', 'vgg16.classifier.0', 'resnet18.layer1.conv']
    part_order = ['fwd', 'bwd_data', 'bwd_weights', 'bwd', 'reorders', 'forward_pass', 'step']

    def key(item):
        _, case, _, part = item[0].split('/')
        return (case_order.index(case) if case in case_order else 99,
                part_order.index(part) if part in part_order else 99)

    for base, t in sorted(by_base(rows).items(), key=key):
        _, case, batch, part = base.split('/')
        one, two = t.get(1, {}), t.get(2, {})
        fl1 = one.get('FLOPS')
        fl2 = two.get('FLOPS')
        print(f'| {case} ({batch}) | {part} | {f(one.get("ms"), 3)} | '
              f'{f(fl1 / 1e9, 1) if fl1 else ""} | {f(two.get("ms"), 3)} | '
              f'{f(fl2 / 1e9, 1) if fl2 else ""} |')


def update_table(rows):
    print('| update op | 1 thread library us (cpu) | reference us (cpu) | speed-up | '
          '2 threads library us (wall) | reference us (wall) |')
    print('|---|---|---|---|---|---|')
    ops = {}
    for name, r in rows.items():
        base, t = split_threads(name)
        prefix, _, kind = base.rpartition('/')
        # One thread: CPU time, the work without waits for a core; two: wall time.
        ops.setdefault(prefix, {})[(kind, t)] = (r['cpu_ms'] if t == 1 else r['ms']) * 1e3
    for prefix, v in sorted(ops.items()):
        lib1, ref1 = v.get(('library', 1)), v.get(('reference', 1))
        print(f'| {prefix.replace("update/", "")} | {f(lib1, 1)} | {f(ref1, 1)} | '
              f'{f(lib1 / ref1 if lib1 and ref1 else None, 1)}x | '
              f'{f(v.get(("library", 2)), 1)} | {f(v.get(("reference", 2)), 1)} |')


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else '/tmp/cnnmem-bench'
    sections = [('step_bench', step_table), ('ceiling_bench', ceiling_table),
                ('ceiling_bench', profile_table), ('layers_bench', layer_table),
                ('update_bench', update_table)]
    for suite, fn in sections:
        rows = read(os.path.join(d, suite + '.txt'))
        if rows:
            print(f'\n### {suite} ({fn.__name__})\n')
            fn(rows)
    omp = read(os.path.join(d, 'omp_bench.txt'))
    if omp:
        print('\n### omp_bench\n\n| region | 1 thread us | 2 threads us |\n|---|---|---|')
        for base, t in sorted(by_base(omp).items()):
            print(f'| {base} | {f(t.get(1, {}).get("ms", 0) * 1e3, 2)} | '
                  f'{f(t.get(2, {}).get("ms", 0) * 1e3, 1)} |')


if __name__ == '__main__':
    main()
