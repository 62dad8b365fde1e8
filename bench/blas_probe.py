"""Times torch on this machine for bench/peer-blas.ts, which runs it under each candidate setting of
the PyTorch peer's environment (OpenBLAS core type, OpenBLAS build, OpenMP wait policy) and starts
the peer with the fastest. Prints one JSON line: {"blas": library, "gflops": rate, "seconds": time}.

  blas_probe.py gemm [threads]   float32 products the way a BERT-base training step uses them
                                 (16 x 128 = 2048 rows; forward x W^T, input gradient dY W, weight
                                 gradient dY^T x, for the 768 -> 3072 matrix): mean GFLOP/s
  blas_probe.py layer [threads]  one BERT-base encoder layer, forward and backward, at 4 x 128 and
                                 at 1 x 32: products plus the small element-wise ops between them,
                                 whose cost is mostly waking threads (an OpenMP pool that spins
                                 while OpenBLAS's own threads want the same 2 cores can take ms each)
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train_peer import blas_library  # noqa: E402


def best_of(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm(reps):
    rows, d, ff = 2048, 768, 3072
    x, w, dy = torch.randn(rows, d), torch.randn(ff, d), torch.randn(rows, ff)
    flops = 2 * rows * d * ff
    with torch.no_grad():
        times = [best_of(f, reps) for f in (lambda: x @ w.t(), lambda: dy @ w, lambda: dy.t() @ x)]
    return {"gflops": sum(flops / t / 1e9 for t in times) / len(times), "seconds": sum(times)}


def layer(reps):
    d, heads, ff = 768, 12, 3072
    p = {n: (torch.randn(*s) * 0.02).requires_grad_() for n, s in
         {"qkv": (3 * d, d), "o": (d, d), "i": (ff, d), "out": (d, ff)}.items()}

    def step(b, s):
        x = torch.randn(b, s, d, requires_grad=True)
        q, k, v = F.linear(x, p["qkv"]).view(b, s, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / 8.0, dim=-1) @ v
        h = F.layer_norm(x + F.linear(a.transpose(1, 2).reshape(b, s, d), p["o"]), (d,))
        y = F.layer_norm(h + F.linear(F.gelu(F.linear(h, p["i"])), p["out"]), (d,))
        y.sum().backward()

    seconds = best_of(lambda: step(4, 128), reps) + 4 * best_of(lambda: step(1, 32), reps)
    return {"gflops": 0.0, "seconds": seconds}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "gemm"
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    torch.manual_seed(0)
    out = gemm(3) if mode == "gemm" else layer(5)
    print(json.dumps({"blas": blas_library(), **out}))


if __name__ == "__main__":
    main()
