"""Times torch's float32 matrix products the way a BERT-base training step uses them, for
bench/peer-blas.ts, which runs this once per OpenBLAS core type (OPENBLAS_CORETYPE) and gives the
PyTorch peer the fastest. Prints one JSON line: {"blas": library, "gflops": mean over the shapes}.

The shapes are BERT-base at 16 x 128 tokens (2048 rows): a forward product (x W^T), the input
gradient (dY W) and the weight gradient (dY^T x), for the 768 -> 3072 feed-forward matrix.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train_peer import blas_library  # noqa: E402


def gflops(fn, flops, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rows, d, ff = 2048, 768, 3072
    x, w, dy = torch.randn(rows, d), torch.randn(ff, d), torch.randn(rows, ff)
    flops = 2 * rows * d * ff
    with torch.no_grad():
        rates = [
            gflops(lambda: x @ w.t(), flops, reps),
            gflops(lambda: dy @ w, flops, reps),
            gflops(lambda: dy.t() @ x, flops, reps),
        ]
    print(json.dumps({"blas": blas_library(), "gflops": sum(rates) / len(rates)}))


if __name__ == "__main__":
    main()
