"""The manifest stage's SHA-256 of 1 GiB of weights, against hashlib.file_digest in the same run.

Prints two ratios (machines here are noisy, so only ratios measured side by side mean anything):
  cold: the stage's SHA-256 of weights it has not seen, vs a plain file_digest  (target <= 1.10)
  warm: the stage re-run on unchanged weights (same DVC MD5), vs a full hash   (target <  0.05)

    .venv/bin/python benchmarks/manifest_hash.py [--size-mib 1024] [--rounds 5]
"""

import argparse
import hashlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from weightline.dvc.lock import Entry
from weightline.ops import manifest
from weightline.settings import Settings


def write_weights(path: Path, size_mib: int) -> str:
    """A file of the given size; returns its MD5, as dvc.lock would record it."""
    path.parent.mkdir(parents=True)
    block = hashlib.sha256(b"weights").digest() * (1 << 15)  # 1 MiB
    md5 = hashlib.md5()
    with path.open("wb") as handle:
        for i in range(size_mib):
            chunk = i.to_bytes(8, "little") + block[8:]
            handle.write(chunk)
            md5.update(chunk)
    return md5.hexdigest()


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="weightline-bench-"))
    try:
        weights = root / "models/model.safetensors"
        md5 = write_weights(weights, args.size_mib)
        entry = Entry("models/model.safetensors", md5, weights.stat().st_size, None)
        settings = Settings(
            root=root,
            artifact="model",
            weights="models/model.safetensors",
            holdout="data/holdout",
            metrics="reports/metrics.json",
            config="models/config.yaml",
        )
        cache = root / ".weightline"

        def baseline() -> None:
            with weights.open("rb") as handle:
                hashlib.file_digest(handle, "sha256")

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            manifest.weights_sha256(settings, entry)

        def warm() -> None:
            manifest.weights_sha256(settings, entry)

        baseline()  # page cache warm for everyone
        base, ours, again = [], [], []
        for _ in range(args.rounds):  # interleaved, so drift hits all three alike
            base.append(timed(baseline))
            ours.append(timed(cold))
            again.append(timed(warm))
        b, c, w = (statistics.median(x) for x in (base, ours, again))
        gib = entry.size / (1 << 30)
        print(f"weights: {gib:.2f} GiB, {args.rounds} rounds, medians")
        print(f"hashlib.file_digest (baseline): {b * 1000:8.1f} ms  ({gib / b:.2f} GiB/s)")
        print(f"manifest stage, new weights:    {c * 1000:8.1f} ms  ratio {c / b:.3f} (<= 1.10)")
        print(f"manifest stage, same weights:   {w * 1000:8.3f} ms  ratio {w / b:.5f} (< 0.05)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
