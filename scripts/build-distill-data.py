#!/usr/bin/env python3
"""Builds the distillation transfer set and the BERT pair's held-out SST-2 train slice (issue #13).

A development tool: it reads the raw corpora in ../shared/data (SST-2 train and dev, MR) and writes

  data/distill_transfer.txt  unlabelled transfer texts (SST-2 train phrases and MR sentences)
  data/sst2_heldout.tsv      labelled SST-2 train rows neither BERT member was trained on as such

The README section "Distillation quality, measured" says what each set is; the script prints the
counts it quotes. numpy is needed only to rebuild the fixtures' sibling halves exactly
(fixtures/manifest.json: np.random.RandomState(1).permutation(67349), first 33,675 -> sibling-a).

Text identity ("is", "contains", "is contained in") is decided on a normalised form: lower case,
-lrb-/-rrb- as brackets, then every character that is not [a-z0-9] dropped, spaces included. That
form equates SST's "does n't" with MR's "doesn't" and can only over-report containment ("art" is
inside "heart"), so every exclusion below errs on the side of excluding.

Rules:
- Scoring rows = SST-2 dev (872) + the held-out slice. The slice: MR sentences are visited in a
  seeded random order; a sentence is skipped if it contains an SST-2 dev row or a tuning row
  (data/sst2_tune.tsv, data/mr_tune.tsv); otherwise its held-out row is the longest SST-2 train row
  of sibling-b's half (>= MIN_WORDS words) contained in it that no row of sibling-a's half contains
  (sibling-a never saw that text, not even inside a longer phrase). One row per sentence, so rows
  are not near-copies of each other.
- A transfer text is any SST-2 train row or MR sentence that (a) is not, does not contain and is
  not contained in a scoring row, (b) is not contained in an MR sentence a scoring row comes from
  (the MR sentences containing a dev row, and the slice's sentences: no transfer text is cut from a
  review snippet a scoring row was cut from), (c) is not a tuning row, (d) is not a duplicate.
"""
import bisect
import os
import re
import sys

import numpy as np

SHARED = os.environ.get('BERTFUSE_SHARED_DATA', os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data'))
ROOT = os.path.join(os.path.dirname(__file__), '..')
HELDOUT_ROWS = 1500
MIN_WORDS = 4
SEED = 13


def norm(s):
    s = s.lower().replace('-lrb-', '(').replace('-rrb-', ')')
    return ''.join(re.findall(r'[a-z0-9]+', s))


def read_tsv(path):
    rows = []
    with open(path, encoding='utf8') as f:
        next(f)
        for line in f:
            label, text = line.rstrip('\n').split('\t', 1)
            rows.append((int(label), text))
    return rows


def read_mr():
    out = []
    for name, label in (('rt-polarity.pos', 1), ('rt-polarity.neg', 0)):
        # Latin-1 with stray 0x85 bytes: split on \n only (str.splitlines would split on NEL too).
        with open(os.path.join(SHARED, name), 'rb') as f:
            for line in f.read().decode('latin-1').split('\n'):
                if line.strip():
                    out.append((label, line.strip()))
    return out


class Haystack:
    """Normalised texts joined by newlines: which of them contain a needle."""

    def __init__(self, texts):
        self.starts = []
        pos = 0
        for t in texts:
            self.starts.append(pos)
            pos += len(t) + 1
        self.big = '\n'.join(texts)

    def __contains__(self, needle):
        return needle != '' and needle in self.big

    def containing(self, needle):
        found = set()
        if needle == '':
            return found
        i = self.big.find(needle)
        while i >= 0:
            found.add(bisect.bisect_right(self.starts, i) - 1)
            i = self.big.find(needle, i + 1)
        return found


def main():
    train = read_tsv(os.path.join(SHARED, 'sst2_train.tsv'))
    dev = read_tsv(os.path.join(SHARED, 'sst2_dev.tsv'))
    mr = read_mr()
    tune = read_tsv(os.path.join(ROOT, 'data', 'sst2_tune.tsv')) + read_tsv(os.path.join(ROOT, 'data', 'mr_tune.tsv'))
    assert len(train) == 67349 and len(dev) == 872 and len(mr) == 10662, (len(train), len(dev), len(mr))
    perm = np.random.RandomState(1).permutation(len(train))
    half_a = np.zeros(len(train), dtype=bool)
    half_a[perm[:33675]] = True

    train_n = [norm(t) for _, t in train]
    mr_n = [norm(t) for _, t in mr]
    dev_n = [norm(t) for _, t in dev]
    tune_n = set(norm(t) for _, t in tune)
    mr_hay = Haystack(mr_n)
    a_hay = Haystack([n for n, a in zip(train_n, half_a) if a])

    # MR sentences containing a dev row or a tuning row.
    dev_groups = set()
    for d in dev_n:
        dev_groups |= mr_hay.containing(d)
    tune_groups = set()
    for t in tune_n:
        tune_groups |= mr_hay.containing(t)

    # Sibling-b's half: rows long enough, that no row of sibling-a's half contains.
    words = lambda s: len(re.findall(r'[a-z0-9]+', s.lower()))
    candidates = [i for i in range(len(train)) if not half_a[i] and words(train[i][1]) >= MIN_WORDS and train_n[i] not in a_hay and train_n[i] not in tune_n]
    by_group = {}
    for i in candidates:
        for g in mr_hay.containing(train_n[i]):
            by_group.setdefault(g, []).append(i)

    order = np.random.RandomState(SEED).permutation(len(mr))
    held, held_groups, used = [], set(), set()
    for g in order.tolist():
        if len(held) == HELDOUT_ROWS:
            break
        if g in dev_groups or g in tune_groups or g not in by_group:
            continue
        # Longest first; ties by row index, so the choice is reproducible.
        best = sorted(by_group[g], key=lambda i: (-len(train_n[i]), i))
        pick = next((i for i in best if train_n[i] not in used), None)
        if pick is None:
            continue
        used.add(train_n[pick])
        held.append(pick)
        held_groups.add(g)
    assert len(held) == HELDOUT_ROWS, len(held)

    scoring_n = dev_n + [train_n[i] for i in held]
    scoring_hay = Haystack(scoring_n)
    groups_hay = Haystack([mr_n[g] for g in sorted(dev_groups | held_groups)])
    pool = [(t, n, 'sst2-a' if a else 'sst2-b') for (_, t), n, a in zip(train, train_n, half_a)] + [(t, n, 'mr') for (_, t), n in zip(mr, mr_n)]
    pool_hay = Haystack([n for _, n, _ in pool])
    contains_scoring = set()
    for s in scoring_n:
        contains_scoring |= pool_hay.containing(s)
    seen = set()
    transfer = []
    why = {'contains a scoring row': 0, 'inside a scoring row': 0, 'inside a scoring row\'s MR sentence': 0, 'tuning row': 0, 'duplicate or empty': 0}
    for k, (t, n, src) in enumerate(pool):
        if n == '' or n in seen:
            why['duplicate or empty'] += 1
        elif k in contains_scoring:
            why['contains a scoring row'] += 1
        elif n in scoring_hay:
            why['inside a scoring row'] += 1
        elif n in groups_hay:
            why['inside a scoring row\'s MR sentence'] += 1
        elif n in tune_n:
            why['tuning row'] += 1
        else:
            seen.add(n)
            transfer.append((t, src))

    with open(os.path.join(ROOT, 'data', 'distill_transfer.txt'), 'w', encoding='utf8') as f:
        for t, _ in transfer:
            f.write(t + '\n')
    with open(os.path.join(ROOT, 'data', 'sst2_heldout.tsv'), 'w', encoding='utf8') as f:
        f.write('label\tsentence\n')
        for i in held:
            f.write(f'{train[i][0]}\t{train[i][1]}\n')

    count = lambda src: sum(1 for _, s in transfer if s == src)
    print(f'held-out slice: {len(held)} rows (sibling-b half, >= {MIN_WORDS} words, one per MR sentence; positive {sum(train[i][0] for i in held)})')
    print(f'  words per row: median {int(np.median([words(train[i][1]) for i in held]))}')
    mr_set = set(mr_n)
    print(f'  equal to an MR sentence (stranger-b trained on it): {sum(train_n[i] in mr_set for i in held)}; the others are inside one')
    print(f'  SST-2 dev rows equal to an MR sentence: {sum(d in mr_set for d in dev_n)}, inside one: {sum(d in mr_hay for d in dev_n)}')
    print(f'  MR sentences containing a dev row: {len(dev_groups)}, a tuning row: {len(tune_groups)}')
    print(f'transfer: {len(transfer)} texts ({count("sst2-a")} SST-2 train rows of sibling-a\'s half, {count("sst2-b")} of the other half, {count("mr")} MR sentences), {os.path.getsize(os.path.join(ROOT, "data", "distill_transfer.txt"))} bytes')
    for k, v in why.items():
        print(f'  excluded, {k}: {v}')


if __name__ == '__main__':
    sys.exit(main())
