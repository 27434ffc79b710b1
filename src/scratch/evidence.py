"""Claim verdicts: the one way the book states whether a claim held.

A chapter measures something, decides, and calls :func:`verdict`, which prints one line
that starts with the claim id::

    C40 holds: two stacked linear layers equal one linear layer to 2.4e-07

The evidence appendix collects these lines from the executed chapters, so the ledger is
built from the same runs that nbval re-checks, never typed by hand.
"""

from __future__ import annotations

import re

HOLDS = "holds"
CAVEAT = "holds with a caveat"
FAILS = "does not hold"
UNTESTABLE = "not testable"
VERDICTS = (HOLDS, CAVEAT, FAILS, UNTESTABLE)

_CLAIM_ID = re.compile(r"^C\d{2}$")
# A printed verdict line, as the appendix parses it back.
LINE = re.compile(r"^(C\d{2}) (holds with a caveat|holds|does not hold|not testable): (.+)$")


def format_verdict(claim: str, status: str, evidence: str) -> str:
    """Check the parts and return ``"<claim> <status>: <evidence>"`` (for files)."""
    if not _CLAIM_ID.match(claim):
        raise ValueError(f"verdict: claim id must look like 'C07', got {claim!r}")
    if status not in VERDICTS:
        raise ValueError(f"verdict: status must be one of {VERDICTS}, got {status!r}")
    if not evidence or "\n" in evidence:
        raise ValueError("verdict: evidence must be one non-empty line")
    return f"{claim} {status}: {evidence}"


def verdict(claim: str, status: str, evidence: str) -> None:
    """Print ``"<claim> <status>: <evidence>"``.

    ``status`` must be one of :data:`VERDICTS` and should be computed from a measurement
    in the same run, e.g. ``HOLDS if err < 1e-5 else FAILS``. Returns nothing, so a
    notebook cell that ends in a verdict shows the line once.
    """
    print(format_verdict(claim, status, evidence))


def decide(condition: bool, caveat: bool = False) -> str:
    """``HOLDS``/``CAVEAT`` when ``condition`` is true, ``FAILS`` otherwise."""
    if not condition:
        return FAILS
    return CAVEAT if caveat else HOLDS


def parse(text: str) -> list[tuple[str, str, str]]:
    """All ``(claim, status, evidence)`` triples printed in ``text``."""
    return [m.groups() for m in map(LINE.match, text.splitlines()) if m]


# Every claim the book tests, in the book's own words, with the chapter that checks it.
CLAIMS: dict[str, tuple[str, str]] = {
    "C01": ("A dense layer from n inputs to m outputs stores n*m weights and m biases (256 -> 128: 32,768 weights).", "1"),
    "C02": ("A 256x256 RGB image holds 196,608 numbers; a dense layer on it needs millions of weights, a convolution a handful.", "1"),
    "C03": ("At 1000x1000 pixels a dense layer is out of reach while a convolution's cost grows gently.", "1, E"),
    "C04": ("Convolution is translation-equivariant: shifting the input shifts the feature map.", "1"),
    "C05": ("Early convolution filters respond to edges and textures, later ones to larger patterns.", "6"),
    "C06": ("An embedding is a trainable lookup table mapping token ids to short dense vectors instead of vocabulary-sized one-hot vectors.", "1"),
    "C07": ("Learned embeddings place related items close together; king - man + woman lands near queen.", "1"),
    "C08": ("Dense layers can approximate any function, at a high parameter cost.", "1"),
    "C10": ("A vanilla RNN's hidden-state recurrence makes gradients through time vanish or explode.", "2, E"),
    "C11": ("LSTM gates let gradients survive over long sequences.", "2, E"),
    "C12": ("A GRU has two gates and fewer parameters than an LSTM, trains faster and does about as well.", "2, E"),
    "C13": ("Attention is softmax(QK^T / sqrt(d_k)) V; the sqrt(d_k) keeps the softmax out of saturation.", "2"),
    "C14": ("Self-attention connects any two positions in one step, whatever their distance.", "2, E"),
    "C15": ("An LSTM takes n sequential steps, a transformer handles all positions at once with O(n^2) attention; for long sequences it trains faster.", "2, E"),
    "C16": ("Different attention heads learn different relations.", "2, 6"),
    "C17": ("Stacks of transformer blocks (encoder, decoder, encoder-decoder) underlie BERT and GPT.", "2"),
    "C20": ("Dropout zeroes each unit with probability p (usually 0.2-0.5); at p = 0.5 on 100 units the number dropped is random.", "3"),
    "C21": ("Dropout is off at inference; scaling by (1-p) at test time and inverted dropout agree in expectation.", "3"),
    "C22": ("Dropout trains an implicit ensemble of 2^n thinned networks that share weights.", "3"),
    "C23": ("Dropout reduces overfitting.", "3, E"),
    "C24": ("Batch norm normalizes with batch statistics, applies a learned scale and shift, and uses running statistics at inference.", "3"),
    "C25": ("Batch norm permits higher learning rates and faster training.", "3, E"),
    "C26": ("Batch norm works by reducing internal covariate shift.", "3"),
    "C27": ("Batch norm also regularizes and can sometimes replace dropout in convolutional nets.", "3, E"),
    "C28": ("Batch norm can sit before or after the activation; before is more common.", "3"),
    "C29": ("Batch, layer, group and instance norm differ in the axes their statistics cover.", "3"),
    "C30": ("2x2 pooling halves each spatial side and has no parameters.", "4"),
    "C31": ("Max pooling keeps the strongest response, average pooling the overall presence.", "4"),
    "C32": ("Pooling adds translation invariance and helps against overfitting.", "4"),
    "C33": ("A strided convolution can learn how to downsample; modern networks prefer it.", "4"),
    "C34": ("Residual connections compute F(x) + x so gradients bypass F; very deep residual nets beat shallower ones while plain deep nets degrade.", "4, E"),
    "C35": ("A 50-layer CNN whose early gradients vanish is fixed by residual connections and by normalization.", "4, E"),
    "C36": ("Dense (DenseNet-style) connections reuse features and save parameters.", "4"),
    "C37": ("Bottleneck layers cut computation.", "4"),
    "C40": ("Without nonlinear activations, stacked linear layers collapse into one linear layer.", "0"),
    "C41": ("Without biases every pre-activation is forced through zero.", "0"),
    "C42": ("Initializing all weights to zero is a poor choice.", "5"),
    "C43": ("Xavier/Glorot initialization keeps activation variance steady across layers; He initialization does so for ReLU.", "5"),
    "C44": ("Document 003's small image classifier has feature maps 26x26x32, 13x13x32, 11x11x64, 5x5x64, 1,600 features and 'about 200,000' parameters; a dense net on raw pixels would need millions.", "7"),
    "C45": ("Too high a learning rate oscillates, too low a rate crawls.", "5"),
    "C46": ("Gradient clipping prevents exploding gradients.", "5"),
    "C47": ("In deep plain networks the early layers' gradients become very small.", "4, 5, E"),
    "C48": ("Depth buys hierarchy, width buys capacity at one level.", "0"),
    "C49": ("Ablation and representational similarity show what each layer contributes.", "6"),
}  # fmt: skip


def _notebook_text(path) -> str:
    """All text a notebook's stored outputs printed (streams and text/plain results)."""
    import json

    chunks = []
    for cell in json.loads(open(path, encoding="utf-8").read())["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                chunks.append("".join(out["text"]))
            elif "data" in out and "text/plain" in out["data"]:
                chunks.append("".join(out["data"]["text/plain"]))
    return "\n".join(chunks)


def collect(book_dir, results_dir=None) -> list[dict[str, str]]:
    """Every verdict printed by the executed notebooks in ``book_dir`` and written by the
    experiments under ``results_dir`` (their ``verdicts.txt``), one dict per verdict."""
    from pathlib import Path

    rows = []
    for path in sorted(Path(book_dir).glob("*.ipynb")):
        for claim, status, evidence in parse(_notebook_text(path)):
            rows.append(
                {"claim": claim, "verdict": status, "evidence": evidence, "source": path.stem}
            )
    if results_dir is not None:
        for path in sorted(Path(results_dir).glob("*/*/verdicts.txt")):
            source = f"experiment {path.parent.parent.name} ({path.parent.name})"
            for claim, status, evidence in parse(path.read_text(encoding="utf-8")):
                rows.append(
                    {"claim": claim, "verdict": status, "evidence": evidence, "source": source}
                )
    return rows
