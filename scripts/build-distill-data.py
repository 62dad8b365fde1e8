#!/usr/bin/env python3
"""Builds the distillation transfer set and the BERT pair's held-out SST-2 train slice (issue #13).

A development tool: it reads the raw corpora in ../shared/data (SST-2 train and dev, MR, SUBJ) and
writes

  data/distill_transfer.txt  unlabelled transfer texts (SST-2 train phrases and MR sentences)
  data/sst2_heldout.tsv      labelled SST-2 train rows neither BERT member was trained on as such
  data/sst2_slice_tune.tsv   tuning rows drawn exactly like the held-out slice ("slice twin")
  data/distill_transfer_subj.txt
                             SUBJ sentences (its labels unread) for the twin runs: more unlabelled
                             text under the same rules, none equal to an SST-2 train row or MR sentence
  data/distill_transfer_twin_excluded.txt
                             line numbers (1-based) of data/distill_transfer.txt that the runs tuned
                             on the twin leave out, so the twin is held out from their training
  data/mr_heldout.tsv        MR sentences (MR's labels) neither sibling of a sibling pair was
                             trained on: more held-out rows for those pairs than SST-2 dev's 872
  data/distill_transfer_mr_heldout_excluded.txt
                             line numbers of data/distill_transfer.txt the runs scored on them leave out

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
- The slice twin (a third tuning set for the BERT pair, drawn after everything above so the other
  files stay byte-identical): the slice's rule with its own seed, over the MR sentences that remain
  (none holds a dev row or a slice row, none is a slice sentence); its row is also not inside a
  scoring row or a scoring row's MR sentence, and is no slice row. Unlike the slice it may come from
  a sentence holding a row of the two other tuning sets (or be one): tuning rows need no distance
  from each other, and the slice left too few sentences otherwise (476). Transfer texts that break
  (a) or (b) for a twin row (is, contains or is inside a twin row; inside a twin row's MR sentence)
  are listed in data/distill_transfer_twin_excluded.txt; data/distill_transfer.txt is not rewritten
  (every earlier run was measured with it).
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
TWIN_ROWS = 1000
TWIN_SEED = 14
# An MR sentence holding an SST-2 train row this long (share of its normalised length) is not held out.
MR_HELDOUT_COVER = 0.3


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


def read_subj():
    """SUBJ's sentences without their labels (label<TAB>text, UTF-8)."""
    with open(os.path.join(SHARED, 'SUBJ.txt'), encoding='utf8') as f:
        return [line.split('\t', 1)[1].strip() for line in f.read().split('\n') if line.strip()]


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


def exclusions(texts, rows, sentences):
    """For each normalised text, the first rule it breaks against these rows, else None: it is or
    contains one ('contains'), it is inside one ('inside'), it is inside one of these MR sentences
    ('sentence': the sentences the rows were cut from)."""
    contains = set()
    texts_hay = Haystack(texts)
    for r in rows:
        contains |= texts_hay.containing(r)
    rows_hay, sentences_hay = Haystack(rows), Haystack(sentences)
    return ['contains' if k in contains else 'inside' if n in rows_hay else 'sentence' if n in sentences_hay else None for k, n in enumerate(texts)]


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
    candidates = [i for i in range(len(train)) if not half_a[i] and words(train[i][1]) >= MIN_WORDS and train_n[i] not in a_hay]

    def draw(seed, rows, skip, used, allowed):
        """One row per MR sentence, sentences in a seeded random order: (row indices, their sentences)."""
        by_group = {}
        for i in candidates:
            if allowed(i):
                for g in mr_hay.containing(train_n[i]):
                    by_group.setdefault(g, []).append(i)
        out, groups = [], set()
        for g in np.random.RandomState(seed).permutation(len(mr)).tolist():
            if len(out) == rows:
                break
            if g in skip or g not in by_group:
                continue
            # Longest first; ties by row index, so the choice is reproducible.
            best = sorted(by_group[g], key=lambda i: (-len(train_n[i]), i))
            pick = next((i for i in best if train_n[i] not in used), None)
            if pick is None:
                continue
            used.add(train_n[pick])
            out.append(pick)
            groups.add(g)
        assert len(out) == rows, (len(out), rows)
        return out, groups

    used = set()
    held, held_groups = draw(SEED, HELDOUT_ROWS, dev_groups | tune_groups, used, lambda i: train_n[i] not in tune_n)

    scoring_n = dev_n + [train_n[i] for i in held]
    scoring_hay = Haystack(scoring_n)
    groups_hay = Haystack([mr_n[g] for g in sorted(dev_groups | held_groups)])
    pool = [(t, n, 'sst2-a' if a else 'sst2-b') for (_, t), n, a in zip(train, train_n, half_a)] + [(t, n, 'mr') for (_, t), n in zip(mr, mr_n)]
    pool_why = exclusions([n for _, n, _ in pool], scoring_n, [mr_n[g] for g in sorted(dev_groups | held_groups)])
    names = {'contains': 'contains a scoring row', 'inside': 'inside a scoring row', 'sentence': 'inside a scoring row\'s MR sentence'}
    seen = set()
    transfer = []
    why = {'contains a scoring row': 0, 'inside a scoring row': 0, 'inside a scoring row\'s MR sentence': 0, 'tuning row': 0, 'duplicate or empty': 0}
    for (t, n, src), rule in zip(pool, pool_why):
        if n == '' or n in seen:
            why['duplicate or empty'] += 1
        elif rule:
            why[names[rule]] += 1
        elif n in tune_n:
            why['tuning row'] += 1
        else:
            seen.add(n)
            transfer.append((t, n, src))

    # The slice twin, from the sentences left: none holds a dev or slice row (a slice row can sit in
    # more than one MR sentence), and its row is inside no scoring row and no scoring row's MR
    # sentence, so choosing on it reads no scoring text. Sentences holding a row of the two older
    # tuning sets are allowed (and such rows too): the twin is itself a tuning set, and without them
    # only 476 sentences are left (the slice took most of those with a usable row).
    slice_groups = set()
    for i in held:
        slice_groups |= mr_hay.containing(train_n[i])
    twin, twin_groups = draw(TWIN_SEED, TWIN_ROWS, dev_groups | held_groups | slice_groups, used,
                             lambda i: train_n[i] not in scoring_hay and train_n[i] not in groups_hay)
    twin_n = [train_n[i] for i in twin]
    twin_rules = exclusions([n for _, n, _ in transfer], twin_n, [mr_n[g] for g in sorted(twin_groups)])
    twin_out = [k + 1 for k, rule in enumerate(twin_rules) if rule]
    twin_why = {'is or contains a twin row': twin_rules.count('contains'), 'inside a twin row': twin_rules.count('inside'), 'inside a twin row\'s MR sentence': twin_rules.count('sentence')}

    with open(os.path.join(ROOT, 'data', 'distill_transfer.txt'), 'w', encoding='utf8') as f:
        for t, _, _ in transfer:
            f.write(t + '\n')
    with open(os.path.join(ROOT, 'data', 'sst2_heldout.tsv'), 'w', encoding='utf8') as f:
        f.write('label\tsentence\n')
        for i in held:
            f.write(f'{train[i][0]}\t{train[i][1]}\n')

    with open(os.path.join(ROOT, 'data', 'sst2_slice_tune.tsv'), 'w', encoding='utf8') as f:
        f.write('label\tsentence\n')
        for i in twin:
            f.write(f'{train[i][0]}\t{train[i][1]}\n')
    with open(os.path.join(ROOT, 'data', 'distill_transfer_twin_excluded.txt'), 'w', encoding='utf8') as f:
        for k in twin_out:
            f.write(f'{k}\n')
    # The MR sentences a scoring row or a twin row sits in (normalised): augmented transfer texts
    # (`distill --augment`) must not be inside one either, the rule the transfer texts follow.
    near = set()
    for n in dev_n + [train_n[i] for i in held] + twin_n:
        near |= mr_hay.containing(n)
    with open(os.path.join(ROOT, 'data', 'distill_avoid_sentences.txt'), 'w', encoding='utf8') as f:
        for g in sorted(near):
            f.write(mr_n[g] + '\n')

    # More unlabelled text for the twin runs (drawn last, so every file above stays byte-identical):
    # SUBJ's sentences (subjective Rotten Tomatoes snippets, objective IMDb plot sentences; its
    # labels are never read) under the transfer texts' rules and the twin runs' exclusions. A
    # sentence equal to any SST-2 train row or MR sentence is left out whether or not that text is a
    # transfer text: it is either a duplicate or breaks the rule that excluded it.
    subj = read_subj()
    subj_n = [norm(t) for t in subj]
    subj_scoring = exclusions(subj_n, scoring_n, [mr_n[g] for g in sorted(dev_groups | held_groups)])
    subj_twin = exclusions(subj_n, twin_n, [mr_n[g] for g in sorted(twin_groups)])
    pool_n = set(n for _, n, _ in pool)
    subj_why = {'equal to an SST-2 train row or MR sentence': 0, 'duplicate or empty': 0, 'breaks a scoring row\'s rule': 0, 'tuning row': 0, 'breaks a twin row\'s rule': 0}
    subj_kept, subj_seen = [], set()
    for t, n, rule, twin_rule in zip(subj, subj_n, subj_scoring, subj_twin):
        if n in pool_n:
            subj_why['equal to an SST-2 train row or MR sentence'] += 1
        elif n == '' or n in subj_seen:
            subj_why['duplicate or empty'] += 1
        elif rule:
            subj_why['breaks a scoring row\'s rule'] += 1
        elif n in tune_n:
            subj_why['tuning row'] += 1
        elif twin_rule:
            subj_why['breaks a twin row\'s rule'] += 1
        else:
            subj_seen.add(n)
            subj_kept.append(t)
    with open(os.path.join(ROOT, 'data', 'distill_transfer_subj.txt'), 'w', encoding='utf8') as f:
        for t in subj_kept:
            f.write(t + '\n')

    # Held-out rows for the sibling pairs (drawn last; every file above stays byte-identical): MR
    # sentences in the transfer set — none is an SST-2 train row, so neither sibling (each trained
    # on a half of SST-2 train) was trained on it — that are inside no SST-2 train row and contain
    # none covering MR_HELDOUT_COVER or more of their normalised length (SST-2 cuts a multi-sentence
    # snippet into sentences: a long train row inside means a sibling saw much of the text), and that
    # are not, do not contain and are not inside a tuning row (the twin's too). Labels are MR's. The
    # runs scored on them leave out every transfer text that is, contains or is inside one.
    tune_all = sorted(tune_n | set(twin_n))
    tune_rules = exclusions([n for _, n, _ in transfer], tune_all, [])
    train_hay = Haystack(train_n)
    mr_label = {}
    for label, t in mr:
        mr_label.setdefault(norm(t), (label, t))
    cand = [k for k, (_, n, src) in enumerate(transfer) if src == 'mr' and n not in train_hay and not tune_rules[k]]
    cand_hay = Haystack([transfer[k][1] for k in cand])
    cover = [0] * len(cand)
    for r in set(train_n):
        for j in cand_hay.containing(r):
            cover[j] = max(cover[j], len(r))
    mr_held = [k for j, k in enumerate(cand) if cover[j] < MR_HELDOUT_COVER * len(transfer[k][1])]
    mr_held_n = [transfer[k][1] for k in mr_held]
    mr_held_rules = exclusions([n for _, n, _ in transfer], mr_held_n, [])
    mr_held_out = [k + 1 for k, rule in enumerate(mr_held_rules) if rule]
    with open(os.path.join(ROOT, 'data', 'mr_heldout.tsv'), 'w', encoding='utf8') as f:
        f.write('label\tsentence\n')
        for n in mr_held_n:
            label, t = mr_label[n]
            f.write(f'{label}\t{t}\n')
    with open(os.path.join(ROOT, 'data', 'distill_transfer_mr_heldout_excluded.txt'), 'w', encoding='utf8') as f:
        for k in mr_held_out:
            f.write(f'{k}\n')

    count = lambda src: sum(1 for _, _, s in transfer if s == src)
    print(f'held-out slice: {len(held)} rows (sibling-b half, >= {MIN_WORDS} words, one per MR sentence; positive {sum(train[i][0] for i in held)})')
    print(f'  words per row: median {int(np.median([words(train[i][1]) for i in held]))}')
    mr_set = set(mr_n)
    print(f'  equal to an MR sentence (stranger-b trained on it): {sum(train_n[i] in mr_set for i in held)}; the others are inside one')
    print(f'  SST-2 dev rows equal to an MR sentence: {sum(d in mr_set for d in dev_n)}, inside one: {sum(d in mr_hay for d in dev_n)}')
    print(f'  MR sentences containing a dev row: {len(dev_groups)}, a tuning row: {len(tune_groups)}')
    print(f'transfer: {len(transfer)} texts ({count("sst2-a")} SST-2 train rows of sibling-a\'s half, {count("sst2-b")} of the other half, {count("mr")} MR sentences), {os.path.getsize(os.path.join(ROOT, "data", "distill_transfer.txt"))} bytes')
    for k, v in why.items():
        print(f'  excluded, {k}: {v}')
    print(f'slice twin (tuning): {len(twin)} rows (same rule, seed {TWIN_SEED}; positive {sum(train[i][0] for i in twin)}), words per row: median {int(np.median([words(train[i][1]) for i in twin]))}')
    print(f'  equal to an MR sentence: {sum(n in mr_set for n in twin_n)}; the others are inside one')
    print(f'MR sentences holding a scoring or twin row (data/distill_avoid_sentences.txt): {len(near)}')
    print(f'  transfer texts the twin runs leave out: {len(twin_out)} of {len(transfer)}, {len(transfer) - len(twin_out)} remain')
    for k, v in twin_why.items():
        print(f'    {k}: {v}')
    print(f'SUBJ sentences for the twin runs (data/distill_transfer_subj.txt): {len(subj_kept)} of {len(subj)}')
    for k, v in subj_why.items():
        print(f'  excluded, {k}: {v}')
    mr_in_transfer = count('mr')
    print(f'MR held-out rows for the sibling pairs (data/mr_heldout.tsv): {len(mr_held)} of the {mr_in_transfer} MR transfer sentences (positive {sum(mr_label[n][0] for n in mr_held_n)}), words per row: median {int(np.median([words(mr_label[n][1]) for n in mr_held_n]))}')
    print(f'  left out: near a tuning row {sum(1 for k, (_, _, src) in enumerate(transfer) if src == "mr" and tune_rules[k])}, inside an SST-2 train row {sum(1 for _, n, src in transfer if src == "mr" and n in train_hay)}, holding an SST-2 train row of >= {MR_HELDOUT_COVER:.0%} of its length {len(cand) - len(mr_held)}')
    print(f'  transfer texts the runs scored on them leave out (data/distill_transfer_mr_heldout_excluded.txt): {len(mr_held_out)} of {len(transfer)}, {len(transfer) - len(mr_held_out)} remain')


if __name__ == '__main__':
    sys.exit(main())
