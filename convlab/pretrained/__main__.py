"""``python -m convlab.pretrained``: list, retrain or check the course's trained models.

python -m convlab.pretrained list              the manifest as a table
python -m convlab.pretrained train [NAME ...]  retrain (all by default), rewrite weights + manifest
python -m convlab.pretrained check             hashes and held-out metrics vs the manifest
python -m convlab.pretrained                   demo: the table, then one entry checked
"""

from __future__ import annotations

import argparse
import math

import torch

from convlab import pretrained


def _row(name: str, entry: dict) -> str:
    m = entry["metrics"]
    if "accuracy" in m:
        score = f"accuracy {m['accuracy']:.3f} (boundary {m['boundary']:.3f})"
    else:
        score = f"{m['psnr_noisy']:.2f} -> {m['psnr_denoised']:.2f} dB"
    return f"{name:18s} {entry['steps']:6d} {entry['seconds']:8.0f} s  {score}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convlab.pretrained", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("list", "train", "check"))
    parser.add_argument("names", nargs="*", help=f"entries (default: all): {pretrained.NAMES}")
    args = parser.parse_args(argv)
    if args.command is None:  # the self-demo: the manifest, then the smallest model re-checked
        main(["list"])
        return main(["check", "srcnn"])
    names = args.names or list(pretrained.NAMES)
    for name in names:
        pretrained._recipe(name)  # unknown names fail before any training
    if args.command == "list":
        entries = pretrained.manifest()["entries"]
        for name in names:
            print(_row(name, entries[name]) if name in entries else f"{name:18s} (no weights)")
        return 0
    if args.command == "train":
        for name in names:
            model, history = pretrained.train(name, progress=True)
            print(_row(name, pretrained.save(name, model, history)), flush=True)
        return 0
    failed = 0
    entries = pretrained.manifest()["entries"]
    for name in names:
        if name not in entries:
            print(f"{name:18s} no committed weights")
            continue
        got = pretrained.evaluate(name)  # load() checks the sha256
        worst = max(abs(got[k] - v) for k, v in entries[name]["metrics"].items())
        ok = math.isfinite(worst) and worst < 1e-3
        failed += not ok
        print(f"{name:18s} sha256 ok, metrics {'match' if ok else 'DIFFER'} (max diff {worst:.1e})")
    return int(failed > 0)


if __name__ == "__main__":
    torch.set_num_threads(1)
    raise SystemExit(main())
