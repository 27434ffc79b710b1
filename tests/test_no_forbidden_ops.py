"""``scratch`` must build every layer from elementary tensor operations.

This test reads the source of ``src/scratch`` and fails on any call to the op a layer
re-implements: ``torch.nn.functional`` (except ``pad``), ``torch.nn.init``, torch.nn layer
classes, and the fused ``torch.*`` / ``Tensor.*`` kernels behind them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "scratch"

# Fused kernels a layer could hide behind: torch.<name>(...) or tensor.<name>(...).
FORBIDDEN_TORCH = {
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "convolution",
    "embedding",
    "embedding_bag",
    "rnn_tanh",
    "rnn_relu",
    "lstm",
    "gru",
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "lstm_cell",
    "gru_cell",
    "_thnn_fused_lstm_cell",
    "_thnn_fused_gru_cell",
    "batch_norm",
    "native_batch_norm",
    "layer_norm",
    "native_layer_norm",
    "group_norm",
    "native_group_norm",
    "instance_norm",
    "dropout",
    "feature_dropout",
    "alpha_dropout",
    "native_dropout",
    "bernoulli_",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "softmax",
    "log_softmax",
    "_softmax",
    "relu",
    "relu_",
    "gelu",
    "sigmoid",
    "sigmoid_",
    "tanh",
    "tanh_",
    "scaled_dot_product_attention",
    "_native_multi_head_attention",
    "linear",
    "addmm",
    "bilinear",
}
# torch.nn containers a model may use; every other nn.<Name> is a layer we re-implement.
ALLOWED_NN = {
    "Module",
    "ModuleList",
    "ModuleDict",
    "Parameter",
    "ParameterList",
    "ParameterDict",
    "Sequential",
    "Identity",
    "Buffer",
}
ALLOWED_F = {"pad"}


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def violations(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    found = []
    f_aliases = {"F"}
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("torch.nn.functional") or node.module.startswith(
                "torch.nn.init"
            ):
                bad = [a.name for a in node.names if a.name not in ALLOWED_F]
                if bad:
                    found.append(f"{where}: from {node.module} import {', '.join(bad)}")
            if node.module == "torch.nn":
                for a in node.names:
                    if a.name == "functional":
                        f_aliases.add(a.asname or a.name)
                    elif a.name == "init" or (a.name[0].isupper() and a.name not in ALLOWED_NN):
                        found.append(f"{where}: from torch.nn import {a.name}")
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "torch.nn.functional":
                    f_aliases.add(a.asname or "torch.nn.functional")
        if isinstance(node, ast.Attribute):
            name = _dotted(node)
            head, _, last = name.rpartition(".")
            if head in f_aliases or head in {"torch.nn.functional", "nn.functional"}:
                if last not in ALLOWED_F:
                    found.append(f"{where}: {name}")
            elif head in {"torch.nn.init", "nn.init"}:
                found.append(f"{where}: {name}")
            elif head in {"nn", "torch.nn"} and last[:1].isupper() and last not in ALLOWED_NN:
                found.append(f"{where}: {name}")
            elif last in FORBIDDEN_TORCH and isinstance(node.ctx, ast.Load):
                # torch.relu(x), x.softmax(-1), torch.Tensor.tanh; a module's own
                # attribute (self.dropout, self.linear) is a sub-layer, not a kernel.
                if not head.startswith("self"):
                    found.append(f"{where}: {name}")
    return found


# Not layers: the shared training loop computes its loss with torch's cross-entropy, as any
# user of the layers would; it re-implements nothing.
NOT_LAYERS = {"training.py"}
# The exercises' checks compare a reader's answer with torch's own op: that is their job.
NOT_LAYER_DIRS = {"exercises"}
SOURCES = sorted(
    p
    for p in SRC.rglob("*.py")
    if str(p.relative_to(SRC)) not in NOT_LAYERS
    and p.relative_to(SRC).parts[0] not in NOT_LAYER_DIRS
)


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(SRC)) for p in SOURCES])
def test_layer_source_uses_no_fused_op(path: Path) -> None:
    assert violations(path.read_text(), str(path.relative_to(SRC))) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch.nn.functional as F\ny = F.conv2d(x, w)",
        "from torch.nn import functional as G\ny = G.softmax(x, -1)",
        "y = torch.nn.functional.linear(x, w)",
        "from torch.nn.functional import embedding",
        "y = x.softmax(-1)",
        "y = torch.layer_norm(x, (4,))",
        "m = nn.Linear(3, 4)",
        "torch.nn.init.kaiming_uniform_(w)",
        "y = torch.sigmoid(x)",
    ],
)
def test_checker_catches_each_kind_of_call(snippet: str) -> None:
    assert violations(snippet, "<snippet>"), snippet


def test_checker_allows_elementary_ops() -> None:
    ok = (
        "import torch.nn.functional as F\ny = F.pad(x, (1, 1))\n"
        "z = torch.einsum('ij,jk->ik', a, b)\nm = nn.Module()"
    )
    assert violations(ok, "<snippet>") == []


def test_the_exemptions_exist_and_define_no_layer() -> None:
    for name in NOT_LAYERS:
        text = (SRC / name).read_text()
        assert "class " not in text, f"{name} defines a class: it may be a layer after all"
    for folder in NOT_LAYER_DIRS:
        files = list((SRC / folder).glob("*.py"))
        assert files, folder
        for path in files:
            text = path.read_text()
            assert "(nn.Module)" not in text and "Module):" not in text, f"{path} defines a layer"
