#!/usr/bin/env python3
"""cnnmem against PyTorch 1.13 on the same machine, in alternating runs, printing ratios.

For every case (model, batch, optimizer, threads, steps) it runs, N rounds, alternately:
  build/cnnmem train --model M --data D --max-steps K+1 --batch B --optimizer O --threads T
                     --no-eval --json
  /usr/bin/python3 ../shared/peers/torch_baseline.py --model M --batch B --steps K --threads T
                     --optimizer O
Both time K steps after one warm-up step (cnnmem's images_per_sec excludes its first step; the
baseline runs one untimed step first). Images/s and peak RSS (cnnmem: outside_arena.rss_peak_bytes,
PyTorch: ru_maxrss) are reported as medians over the rounds, with min-max, and as ratios
cnnmem / PyTorch. Data: Fashion-MNIST for lenet5 and vgg-mini (as the baseline), synthetic for
vgg16 (the baseline uses random tensors).

Inference: a case model:batch:infer:threads:passes compares `cnnmem infer --model M --batch B
--repeat K --threads T --json` (images/s from ms_per_image, one untimed pass first) with the
baseline's --mode infer. It runs only when the cnnmem binary has an `infer` command (older builds
lack it); otherwise the inference cases are skipped with a note, and build-bench/step_bench
(infer/*) measures the inference pass in-process.

The machine's 2 vCPUs are shared: run the cases you care about side by side, read ratios, and
look at the min-max spread before trusting a number. With 2 threads, OpenMP's barrier waits can
cost a scheduler time slice each when a core is taken by another process; the 1-thread case of
the same model shows whether that happened.

Usage:
  bench/compare_torch.py                       # the issue's default cases, 3 rounds (< 10 min)
  bench/compare_torch.py --case vgg-mini:64:adam:2:20 --case lenet5:64:adam:1:100 --rounds 5
  bench/compare_torch.py --cnnmem build-bench/cnnmem --json results.json
  bench/compare_torch.py --env OMP_WAIT_POLICY=passive --case vgg-mini:64:adam:2:15
A case is model:batch:optimizer:threads:steps, or model:batch:infer:threads:passes.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_SCRIPT = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'peers', 'torch_baseline.py'))

# The targets (issue 7): (case, what it is for).
DEFAULT_CASES = [
    ('vgg-mini:64:adam:2:15', 'vgg-mini train b64 adam, 2 threads (target >= 2.0x)'),
    ('vgg-mini:64:adam:1:15', 'vgg-mini train b64 adam, 1 thread (scaling 1->2 >= 1.7x)'),
    ('lenet5:64:adam:2:60', 'lenet5 train b64 adam, 2 threads (target >= 3x)'),
    ('lenet5:64:adam:1:60', 'lenet5 train b64 adam, 1 thread'),
    ('vgg16:4:sgd:2:3', 'vgg16 train b4 sgd, 2 threads (target >= 1.5x)'),
    ('vgg16:4:adam:2:1', 'vgg16 train b4 adam: peak RSS (target <= 0.75x)'),
    ('vgg16:1:infer:2:5', 'vgg16 inference b1, 2 threads (target >= 1.3x)'),
]


def parse_case(text):
    parts = text.split(':')
    if len(parts) != 5:
        raise SystemExit(f'--case {text}: expected model:batch:optimizer:threads:steps')
    model, batch, opt, threads, steps = parts
    return {'model': model, 'batch': int(batch), 'optimizer': opt, 'threads': int(threads),
            'steps': int(steps), 'name': text}


EXTRA_ENV = {}


def run_json(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **EXTRA_ENV))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}')
    # The last line that parses as JSON (PyTorch may print warnings first).
    text = p.stdout.strip()
    try:
        return json.loads(text), wall
    except json.JSONDecodeError:
        for line in reversed(text.splitlines()):
            try:
                return json.loads(line), wall
            except json.JSONDecodeError:
                continue
    raise RuntimeError(f'{" ".join(cmd)}: no JSON in output:\n{text[-2000:]}')


def has_infer(cnnmem):
    p = subprocess.run([cnnmem, 'infer', '--help'], capture_output=True, text=True)
    return p.returncode == 0 and '--repeat' in p.stdout


def run_cnnmem(args, c):
    if c['optimizer'] == 'infer':
        cmd = [args.cnnmem, 'infer', '--model', c['model'], '--batch', str(c['batch']),
               '--repeat', str(c['steps']), '--threads', str(c['threads']), '--json']
        j, wall = run_json(cmd)
        return {'images_per_sec': 1e3 / j['ms_per_image'],
                'rss_peak_bytes': j['outside_arena']['rss_peak_bytes'], 'wall_s': wall}
    data = 'synthetic' if c['model'] == 'vgg16' else 'fashion-mnist'
    cmd = [args.cnnmem, 'train', '--model', c['model'], '--data', data,
           '--max-steps', str(c['steps'] + 1), '--batch', str(c['batch']),
           '--optimizer', c['optimizer'], '--threads', str(c['threads']), '--no-eval', '--json']
    j, wall = run_json(cmd)
    return {'images_per_sec': j['images_per_sec'],
            'rss_peak_bytes': j['outside_arena']['rss_peak_bytes'],
            'arena_peak_bytes': j.get('measured', {}).get('peak_bytes'), 'wall_s': wall}


def run_torch(args, c):
    cmd = [args.python, args.torch_script, '--model', c['model'], '--batch', str(c['batch']),
           '--steps', str(c['steps']), '--threads', str(c['threads'])]
    cmd += ['--mode', 'infer'] if c['optimizer'] == 'infer' else ['--optimizer', c['optimizer']]
    j, wall = run_json(cmd)
    return {'images_per_sec': j['images_per_sec'], 'rss_peak_bytes': j['rss_peak_bytes'],
            'wall_s': wall}


def cpu_share():
    """Share of one core this process gets while busy for 0.1 s: 1.0 on an idle machine, about
    0.5 when another busy process shares the core. Recorded before every run."""
    w0, c0 = time.perf_counter(), time.process_time()
    x = 0
    while time.perf_counter() - w0 < 0.1:
        x += 1
    return (time.process_time() - c0) / (time.perf_counter() - w0)


def med(values):
    return statistics.median(values) if values else float('nan')


def mib(b):
    return b / 2**20


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cnnmem', default=os.path.join(ROOT, 'build', 'cnnmem'))
    p.add_argument('--python', default='/usr/bin/python3', help='the Python with torch 1.13')
    p.add_argument('--torch-script', default=TORCH_SCRIPT)
    p.add_argument('--case', action='append', help='model:batch:optimizer:threads:steps')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--json', help='also write every run to this file')
    p.add_argument('--env', action='append', default=[],
                   help='KEY=VALUE for both programs, e.g. OMP_WAIT_POLICY=passive')
    args = p.parse_args()
    for kv in args.env:
        k, _, v = kv.partition('=')
        EXTRA_ENV[k] = v
    if not os.path.exists(args.cnnmem):
        raise SystemExit(f'{args.cnnmem} does not exist: build it or pass --cnnmem')
    cases = [parse_case(c) for c in args.case] if args.case else \
        [dict(parse_case(c), about=about) for c, about in DEFAULT_CASES]
    skipped = []
    if any(c['optimizer'] == 'infer' for c in cases) and not has_infer(args.cnnmem):
        skipped = [c['name'] for c in cases if c['optimizer'] == 'infer']
        cases = [c for c in cases if c['optimizer'] != 'infer']

    runs = {c['name']: {'cnnmem': [], 'torch': []} for c in cases}
    shares, loads = [], []
    t_start = time.perf_counter()
    for r in range(args.rounds):
        for c in cases:
            # Alternate which framework goes first, so neither always follows the other.
            order = ['cnnmem', 'torch'] if (r % 2 == 0) else ['torch', 'cnnmem']
            for fw in order:
                shares.append(cpu_share())
                loads.append(os.getloadavg()[0])
                res = run_cnnmem(args, c) if fw == 'cnnmem' else run_torch(args, c)
                runs[c['name']][fw].append(res)
                print(f'round {r + 1} {c["name"]:24s} {fw:6s} {res["images_per_sec"]:9.2f} img/s '
                      f'rss {mib(res["rss_peak_bytes"]):7.1f} MiB  ({res["wall_s"]:.1f} s)',
                      file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t_start

    print(f'\ncnnmem: {args.cnnmem}\nPyTorch: {args.python} {args.torch_script}')
    if EXTRA_ENV:
        print('environment for both: ' + ' '.join(f'{k}={v}' for k, v in EXTRA_ENV.items()))
    print(f'{args.rounds} rounds, alternating; medians (min-max); {elapsed:.0f} s in all; '
          f'one-core share before each run: median {med(shares):.2f} (min {min(shares):.2f}); '
          f'load average {min(loads):.1f}-{max(loads):.1f}\n')
    header = ('| case | cnnmem img/s | PyTorch img/s | speed ratio | cnnmem peak RSS MiB | '
              'PyTorch peak RSS MiB | RSS ratio |')
    print(header)
    print('|' + '---|' * 7)
    summary = {}
    for c in cases:
        a, t = runs[c['name']]['cnnmem'], runs[c['name']]['torch']
        ai = [x['images_per_sec'] for x in a]
        ti = [x['images_per_sec'] for x in t]
        ar = [x['rss_peak_bytes'] for x in a]
        tr = [x['rss_peak_bytes'] for x in t]
        # Ratio per round (same conditions), then the median of the ratios.
        sr = med([x / y for x, y in zip(ai, ti)])
        rr = med([x / y for x, y in zip(ar, tr)])
        summary[c['name']] = {'cnnmem_ips': med(ai), 'torch_ips': med(ti), 'speed_ratio': sr,
                              'cnnmem_rss': med(ar), 'torch_rss': med(tr), 'rss_ratio': rr}
        print(f'| {c["name"]} | {med(ai):.1f} ({min(ai):.1f}-{max(ai):.1f}) | '
              f'{med(ti):.1f} ({min(ti):.1f}-{max(ti):.1f}) | {sr:.2f}x | '
              f'{mib(med(ar)):.0f} | {mib(med(tr)):.0f} | {rr:.2f}x |')

    # Thread scaling: the same model, batch and optimizer at 1 and 2 threads.
    pairs = {}
    for c in cases:
        pairs.setdefault((c['model'], c['batch'], c['optimizer']), {})[c['threads']] = c['name']
    lines = []
    for (model, batch, opt), by_t in pairs.items():
        if 1 in by_t and 2 in by_t:
            one, two = runs[by_t[1]], runs[by_t[2]]
            cs = med([x['images_per_sec'] for x in two['cnnmem']]) / \
                med([x['images_per_sec'] for x in one['cnnmem']])
            ts = med([x['images_per_sec'] for x in two['torch']]) / \
                med([x['images_per_sec'] for x in one['torch']])
            lines.append(f'| {model} b{batch} {opt} | {cs:.2f}x | {ts:.2f}x |')
    if lines:
        print('\n| 1 -> 2 threads | cnnmem speed-up | PyTorch speed-up |\n|---|---|---|')
        print('\n'.join(lines))
    if skipped:
        print(f'\nInference: {", ".join(skipped)} skipped: {args.cnnmem} has no `infer` command yet.')

    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'cases': cases, 'runs': runs, 'summary': summary, 'cpu_shares': shares, 'loads': loads,
                       'rounds': args.rounds, 'elapsed_s': elapsed}, f, indent=1)


if __name__ == '__main__':
    main()
