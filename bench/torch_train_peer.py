"""PyTorch eager training-step peer for bench/training.ts: the same BERT checkpoint, one AdamW step.

Reads one JSON request on stdin: {"model": dir, "batch": 16, "seq": 128, "warmup": 1, "reps": 3,
"threads": 2}; writes {"torch": version, "threads": n, "median": s, "times": [...]} on stdout.
The model is torch_peer.py's eager Bert (the Hugging Face computation written out), with the
embedding tables made trainable too and dropout off (as bertfuse trains); one step = forward,
mean cross-entropy, backward, torch.optim.AdamW step.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import Bert  # noqa: E402


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(req.get("threads", os.cpu_count()))
    model = Bert(req["model"], "eager")
    model.word = nn.Parameter(model.word)
    model.pos = nn.Parameter(model.pos)
    model.type = nn.Parameter(model.type)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
    g = torch.Generator().manual_seed(7)
    B, S = req["batch"], req["seq"]
    ids = torch.randint(1000, model.word.shape[0], (B, S), generator=g)
    types = torch.zeros_like(ids)
    labels = torch.randint(0, 2, (B,), generator=g)
    model.zero_mask = torch.zeros(B, 1, 1, S)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids, types), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(req.get("warmup", 1)):
        step()
    times = []
    for _ in range(req.get("reps", 3)):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "median": statistics.median(times), "times": times}, sys.stdout)


if __name__ == "__main__":
    main()
