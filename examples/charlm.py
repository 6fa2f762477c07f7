"""A character-level LSTM language model on *The Song of Hiawatha*: the Knet tutorial's last model.

Characters are embedded (256), run through an LSTM (hidden 256) and scored over the
vocabulary at every step; the loss is the mean negative log likelihood of the next
character. Training uses windows of 100 characters from 128 parallel streams
(``rulegrad.data.char_batches``), carrying the LSTM state from one window to the next
(truncated backpropagation through time), and Adam. Afterwards the model is saved, loaded
back and asked to write.

The LSTM is written twice: ``lstm_steps`` is plain per-step numpy code (gates, ``tanh``,
elementwise products) that rulegrad records op by op; ``--fused`` uses the fused ``lstm``
primitive instead (one tape node for the whole sequence, backpropagation through time by
hand in its rule, like Knet's ``rnn``), which is about twice as fast.

    python examples/charlm.py [--epochs 10] [--fused] [--save charlm.npz] [--generate 500]
    python examples/charlm.py --load charlm.npz --epochs 0 --generate 1000
    mpiexec -n 2 python examples/charlm.py --distributed
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from _common import parse_args, plot_history

import rulegrad as rg
from rulegrad import nn
from rulegrad.data import Vocab, char_batches, hiawatha
from rulegrad.demo import progress, to_device
from rulegrad.optim import Adam, optimizers, update


# ---- the model: a dict of Params ----
def init(vocab: int, embed: int, hidden: int, rng: np.random.Generator) -> dict[str, rg.Param]:
    """Embedding (V, E), LSTM weights (E + H, 4H) and bias, output layer (H, V)."""

    def randn(*shape: int, scale: float) -> rg.Param:
        return rg.Param((scale * rng.standard_normal(shape)).astype(np.float32))

    b = np.zeros(4 * hidden, np.float32)
    b[hidden : 2 * hidden] = 1.0  # forget gates start open
    return {
        "embed": randn(vocab, embed, scale=0.1),
        "w": randn(embed + hidden, 4 * hidden, scale=1 / np.sqrt(embed + hidden)),
        "b": rg.Param(b),
        "wy": randn(hidden, vocab, scale=1 / np.sqrt(hidden)),
        "by": rg.Param(np.zeros(vocab, np.float32)),
    }


def lstm_steps(w: Any, b: Any, x: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
    """Run an LSTM over ``x`` (T, B, E) from ``(h, c)``: plain numpy, one step at a time.

    Returns the hidden states stacked in time order (T*B, H) and the final ``(h, c)``.
    """
    n = h.shape[-1]
    hs = []
    for t in range(x.shape[0]):
        z = np.concatenate([x[t], h], axis=1) @ w + b
        i, f, o = nn.sigm(z[:, :n]), nn.sigm(z[:, n : 2 * n]), nn.sigm(z[:, 2 * n : 3 * n])
        c = f * c + i * np.tanh(z[:, 3 * n :])
        h = o * np.tanh(c)
        hs.append(h)
    return np.concatenate(hs, axis=0), h, c


def lstm_fused(w: Any, b: Any, x: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
    """`lstm_steps` as one fused primitive (`rulegrad.nn.lstm`)."""
    hs, cs, _ = nn.lstm(w, b, x, h, c)
    return hs.reshape(-1, h.shape[-1]), hs[-1], cs[-1]


def loss(model: dict[str, Any], ids: Any, targets: Any, state: dict[str, Any], run: Any) -> Any:
    """Mean negative log likelihood of ``targets`` (B, T) given ``ids`` (B, T).

    Starts from ``state["h"], state["c"]`` and leaves the final state there (as constants).
    """
    x = model["embed"][ids.T]  # (T, B, E): time first
    hs, h, c = run(model["w"], model["b"], x, state["h"], state["c"])
    state["h"], state["c"] = rg.value(h), rg.value(c)
    scores = hs @ model["wy"] + model["by"]
    return nn.nll(scores, targets.T.reshape(-1))


# ---- writing ----
def generate(
    model: dict[str, Any], vocab: Vocab, n: int, rng: np.random.Generator, start: str = "\n"
) -> str:
    """Sample ``n`` characters, one at a time, feeding each back in (no tape: plain numpy)."""
    hidden = model["wy"].shape[0]
    state = {"h": np.zeros((1, hidden), np.float32), "c": np.zeros((1, hidden), np.float32)}
    ids = list(vocab.encode(start))
    for k in range(len(ids) + n - 1):
        x = model["embed"].value[[ids[min(k, len(ids) - 1)]]][None]  # (1, 1, E)
        _, h, c = lstm_steps(model["w"].value, model["b"].value, x, state["h"], state["c"])
        state["h"], state["c"] = h, c
        if k >= len(ids) - 1:
            p = nn.softmax(h @ model["wy"].value + model["by"].value)[0].astype(np.float64)
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return vocab.decode(ids[len(vocab.encode(start)) :])


def save(path: str, model: dict[str, Any], vocab: Vocab) -> None:
    """Write the model and the vocabulary to a checkpoint (`rg.save`: arrays and JSON)."""
    rg.save(path, {"model": model, "chars": vocab.chars})


def load(path: str) -> tuple[dict[str, rg.Param], Vocab]:
    """Read a model written by `save`."""
    saved = rg.load(path)
    return saved["model"], Vocab(saved["chars"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, save, load and generate; returns the losses and the text written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes over the text")
    parser.add_argument("--embed", type=int, default=256, help="embedding size")
    parser.add_argument("--hidden", type=int, default=256, help="LSTM hidden size")
    parser.add_argument("--seqlen", type=int, default=100, help="characters per window")
    parser.add_argument("--batch", type=int, default=128, help="parallel streams")
    parser.add_argument("--windows", type=int, default=0, help="windows per epoch (0: all)")
    parser.add_argument("--lr", type=float, default=0.004, help="Adam's learning rate")
    parser.add_argument("--gclip", type=float, default=5.0, help="clip each gradient's norm")
    parser.add_argument("--fused", action="store_true", help="use the fused lstm primitive")
    parser.add_argument("--save", metavar="NPZ", help="save the trained model here")
    parser.add_argument("--load", metavar="NPZ", help="start from this saved model")
    parser.add_argument("--generate", type=int, default=500, help="characters to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--gpu", action="store_true", help="train on the GPU (needs cupy)")
    parser.add_argument("--plot", metavar="PNG", help="save the loss curve to this file")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel on the ranks of mpiexec (rank 0 prints; the --batch streams are split)",
    )
    args = parse_args(parser, argv)  # checks --gpu and --plot before loading data

    text = hiawatha()
    rng = np.random.default_rng(args.seed)
    if args.load:
        model, vocab = load(args.load)
    else:
        vocab = Vocab(text)
        model = init(len(vocab), args.embed, args.hidden, rng)
    model = to_device(model, args.gpu)
    dp, rows = None, args.batch
    if args.distributed:  # every rank runs this script: each its streams of every window
        from rulegrad import distributed as dist

        dist.main_prints()
        dp = dist.DataParallel(model).activate()  # rank 0's model; gradients reduced
        rows = len(dist.shard(args.batch))
    run = lstm_fused if args.fused else lstm_steps
    windows = char_batches(vocab.encode(text), args.batch, args.seqlen)
    if args.windows:
        windows = windows[: args.windows]
    hidden = model["wy"].shape[0]
    kind = "fused" if args.fused else "plain"
    print(
        f"{len(text)} characters, {len(vocab)} distinct; {len(windows)} windows of "
        f"{args.batch} x {args.seqlen} per epoch; {kind} LSTM"
    )

    def fresh_state() -> dict[str, Any]:
        zeros = np.zeros((rows, hidden), np.float32)
        return to_device({"h": zeros, "c": zeros}, args.gpu)

    ids, targets = to_device(list(windows[0]), args.gpu)
    if dp is not None:
        ids, targets = dp.shard(ids, targets)
    start = float(loss(model, ids, targets, fresh_state(), run))  # before training, no tape
    opts = optimizers(model, Adam, lr=args.lr, gclip=args.gclip)
    losses = []
    for epoch in range(1, args.epochs + 1):
        state = fresh_state()
        bar = progress(windows, desc=f"epoch {epoch:2d}/{args.epochs}")
        total = 0.0
        for ids, targets in bar:
            ids, targets = to_device([ids, targets], args.gpu)
            if dp is not None:
                ids, targets = dp.shard(ids, targets)  # this rank's streams
            J = rg.diff(loss, model, ids, targets, state, run)
            update(model, {k: rg.grad(J, p) for k, p in model.items()}, opts)
            total += float(J)
            bar.set(loss=total / (bar.count + 1))
        losses.append(total / len(windows))

    if args.save:
        if dp is None or dp.world.main:  # one rank writes
            save(args.save, model, vocab)
        if dp is not None:
            dist.barrier()
        model, vocab = load(args.save)
        print(f"saved the model to {args.save} and loaded it back")
    sample = generate(model, vocab, args.generate, rng) if args.generate else ""
    print(sample)
    if args.plot:
        plot_history(
            args.plot,
            title=f"Character LSTM on Hiawatha ({kind})",
            losses={"training loss (epoch mean; 0: the first window)": [start, *losses]},
            loss_label="nats per character",
        )
    return {"start": start, "losses": losses, "text": sample}


if __name__ == "__main__":
    main()
