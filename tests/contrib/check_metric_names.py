#!/usr/bin/env python3
"""Checks that monitoring files name only metrics Herald exposes.

usage: check_metric_names.py SOURCE_ROOT --dirs DIR... --files FILE... [--require NAME...]

The metrics Herald exposes are collected from the registration calls in the
source (metrics.get_counter / get_gauge / get_histogram("herald_..."), the
only way a metric reaches /metrics); a histogram exposes NAME_bucket,
NAME_sum and NAME_count. A .json file must parse (a Grafana dashboard: every
panel target has an expr); its expressions and template queries are
checked. Any other file is checked as text (Prometheus rules). --require
names metrics the files together must use. Exit 1 with the offending names.
"""
import argparse
import json
import os
import re
import sys

REGISTRATION = re.compile(r'get_(counter|gauge|histogram)\(\s*"(herald_[a-z0-9_]+)"')
METRIC = re.compile(r'\bherald_[a-z0-9_]+')


def exposed_metrics(root, dirs):
    names = {}
    for d in dirs:
        for base, _, files in os.walk(os.path.join(root, d)):
            for f in files:
                if not f.endswith(('.cpp', '.hpp')):
                    continue
                with open(os.path.join(base, f), encoding='utf-8') as src:
                    for kind, name in REGISTRATION.findall(src.read()):
                        names.setdefault(name, kind)
    exposed = set()
    for name, kind in names.items():
        if kind == 'histogram':
            exposed.update({name + '_bucket', name + '_sum', name + '_count'})
        else:
            exposed.add(name)
    return names, exposed


def dashboard_queries(path):
    with open(path, encoding='utf-8') as f:
        dashboard = json.load(f)  # raises on invalid JSON
    panels = [p for p in dashboard.get('panels', []) if p.get('type') != 'row']
    if not panels:
        raise SystemExit(f'{path}: no panels')
    queries = []
    for p in panels:
        targets = p.get('targets') or []
        if not targets:
            raise SystemExit(f'{path}: panel "{p.get("title")}" has no targets')
        for t in targets:
            if not t.get('expr'):
                raise SystemExit(f'{path}: panel "{p.get("title")}" has a target without expr')
            queries.append(t['expr'])
    for var in dashboard.get('templating', {}).get('list', []):
        q = var.get('query')
        if isinstance(q, dict):
            q = q.get('query')
        if var.get('type') == 'query' and q:
            queries.append(q)
    return queries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('root')
    ap.add_argument('--dirs', nargs='+', required=True)
    ap.add_argument('--files', nargs='+', required=True)
    ap.add_argument('--require', nargs='*', default=[])
    args = ap.parse_args()

    registered, exposed = exposed_metrics(args.root, args.dirs)
    # A scan that finds (almost) nothing would let every file pass.
    if len(registered) < 20 or 'herald_http_requests_total' not in registered:
        print(f'found only {len(registered)} metric registrations under {args.dirs}', file=sys.stderr)
        return 1

    used = set()
    bad = False
    for path in args.files:
        if path.endswith('.json'):
            texts = dashboard_queries(path)
        else:
            with open(path, encoding='utf-8') as f:
                texts = [f.read()]
        names = {m for t in texts for m in METRIC.findall(t)}
        unknown = sorted(names - exposed)
        if unknown:
            bad = True
            print(f'{path}: not exposed by Herald: {", ".join(unknown)}', file=sys.stderr)
        print(f'{path}: {len(names)} metrics, all exposed' if not unknown else f'{path}: {len(names)} metrics')
        used |= names
    missing = sorted(set(args.require) - used)
    if missing:
        bad = True
        print(f'not used by any file: {", ".join(missing)}', file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
