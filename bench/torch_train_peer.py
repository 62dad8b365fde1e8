"""PyTorch eager training-step peer for bench/training.ts: the same BERT checkpoint, the same batch.

A long-lived process driven by JSON lines on stdin (one answer line each on stdout), so the bench
can alternate our step and this one (round-robin) while both models stay loaded:
  {"cmd": "init", "model": dir, "ids": [[...]], "labels": [...], "threads": 2, "lr": 1e-5,
   "weight_decay": 0.01, "clip": 1.0}              -> {"torch": version, "threads": n, "blas": library}
  {"cmd": "step"}                                  -> {"seconds": s, "loss": l}
  {"cmd": "dump", "path": file, "names": [...]}    -> {"ok": true}  (float32 LE, checkpoint layout)
  {"cmd": "quit"}
The model is torch_peer.py's eager Bert (the Hugging Face computation written out) with the
embedding tables trainable too and dropout off (as bertfuse trains). One step = zero_grad,
forward, mean cross-entropy, backward, clip_grad_norm_, torch.optim.AdamW step: what
`loss.backward(); opt.step()` costs in a PyTorch fine-tuning loop. `seconds` is timed here, around
the step only (the pipe and JSON are outside it).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import Bert  # noqa: E402


def hf_params(model):
    """Hugging Face tensor name -> the peer's parameter (names without the `bert.` prefix)."""
    out = {
        "embeddings.word_embeddings.weight": model.word,
        "embeddings.position_embeddings.weight": model.pos,
        "embeddings.token_type_embeddings.weight": model.type_emb,
        "embeddings.LayerNorm.weight": model.emb_ln.weight,
        "embeddings.LayerNorm.bias": model.emb_ln.bias,
        "pooler.dense.weight": model.pooler.weight,
        "pooler.dense.bias": model.pooler.bias,
        "classifier.weight": model.classifier.weight,
        "classifier.bias": model.classifier.bias,
    }
    modules = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
               "o": "attention.output.dense", "i": "intermediate.dense", "out": "output.dense",
               "ln1": "attention.output.LayerNorm", "ln2": "output.LayerNorm"}
    for n, layer in enumerate(model.layers):
        for key, name in modules.items():
            out[f"encoder.layer.{n}.{name}.weight"] = layer[key].weight
            out[f"encoder.layer.{n}.{name}.bias"] = layer[key].bias
    return out


def lookup(params, name):
    if name in params:
        return params[name]
    if name.startswith("bert.") and name[5:] in params:
        return params[name[5:]]
    raise SystemExit(f"torch_train_peer: no parameter {name}")


class Peer:
    def __init__(self, req):
        torch.set_num_threads(req.get("threads", os.cpu_count()))
        model = Bert(req["model"], "eager")
        model.word = nn.Parameter(model.word)
        model.pos = nn.Parameter(model.pos)
        # `type` is also nn.Module's method, so the parameter is registered as type_emb and the
        # instance attribute the forward reads (self.type) is pointed at it.
        model.type_emb = nn.Parameter(model.type)
        model.__dict__["type"] = model.type_emb
        model.train()
        self.model = model
        self.params = hf_params(model)
        if len({id(p) for p in self.params.values()}) != len(list(model.parameters())):
            raise SystemExit("torch_train_peer: the name map does not cover every parameter")
        self.opt = torch.optim.AdamW(model.parameters(), lr=req["lr"], weight_decay=req.get("weight_decay", 0.01))
        self.clip = req.get("clip", 1.0)
        self.ids = torch.tensor(req["ids"], dtype=torch.int64)
        self.types = torch.zeros_like(self.ids)
        self.labels = torch.tensor(req["labels"], dtype=torch.int64)
        B, S = self.ids.shape
        model.zero_mask = torch.zeros(B, 1, 1, S)

    def step(self):
        t0 = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(self.ids, self.types), self.labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "loss": loss.item()}

    def dump(self, path, names):
        with open(path, "wb") as f:
            for name in names:
                f.write(lookup(self.params, name).detach().contiguous().numpy().astype("<f4").tobytes())
        return {"ok": True}


def blas_library():
    """The BLAS torch's matmuls landed in: Debian's torch links libblas.so.3, whose alternative may be
    the slow reference BLAS (libblas3) or OpenBLAS (libopenblas0-openmp): the bench says which."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line and "/" in line}
    except OSError:
        return "unknown"
    real = sorted({os.path.realpath(p) for p in libs})
    # Debian ships two OpenBLAS builds under one file name: the folder says which (openblas-openmp
    # shares torch's OpenMP threads; openblas-pthread keeps a pool of its own).
    openblas = [f"{os.path.basename(p)} ({os.path.basename(os.path.dirname(p))})" for p in real if "libopenblas" in os.path.basename(p)]
    if openblas:
        return openblas[0]
    if any(p.endswith("/blas/libblas.so.3") for p in real):
        return "reference BLAS (libblas3: slow; apt-get install libopenblas0-openmp)"
    return ", ".join(real) or "none"


def main():
    peer = None
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "init":
            peer = Peer(req)
            answer = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library()}
        elif cmd == "step":
            answer = peer.step()
        elif cmd == "dump":
            answer = peer.dump(req["path"], req["names"])
        elif cmd == "quit":
            break
        else:
            raise SystemExit(f"torch_train_peer: unknown command {cmd}")
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
