"""PyTorch eager peer for `npm run bench`: the same BERT checkpoints, run by Debian's python3-torch.

Reads one JSON request on stdin, writes one JSON answer on stdout:
  request  {"models": [dir, ...], "sizes": [[batch, seq], ...], "warmup": 1, "reps": 3,
            "threads": 2, "paths": ["eager", "fastpath"], "check_ids": [[...], ...]}
  answer   {"torch": version, "threads": n,
            "timings": [{"path", "batch", "seq", "median", "times"}],
            "check_logits": {path: [[...], ...]}}

Several models are run one after the other inside each repetition (the two-member peer of the
combined graph), their probabilities averaged. Two code paths:
  eager    - the Hugging Face BertModel computation written out with nn.Linear / matmul / softmax
             (what `transformers` runs in eager mode on torch 1.13);
  fastpath - nn.TransformerEncoderLayer in inference mode, which torch dispatches to its fused
             "BetterTransformer" kernel (torch._transformer_encoder_layer_fwd).
Weights are read from model.safetensors with numpy (no safetensors package needed).
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, the peer reads F32 only")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data, dtype="<f4", count=(b - a) // 4, offset=a).copy()).reshape(info["shape"])
    return out


def linear(w, b):
    m = nn.Linear(w.shape[1], w.shape[0])
    m.weight.data.copy_(w)
    m.bias.data.copy_(b)
    return m


class Bert(nn.Module):
    """BertForSequenceClassification, eager, or with TransformerEncoderLayer layers (fastpath)."""

    def __init__(self, folder, path):
        super().__init__()
        cfg = json.load(open(os.path.join(folder, "config.json")))
        t = read_safetensors(os.path.join(folder, "model.safetensors"))
        p = "bert." if "bert.embeddings.word_embeddings.weight" in t else ""
        self.path = path
        self.H, self.nh, self.eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-12)
        self.word = t[p + "embeddings.word_embeddings.weight"]
        self.pos = t[p + "embeddings.position_embeddings.weight"]
        self.type = t[p + "embeddings.token_type_embeddings.weight"]
        self.emb_ln = nn.LayerNorm(self.H, eps=self.eps)
        self.emb_ln.weight.data.copy_(t[p + "embeddings.LayerNorm.weight"])
        self.emb_ln.bias.data.copy_(t[p + "embeddings.LayerNorm.bias"])
        self.layers = nn.ModuleList()
        for i in range(cfg["num_hidden_layers"]):
            L = lambda m: t[f"{p}encoder.layer.{i}.{m}"]
            if path == "eager":
                layer = nn.ModuleDict({
                    "q": linear(L("attention.self.query.weight"), L("attention.self.query.bias")),
                    "k": linear(L("attention.self.key.weight"), L("attention.self.key.bias")),
                    "v": linear(L("attention.self.value.weight"), L("attention.self.value.bias")),
                    "o": linear(L("attention.output.dense.weight"), L("attention.output.dense.bias")),
                    "i": linear(L("intermediate.dense.weight"), L("intermediate.dense.bias")),
                    "out": linear(L("output.dense.weight"), L("output.dense.bias")),
                    "ln1": nn.LayerNorm(self.H, eps=self.eps),
                    "ln2": nn.LayerNorm(self.H, eps=self.eps),
                })
                ln1, ln2 = layer["ln1"], layer["ln2"]
            else:
                layer = nn.TransformerEncoderLayer(self.H, self.nh, cfg["intermediate_size"], dropout=0.0, activation=F.gelu,
                                                   layer_norm_eps=self.eps, batch_first=True, norm_first=False)
                qkv_w = torch.cat([L("attention.self.query.weight"), L("attention.self.key.weight"), L("attention.self.value.weight")])
                qkv_b = torch.cat([L("attention.self.query.bias"), L("attention.self.key.bias"), L("attention.self.value.bias")])
                layer.self_attn.in_proj_weight.data.copy_(qkv_w)
                layer.self_attn.in_proj_bias.data.copy_(qkv_b)
                layer.self_attn.out_proj.weight.data.copy_(L("attention.output.dense.weight"))
                layer.self_attn.out_proj.bias.data.copy_(L("attention.output.dense.bias"))
                layer.linear1.weight.data.copy_(L("intermediate.dense.weight"))
                layer.linear1.bias.data.copy_(L("intermediate.dense.bias"))
                layer.linear2.weight.data.copy_(L("output.dense.weight"))
                layer.linear2.bias.data.copy_(L("output.dense.bias"))
                ln1, ln2 = layer.norm1, layer.norm2
            ln1.weight.data.copy_(L("attention.output.LayerNorm.weight"))
            ln1.bias.data.copy_(L("attention.output.LayerNorm.bias"))
            ln2.weight.data.copy_(L("output.LayerNorm.weight"))
            ln2.bias.data.copy_(L("output.LayerNorm.bias"))
            self.layers.append(layer)
        self.pooler = linear(t[p + "pooler.dense.weight"], t[p + "pooler.dense.bias"])
        self.classifier = linear(t["classifier.weight"], t["classifier.bias"])
        self.eval()

    def forward(self, ids, types):
        B, S = ids.shape
        x = self.emb_ln(self.word[ids] + self.type[types] + self.pos[:S])
        hd = self.H // self.nh
        for layer in self.layers:
            if self.path == "eager":
                heads = lambda y: y.view(B, S, self.nh, hd).permute(0, 2, 1, 3)
                q, k, v = heads(layer["q"](x)), heads(layer["k"](x)), heads(layer["v"](x))
                # Every position is attended in the benchmark; the all-zero additive mask is still added, as HF does.
                scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + self.zero_mask
                ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(B, S, self.H)
                a = layer["ln1"](layer["o"](ctx) + x)
                x = layer["ln2"](layer["out"](F.gelu(layer["i"](a))) + a)
            else:
                x = layer(x)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(req.get("threads", os.cpu_count()))
    answer = {"torch": torch.__version__, "threads": torch.get_num_threads(), "timings": [], "check_logits": {}}
    g = torch.Generator().manual_seed(7)
    for path in req.get("paths", ["eager"]):
        models = [Bert(m, path) for m in req["models"]]
        with torch.inference_mode():
            if req.get("check_ids"):
                ids = torch.tensor(req["check_ids"])
                for m in models:
                    m.zero_mask = torch.zeros(ids.shape[0], 1, 1, ids.shape[1])
                answer["check_logits"][path] = [m(ids, torch.zeros_like(ids)).tolist() for m in models]
            for batch, seq in req["sizes"]:
                ids = torch.randint(1000, models[0].word.shape[0], (batch, seq), generator=g)
                types = torch.zeros_like(ids)
                for m in models:
                    m.zero_mask = torch.zeros(batch, 1, 1, seq)

                def run():
                    probs = [torch.softmax(m(ids, types), dim=-1) for m in models]
                    return sum(probs) / len(probs)

                for _ in range(req.get("warmup", 1)):
                    run()
                times = []
                for _ in range(req.get("reps", 3)):
                    t0 = time.perf_counter()
                    run()
                    times.append(time.perf_counter() - t0)
                answer["timings"].append({"path": path, "batch": batch, "seq": seq, "median": statistics.median(times), "times": times})
        del models
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
