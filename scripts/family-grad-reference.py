#!/usr/bin/python3
"""PyTorch gradient references for the family fixtures (fixtures/family/grad-reference), and with
dropout for BERT too (fixtures/grad-reference).

For each family fixture: an independent forward pass in plain torch, written from the spec in
fixtures/family/README.md (no `transformers`, no bertfuse code), first checked against the fixture's
reference.json (every input's logits within 1e-5, and the padded batch where there is one); then
the gradients of two losses on one fixed batch -- the texts, labels and soft targets of
fixtures/grad-reference (the BERT reference), tokenized by bertfuse's own tokenizer through
scripts/family-grad-batch.ts -- written as float32 safetensors plus a JSON with the batch.

  - ce: mean cross-entropy of the logits against the labels;
  - kd: T^2 * KL(soft || softmax(logits / T)), T = 2, averaged over the batch
        (torch's kl_div(log_softmax(z / T), soft, 'batchmean') * T^2).

The float32 gradients are checked against the same computation in float64 and against central
finite differences of the float64 loss (the largest element of every tensor and one random one).

The same batch is also run in training mode (<fixture>.dropout.json / .safetensors; for BERT,
sst2-sibling-a, beside fixtures/grad-reference): dropout at the points where HF's class drops out,
each multiplied by the mask bertfuse's trainer draws at step STEP of a run seeded SEED
(scripts/dropout-masks.ts exports them; BertfuseMasks checks kind, shape and rate at every point),
with the same float64 and finite-difference checks; the masks' SHA-256 is stored, not the masks.

Word-embedding gradients are zero except on the rows of ids in the batch, so only those rows are
stored (the JSON lists them); every other tensor is stored whole.

Dev-only: needs Debian's python3-torch (1.13) and numpy; CI reads the committed outputs.

  /usr/bin/python3 scripts/family-grad-reference.py [--dropout-only] [fixture ...]
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILY = os.path.join(ROOT, 'fixtures', 'family')
OUT = os.path.join(FAMILY, 'grad-reference')
BERT_REF = os.path.join(ROOT, 'fixtures', 'grad-reference', 'grad-reference.json')
BERT = 'sst2-sibling-a'  # fixtures/sst2-sibling-a: its reference without dropout is fixtures/grad-reference
FIXTURES = ['distilbert-sst2', 'roberta-sst2-a', 'xlmr-sst2', 'electra-sst2', 'modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2']
T = 2.0
# The run and step whose dropout masks the references use.
SEED, STEP = 13, 0
DROPOUT_ONLY = False

torch.set_num_threads(1)


# ---------------------------------------------------------------- safetensors (no library needed)

def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', (path, name, info['dtype'])
        a, b = info['data_offsets']
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(info['shape']).copy()
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype='<f4')
        header[name] = {'dtype': 'F32', 'shape': list(data.shape), 'data_offsets': [offset, offset + data.nbytes]}
        offset += data.nbytes
        blobs.append(data.tobytes())
    header['__metadata__'] = {'format': 'pt'}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


# ---------------------------------------------------------------- shared pieces

def lin(x, p, module, bias=True):
    y = x @ p[module + '.weight'].t()
    return y + p[module + '.bias'] if bias else y


def ln(x, p, module, eps, bias=True):
    return F.layer_norm(x, (x.shape[-1],), p[module + '.weight'], p[module + '.bias'] if bias else None, eps)


def gelu(x):
    return F.gelu(x)  # exact erf form, HF "gelu"


def neg_min(dtype):
    return torch.finfo(dtype).min


def heads(t, nh):
    b, s, h = t.shape
    return t.view(b, s, nh, h // nh).transpose(1, 2)


def merge(t):
    b, nh, s, hd = t.shape
    return t.transpose(1, 2).reshape(b, s, nh * hd)


def no_drop(x, kind):
    return x


def post_ln_layer(x, p, names, i, nh, eps, mask, drop):
    """BERT's post-LN layer (RoBERTa, XLM-R, ELECTRA): scores q.k/sqrt(d) + (1 - mask) * min.
    Dropout (HF BertSelfAttention / BertSelfOutput / BertOutput): probabilities, then each dense
    output before its residual add."""
    n = {k: v.format(i=i) for k, v in names.items()}
    q, k, v = (heads(lin(x, p, n[m]), nh) for m in ('query', 'key', 'value'))
    hd = q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + (1.0 - mask.to(x.dtype))[:, None, None, :] * neg_min(x.dtype)
    ctx = merge(drop(torch.softmax(scores, dim=-1), 'attention') @ v)
    a = ln(drop(lin(ctx, p, n['attn_out']), 'hidden') + x, p, n['attn_ln'], eps)
    return ln(drop(lin(gelu(lin(a, p, n['inter'])), p, n['out']), 'hidden') + a, p, n['out_ln'], eps)


BERT_LAYER = {
    'query': '{pre}encoder.layer.{{i}}.attention.self.query',
    'key': '{pre}encoder.layer.{{i}}.attention.self.key',
    'value': '{pre}encoder.layer.{{i}}.attention.self.value',
    'attn_out': '{pre}encoder.layer.{{i}}.attention.output.dense',
    'attn_ln': '{pre}encoder.layer.{{i}}.attention.output.LayerNorm',
    'inter': '{pre}encoder.layer.{{i}}.intermediate.dense',
    'out': '{pre}encoder.layer.{{i}}.output.dense',
    'out_ln': '{pre}encoder.layer.{{i}}.output.LayerNorm',
}


def bert_layer_names(pre):
    return {k: v.format(pre=pre) for k, v in BERT_LAYER.items()}


# ---------------------------------------------------------------- the families (README "Forward pass")

def distilbert(p, cfg, ids, mask, types, drop=no_drop):
    s = ids.shape[1]
    nh, eps, pre = cfg['n_heads'], 1e-12, 'distilbert.'
    x = p[pre + 'embeddings.word_embeddings.weight'][ids] + p[pre + 'embeddings.position_embeddings.weight'][:s][None]
    x = drop(ln(x, p, pre + 'embeddings.LayerNorm', eps), 'hidden')
    for i in range(cfg['n_layers']):
        L = f'{pre}transformer.layer.{i}.'
        q = heads(lin(x, p, L + 'attention.q_lin'), nh)
        q = q / math.sqrt(q.shape[-1])  # scaled before the product
        k, v = heads(lin(x, p, L + 'attention.k_lin'), nh), heads(lin(x, p, L + 'attention.v_lin'), nh)
        scores = (q @ k.transpose(-1, -2)).masked_fill((mask == 0)[:, None, None, :], neg_min(x.dtype))
        ctx = merge(drop(torch.softmax(scores, dim=-1), 'attention') @ v)
        sa = ln(lin(ctx, p, L + 'attention.out_lin') + x, p, L + 'sa_layer_norm', eps)  # no dropout after out_lin (HF)
        x = ln(drop(lin(gelu(lin(sa, p, L + 'ffn.lin1')), p, L + 'ffn.lin2'), 'hidden') + sa, p, L + 'output_layer_norm', eps)
    pooled = torch.relu(lin(x[:, 0], p, 'pre_classifier'))
    return lin(drop(pooled, 'classifier'), p, 'classifier')


def bert(p, cfg, ids, mask, types, drop=no_drop):
    s, eps, pre = ids.shape[1], cfg['layer_norm_eps'], 'bert.'
    x = (p[pre + 'embeddings.word_embeddings.weight'][ids]
         + p[pre + 'embeddings.token_type_embeddings.weight'][types]
         + p[pre + 'embeddings.position_embeddings.weight'][:s][None])
    x = drop(ln(x, p, pre + 'embeddings.LayerNorm', eps), 'hidden')
    names = bert_layer_names(pre)
    for i in range(cfg['num_hidden_layers']):
        x = post_ln_layer(x, p, names, i, cfg['num_attention_heads'], eps, mask, drop)
    # BertPooler (dense, tanh on [CLS]); BertForSequenceClassification: dropout, classifier.
    pooled = torch.tanh(lin(x[:, 0], p, pre + 'pooler.dense'))
    return lin(drop(pooled, 'classifier'), p, 'classifier')


def roberta(p, cfg, ids, mask, types, drop=no_drop):
    pad, eps, pre = cfg['pad_token_id'], cfg['layer_norm_eps'], 'roberta.'
    m = (ids != pad).long()
    pos = torch.cumsum(m, dim=1) * m + pad  # from the input ids, not a counter
    x = (p[pre + 'embeddings.word_embeddings.weight'][ids]
         + p[pre + 'embeddings.token_type_embeddings.weight'][0]
         + p[pre + 'embeddings.position_embeddings.weight'][pos])
    x = drop(ln(x, p, pre + 'embeddings.LayerNorm', eps), 'hidden')
    names = bert_layer_names(pre)
    for i in range(cfg['num_hidden_layers']):
        x = post_ln_layer(x, p, names, i, cfg['num_attention_heads'], eps, mask, drop)
    # RobertaClassificationHead: dropout, dense, tanh, dropout, out_proj.
    t = torch.tanh(lin(drop(x[:, 0], 'classifier'), p, 'classifier.dense'))
    return lin(drop(t, 'classifier'), p, 'classifier.out_proj')


def electra(p, cfg, ids, mask, types, drop=no_drop):
    s, eps, pre = ids.shape[1], cfg['layer_norm_eps'], 'electra.'
    e = (p[pre + 'embeddings.word_embeddings.weight'][ids]
         + p[pre + 'embeddings.token_type_embeddings.weight'][types]
         + p[pre + 'embeddings.position_embeddings.weight'][:s][None])
    # LN and dropout at width 32 (ElectraEmbeddings), then 32 -> 64 (ElectraModel.embeddings_project).
    x = lin(drop(ln(e, p, pre + 'embeddings.LayerNorm', eps), 'hidden'), p, pre + 'embeddings_project')
    names = bert_layer_names(pre)
    for i in range(cfg['num_hidden_layers']):
        x = post_ln_layer(x, p, names, i, cfg['num_attention_heads'], eps, mask, drop)
    # ElectraClassificationHead: dropout, dense, gelu, dropout, out_proj.
    z = gelu(lin(drop(x[:, 0], 'classifier'), p, 'classifier.dense'))
    return lin(drop(z, 'classifier'), p, 'classifier.out_proj')


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def modernbert(p, cfg, ids, mask, types, drop=no_drop):
    b, s = ids.shape
    H, nh, eps, pre = cfg['hidden_size'], cfg['num_attention_heads'], cfg['norm_eps'], 'model.'
    hd = H // nh
    dtype = p[pre + 'embeddings.tok_embeddings.weight'].dtype
    norm = lambda x, module: ln(x, p, module, eps, bias=False)
    x = drop(norm(p[pre + 'embeddings.tok_embeddings.weight'][ids], pre + 'embeddings.norm'), 'embedding')
    # Rotary angles in float32 (as HF), GPT-NeoX halves.
    pos = torch.arange(s, dtype=torch.float32)

    def rope(theta):
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        a = pos[:, None] * inv[None, :]
        emb = torch.cat((a, a), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    rope_global, rope_local = rope(cfg['global_rope_theta']), rope(cfg['local_rope_theta'])
    mn = neg_min(dtype)
    key_padded = (mask == 0)[:, None, None, :]
    global_bias = torch.zeros(b, 1, 1, s, dtype=dtype).masked_fill(key_padded, mn)
    dist = (torch.arange(s)[:, None] - torch.arange(s)[None, :]).abs()
    local_bias = global_bias.expand(b, 1, s, s).masked_fill((dist > cfg['local_attention'] // 2)[None, None], mn)
    for i in range(cfg['num_hidden_layers']):
        L = f'{pre}layers.{i}.'
        is_global = i % cfg['global_attn_every_n_layers'] == 0
        h = x if i == 0 else norm(x, L + 'attn_norm')
        qkv = lin(h, p, L + 'attn.Wqkv', bias=False).view(b, s, 3, nh, hd)
        q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))
        cos, sin = rope_global if is_global else rope_local
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        scores = (q @ k.transpose(-1, -2)) * hd ** -0.5 + (global_bias if is_global else local_bias)
        # attention_dropout on the probabilities and on Wo's output (out_drop), mlp_dropout before mlp.Wo.
        x = x + drop(lin(merge(drop(torch.softmax(scores, dim=-1), 'attention') @ v), p, L + 'attn.Wo', bias=False), 'attention')
        u, gate = lin(norm(x, L + 'mlp_norm'), p, L + 'mlp.Wi', bias=False).chunk(2, dim=-1)
        x = x + lin(drop(gelu(u) * gate, 'mlp'), p, L + 'mlp.Wo', bias=False)
    x = norm(x, pre + 'final_norm')
    if cfg['classifier_pooling'] == 'cls':
        pool = x[:, 0]
    else:
        mf = mask.to(dtype)
        pool = (x * mf[..., None]).sum(dim=1) / mf.sum(dim=1, keepdim=True)
    z = norm(gelu(lin(pool, p, 'head.dense', bias=False)), 'head.norm')
    return lin(drop(z, 'classifier'), p, 'classifier')


def log_bucket(rel, buckets, max_position):
    """DeBERTa's make_log_bucket_position, in float32 as HF computes it."""
    sign = torch.sign(rel)
    mid = buckets // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign).long()


def deberta(p, cfg, ids, mask, types, drop=no_drop):
    b, s = ids.shape
    H, nh, eps, pre = cfg['hidden_size'], cfg['num_attention_heads'], cfg['layer_norm_eps'], 'deberta.'
    hd = H // nh
    dtype = p[pre + 'embeddings.word_embeddings.weight'].dtype
    mf = mask.to(dtype)
    x = drop(ln(p[pre + 'embeddings.word_embeddings.weight'][ids], p, pre + 'embeddings.LayerNorm', eps) * mf[..., None], 'hidden')
    R = ln(p[pre + 'encoder.rel_embeddings.weight'], p, pre + 'encoder.LayerNorm', eps)
    span = cfg['position_buckets']
    max_rel = cfg['max_relative_positions'] if cfg['max_relative_positions'] > 0 else cfg['max_position_embeddings']
    idx = torch.arange(s)
    rel = log_bucket(idx[:, None] - idx[None, :], span, max_rel)  # [i, j] = bucket(i - j)
    c2p_index = torch.clamp(rel + span, 0, 2 * span - 1)
    p2c_index = torch.clamp(-rel + span, 0, 2 * span - 1)  # rows are keys: [j, i] = -bucket(j - i)
    pair = (mask[:, None, :, None] * mask[:, None, None, :]).bool()
    scale = math.sqrt(hd * 3)
    mn = neg_min(dtype)
    for i in range(cfg['num_hidden_layers']):
        L = f'{pre}encoder.layer.{i}.'
        q, k, v = (heads(lin(x, p, L + f'attention.self.{m}_proj'), nh) for m in ('query', 'key', 'value'))
        # DisentangledSelfAttention.pos_dropout (hidden rate): each layer drops out the shared rows itself.
        Rd = drop(R, 'hidden')
        pq = lin(Rd, p, L + 'attention.self.query_proj').view(2 * span, nh, hd).transpose(0, 1)  # [nh, 2span, hd]
        pk = lin(Rd, p, L + 'attention.self.key_proj').view(2 * span, nh, hd).transpose(0, 1)
        c2c = q @ k.transpose(-1, -2)
        c2p = torch.gather(q @ pk.transpose(-1, -2)[None], -1, c2p_index.expand(b, nh, s, s))
        p2c = torch.gather(k @ pq.transpose(-1, -2)[None], -1, p2c_index.expand(b, nh, s, s)).transpose(-1, -2)
        scores = ((c2c + c2p + p2c) / scale).masked_fill(~pair, mn)
        probs = drop(torch.softmax(scores, dim=-1).masked_fill(~pair, 0.0), 'attention')
        ctx = merge(probs @ v)
        a = ln(drop(lin(ctx, p, L + 'attention.output.dense'), 'hidden') + x, p, L + 'attention.output.LayerNorm', eps)
        x = ln(drop(lin(gelu(lin(a, p, L + 'intermediate.dense')), p, L + 'output.dense'), 'hidden') + a, p, L + 'output.LayerNorm', eps)
    # ContextPooler: dropout (pooler_dropout) on [CLS], dense, gelu; then dropout (cls_dropout), classifier.
    z = gelu(lin(drop(x[:, 0], 'pooler'), p, 'pooler.dense'))
    return lin(drop(z, 'classifier'), p, 'classifier')


FORWARD = {
    'bert': bert,
    'distilbert': distilbert,
    'roberta': roberta,
    'xlm-roberta': roberta,
    'electra': electra,
    'modernbert': modernbert,
    'deberta-v2': deberta,
}
# The word-embedding table of each family: stored as the rows the batch uses.
WORD = {
    'bert': 'bert.embeddings.word_embeddings.weight',
    'distilbert': 'distilbert.embeddings.word_embeddings.weight',
    'roberta': 'roberta.embeddings.word_embeddings.weight',
    'xlm-roberta': 'roberta.embeddings.word_embeddings.weight',
    'electra': 'electra.embeddings.word_embeddings.weight',
    'modernbert': 'model.embeddings.tok_embeddings.weight',
    'deberta-v2': 'deberta.embeddings.word_embeddings.weight',
}


# ---------------------------------------------------------------- dropout with bertfuse's masks

def dropout_rates(cfg):
    """The probabilities HF's classes read, by the kinds bertfuse names its dropout points."""
    t = cfg['model_type']
    if t == 'distilbert':
        return {'hidden': cfg['dropout'], 'attention': cfg['attention_dropout'], 'classifier': cfg['seq_classif_dropout']}
    if t == 'modernbert':
        return {k: cfg[f'{k}_dropout'] for k in ('embedding', 'attention', 'mlp', 'classifier')}
    hidden = cfg['hidden_dropout_prob']
    rates = {'hidden': hidden, 'attention': cfg['attention_probs_dropout_prob']}
    # The classifier's own rate when the config sets one (0 included), else the hidden rate, as HF reads it.
    own = lambda key: hidden if cfg.get(key) is None else cfg[key]
    if t == 'deberta-v2':
        # The fixture's pooler_dropout is 0 (HF's default), which would leave the ContextPooler's
        # dropout point out: the reference uses 0.1 there to pin it down.
        return {**rates, 'classifier': own('cls_dropout'), 'pooler': cfg.get('pooler_dropout') or 0.1}
    return {**rates, 'classifier': own('classifier_dropout')}


class BertfuseMasks:
    """The masks bertfuse's trainer draws for step STEP of a run seeded SEED on this batch
    (scripts/dropout-masks.ts writes them). drop(x, kind): the k-th point with a non-zero rate
    multiplies x by mask k, after checking bertfuse has a point of that kind and shape there.
    `start()` before each forward pass; `done()` after it checks every mask was used."""

    def __init__(self, folder, rates, b, s):
        fd, out = tempfile.mkstemp(suffix='.bin')
        os.close(fd)
        meta = json.loads(subprocess.run(
            ['node', '--import', 'tsx', os.path.join(ROOT, 'scripts', 'dropout-masks.ts'), folder, str(b), str(s), str(SEED), str(STEP), out],
            input=json.dumps(rates), capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        flat = np.fromfile(out, dtype='<f4')
        os.remove(out)
        self.rates, self.points, self.sha256, self.masks, at = rates, meta['points'], meta['sha256'], [], 0
        for pt in self.points:
            n = int(np.prod(pt['shape']))
            self.masks.append(flat[at:at + n].reshape(pt['shape']))
            at += n
        assert at == flat.size, 'masks file longer than its points'
        self.k = 0

    def start(self):
        self.k = 0
        return self

    def done(self):
        assert self.k == len(self.masks), f'bertfuse draws {len(self.masks)} masks, this forward used {self.k}'

    def __call__(self, x, kind):
        p = self.rates[kind]
        if p == 0:
            return x
        assert self.k < len(self.points), f'bertfuse has no dropout point #{self.k} ({kind} {list(x.shape)})'
        pt = self.points[self.k]
        assert (pt['kind'], pt['shape'], pt['rate']) == (kind, list(x.shape), p), (
            f'dropout point #{self.k}: bertfuse has {pt["kind"]} {pt["shape"]} at {pt["rate"]}, HF {kind} {list(x.shape)} at {p}')
        m = self.masks[self.k]
        self.k += 1
        return x * torch.tensor(m, dtype=x.dtype)


# ---------------------------------------------------------------- checks and output

def worse(a, b):
    """max(a, b) where NaN wins (Python's max keeps its first argument against NaN)."""
    return b if not b <= a else a


def as_params(weights, dtype):
    return {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in weights.items()}


def check_reference(name, folder, forward, p, cfg):
    ref = json.load(open(os.path.join(folder, 'reference.json')))
    worst = 0.0
    with torch.no_grad():
        for inp in ref['inputs']:
            ids = torch.tensor([inp['input_ids']])
            z = forward(p, cfg, ids, torch.tensor([inp['attention_mask']]), torch.tensor([inp['token_type_ids']]))
            worst = worse(worst, float((z[0] - torch.tensor(inp['logits'])).abs().max()))
        pb = ref.get('padded_batch')
        if pb:
            ids = torch.tensor(pb['input_ids'])
            z = forward(p, cfg, ids, torch.tensor(pb['attention_mask']), torch.zeros_like(ids))
            worst = worse(worst, float((z - torch.tensor(pb['logits'])).abs().max()))
    if not worst <= 1e-5:
        sys.exit(f'{name}: this forward pass misses reference.json by {worst:.2e} (> 1e-5): not writing gradients')
    return worst, len(ref['inputs']) + (1 if ref.get('padded_batch') else 0)


def losses(logits, labels, soft):
    ce = F.cross_entropy(logits, labels)
    kd = F.kl_div(F.log_softmax(logits / T, dim=-1), soft, reduction='batchmean') * T * T
    return {'ce': ce, 'kd': kd}


def checked_gradients(name, run, weights, rng):
    """Both losses' float32 gradients of run(params, dtype) -> (logits, losses), checked against the
    same computation in float64 and against central differences of the float64 loss (the largest
    element of every tensor and one random one); exits without writing if either check fails."""
    p32, p64 = as_params(weights, torch.float32), as_params(weights, torch.float64)
    z32, l32 = run(p32, torch.float32)
    _, l64 = run(p64, torch.float64)
    # Both losses' gradients before any finite difference touches the float64 weights in place.
    all32 = {loss: dict(zip(p32, torch.autograd.grad(l32[loss], list(p32.values()), retain_graph=True))) for loss in ('ce', 'kd')}
    all64 = {loss: dict(zip(p64, torch.autograd.grad(l64[loss], list(p64.values()), retain_graph=True))) for loss in ('ce', 'kd')}
    summary = {}
    for loss in ('ce', 'kd'):
        g32, g64 = all32[loss], all64[loss]
        vs64 = 0.0
        for k in g32:
            vs64 = worse(vs64, float((g32[k].double() - g64[k]).abs().max()))
        fd_worst = 0.0
        with torch.no_grad():
            for k, t in p64.items():
                flat = t.view(-1)
                g = g64[k].view(-1)
                for j in {int(g.abs().argmax()), int(rng.integers(flat.numel()))}:
                    x0 = float(flat[j])
                    h = 1e-6
                    flat[j] = x0 + h
                    up = float(run(p64, torch.float64)[1][loss])
                    flat[j] = x0 - h
                    down = float(run(p64, torch.float64)[1][loss])
                    flat[j] = x0
                    fd_worst = worse(fd_worst, abs((up - down) / (2 * h) - float(g[j])))
        if not (vs64 <= 1e-5 and fd_worst <= 1e-6):  # written so that NaN fails too
            sys.exit(f'{name} {loss}: float32 vs float64 gradients {vs64:.2e}, float64 vs finite differences {fd_worst:.2e}: not writing')
        norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in g32.values()))
        summary[loss] = {'value': float(l32[loss]), 'grad_norm': norm, 'float32_vs_float64': vs64, 'float64_vs_finite_differences': fd_worst}
    return z32, all32, summary


def stored_gradients(name, all32, word, rows):
    """ce.<tensor> / kd.<tensor> as numpy; the word-embedding table as the batch's rows only."""
    grads = {}
    for loss, g32 in all32.items():
        for k, g in g32.items():
            a = g.numpy()
            if k == word:
                unused = np.ones(a.shape[0], dtype=bool)
                unused[rows] = False
                assert not a[unused].any(), f'{name}: {k} has gradient on rows outside the batch'
                a = a[rows]
            grads[f'{loss}.{k}'] = a
    return grads


def loss_doc(summary, soft32):
    return {
        'ce': {'definition': 'mean over the batch of cross-entropy(logits, labels)', 'value': summary['ce']['value']},
        'kd': {'definition': 'T^2 * mean over the batch of KL(soft || softmax(logits / T)), T = 2', 'T': T,
               'soft_targets': soft32.tolist(), 'value': summary['kd']['value']},
    }


def check_doc(summary, ref_worst, ref_count):
    return {
        'reference_json_max_abs_logit_diff': ref_worst,
        'reference_json_runs': ref_count,
        'float32_vs_float64_max_abs': {k: summary[k]['float32_vs_float64'] for k in ('ce', 'kd')},
        'float64_vs_central_differences_max_abs': {k: summary[k]['float64_vs_finite_differences'] for k in ('ce', 'kd')},
    }


def write_json(path, doc):
    with open(path, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')


def main(names):
    bert_ref = json.load(open(BERT_REF))
    texts = [{'text': t['text'], 'text_pair': t['text_pair']} for t in bert_ref['texts']]
    os.makedirs(OUT, exist_ok=True)
    for name in names:
        is_bert = name == BERT
        folder = os.path.join(ROOT, 'fixtures', name) if is_bert else os.path.join(FAMILY, name)
        cfg = json.load(open(os.path.join(folder, 'config.json')))
        family = cfg['model_type']
        forward = FORWARD[family]
        # The BERT reference's classes are 0 = negative, 1 = positive; map them by name onto this
        # model's class order (xlmr-sst2 has 0 = POSITIVE), labels and soft targets alike.
        order = [next(int(i) for i, n in cfg['id2label'].items() if n.lower().startswith(w)) for w in ('neg', 'pos')]
        labels = [order[t['label']] for t in bert_ref['texts']]
        soft32 = np.zeros((len(texts), 2), dtype=np.float32)
        soft32[:, order] = np.array(bert_ref['losses']['kd']['soft_targets'], dtype=np.float32)
        weights = read_safetensors(os.path.join(folder, 'model.safetensors'))
        ref_worst, ref_count = check_reference(name, folder, forward, as_params(weights, torch.float32), cfg)

        if is_bert:  # the batch of fixtures/grad-reference itself
            batch = {k: bert_ref[k] for k in ('input_ids', 'attention_mask', 'token_type_ids')}
        else:
            batch = json.loads(subprocess.run(
                ['node', '--import', 'tsx', os.path.join(ROOT, 'scripts', 'family-grad-batch.ts'), folder],
                input=json.dumps(texts), capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        ids = torch.tensor(batch['input_ids'])
        mask = torch.tensor(batch['attention_mask'])
        types = torch.tensor(batch['token_type_ids'])
        y = torch.tensor(labels)
        rows = sorted(set(int(i) for i in ids.flatten()))
        word = WORD[family]
        out_dir = os.path.dirname(BERT_REF) if is_bert else OUT
        stem = 'grad-reference' if is_bert else name

        def runner(drop):
            def run(p, dtype):
                z = forward(p, cfg, ids, mask, types, drop.start() if drop else no_drop)
                if drop:
                    drop.done()
                return z, losses(z, y, torch.tensor(soft32, dtype=dtype))
            return run

        rng = np.random.default_rng(13)
        plain = None
        if not (is_bert or DROPOUT_ONLY):
            z32, all32, summary = checked_gradients(name, runner(None), weights, rng)
            write_safetensors(os.path.join(OUT, f'{name}.safetensors'), stored_gradients(name, all32, word, rows))
            write_json(os.path.join(OUT, f'{name}.json'), {
                'model': name,
                'model_type': family,
                'note': 'gradients of two losses w.r.t. every parameter of the model, PyTorch float32, eval mode (dropout off), '
                        'from an independent torch forward written from fixtures/family/README.md; batch = the texts, labels and '
                        'soft targets of fixtures/grad-reference, tokenized by bertfuse (scripts/family-grad-batch.ts), right-padded '
                        'with the model\'s pad id',
                'texts': texts,
                'id2label': cfg['id2label'],
                'input_ids': batch['input_ids'],
                'attention_mask': batch['attention_mask'],
                'token_type_ids': batch['token_type_ids'],
                'tokens': batch['tokens'],
                'labels': labels,
                'losses': loss_doc(summary, soft32),
                'logits': z32.detach().numpy().tolist(),
                'gradient_file': f'{name}.safetensors',
                'gradient_names': 'ce.<parameter name> and kd.<parameter name>, the names and shapes of model.safetensors, '
                                  'except the word-embedding table (sparse_rows)',
                'sparse_rows': {'tensor': word, 'rows': rows,
                                'note': 'only these rows (the ids in the batch, ascending) are stored, as [len(rows), width]; every other row\'s gradient is exactly 0'},
                'grad_norms': {k: summary[k]['grad_norm'] for k in ('ce', 'kd')},
                'checks': check_doc(summary, ref_worst, ref_count),
                'made_by': 'scripts/family-grad-reference.py (torch ' + torch.__version__ + ')',
            })
            plain = summary
        if is_bert:
            # This forward's gradients without dropout against the committed BERT reference (made apart).
            ref = read_safetensors(BERT_REF.replace('.json', '.safetensors'))
            p32 = as_params(weights, torch.float32)
            _, l32 = runner(None)(p32, torch.float32)
            bert_vs = 0.0
            for loss in ('ce', 'kd'):
                for k, g in zip(p32, torch.autograd.grad(l32[loss], list(p32.values()), retain_graph=True)):
                    bert_vs = worse(bert_vs, float(np.abs(g.numpy() - ref[f'{loss}.{k}']).max()))
            if not bert_vs <= 1e-6:
                sys.exit(f'{name}: this forward\'s gradients miss fixtures/grad-reference by {bert_vs:.2e} (> 1e-6): not writing')

        # Training mode with the masks bertfuse draws: every element of every gradient, both losses.
        rates = dropout_rates(cfg)
        drop = BertfuseMasks(folder, rates, ids.shape[0], ids.shape[1])
        zd, alld, dsum = checked_gradients(name + ' (dropout)', runner(drop), weights, rng)
        write_safetensors(os.path.join(out_dir, f'{stem}.dropout.safetensors'), stored_gradients(name, alld, word, rows))
        doc = {
            'model': name,
            'model_type': family,
            'note': 'gradients of two losses w.r.t. every parameter of the model, PyTorch float32, training mode: dropout at the '
                    'points where HF\'s class drops out, each multiplied by the mask bertfuse\'s trainer draws at step `step` of a run '
                    'seeded `seed` (src/train/dropout.ts stepMasks; written by scripts/dropout-masks.ts); the batch, labels and '
                    'soft targets of the reference without dropout',
            'seed': SEED,
            'step': STEP,
            'rates': rates,
            'points': [{'kind': pt['kind'], 'shape': pt['shape']} for pt in drop.points],
            'masks_sha256': drop.sha256,
            'input_ids': batch['input_ids'],
            'attention_mask': batch['attention_mask'],
            'token_type_ids': batch['token_type_ids'],
            'labels': labels,
            'losses': loss_doc(dsum, soft32),
            'logits': zd.detach().numpy().tolist(),
            'gradient_file': f'{stem}.dropout.safetensors',
            'sparse_rows': {'tensor': word, 'rows': rows},
            'grad_norms': {k: dsum[k]['grad_norm'] for k in ('ce', 'kd')},
            'checks': {**check_doc(dsum, ref_worst, ref_count),
                       **({'no_dropout_vs_grad_reference_max_abs': bert_vs} if is_bert else {})},
            'made_by': 'scripts/family-grad-reference.py (torch ' + torch.__version__ + ')',
        }
        write_json(os.path.join(out_dir, f'{stem}.dropout.json'), doc)
        for label, summ in (('', plain), ('dropout: ', dsum)):
            if summ:
                print(f'{name}: {label}ce {summ["ce"]["value"]:.6f} kd {summ["kd"]["value"]:.6f}; '
                      f'f32 vs f64 {max(summ[k]["float32_vs_float64"] for k in summ):.1e}, '
                      f'f64 vs fd {max(summ[k]["float64_vs_finite_differences"] for k in summ):.1e}')
        print(f'{name}: reference.json within {ref_worst:.1e}; {len(drop.points)} dropout points, masks {drop.sha256[:12]}')


if __name__ == '__main__':
    args = sys.argv[1:]
    DROPOUT_ONLY = '--dropout-only' in args
    main([a for a in args if a != '--dropout-only'] or [BERT, *FIXTURES])
