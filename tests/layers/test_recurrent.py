"""Parity, gradients, initialization, state layout, dropout and bad inputs of RNN, LSTM, GRU."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence

import scratch
from tests.parity import assert_parity, assert_same_state_layout, flatten

# torch's own LSTM says it leaves oneDNN for projections; not ours to report
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

# kind -> (layer name, extra constructor kwargs)
KINDS = {
    "RNN_tanh": ("RNN", {"nonlinearity": "tanh"}),
    "RNN_relu": ("RNN", {"nonlinearity": "relu"}),
    "LSTM": ("LSTM", {}),
    "GRU": ("GRU", {}),
}
NAMES = ["RNN", "LSTM", "GRU"]


def _pair(name: str, *args, seed: int = 0, **kwargs) -> tuple[nn.Module, nn.Module]:
    """(ours, theirs), each built right after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    theirs = getattr(nn, name)(*args, **kwargs)
    torch.manual_seed(seed)
    ours = getattr(scratch, name)(*args, **kwargs)
    return ours, theirs


def _randn(shape, seed: int, dtype=torch.float32, scale: float = 1.5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def _inputs(m, seq_len, batch, unbatched, init_state, seed, dtype=torch.float32) -> list:
    """[x] or [x, h_0] or [x, h_0, c_0] shaped for module ``m`` (ours or torch's)."""
    if unbatched:
        shape = (seq_len, m.input_size)
    elif m.batch_first:
        shape = (batch, seq_len, m.input_size)
    else:
        shape = (seq_len, batch, m.input_size)
    xs = [_randn(shape, seed, dtype)]
    if init_state:
        sizes = [getattr(m, "proj_size", 0) or m.hidden_size]  # h_0
        if isinstance(m, nn.LSTM | scratch.LSTM):
            sizes.append(m.hidden_size)  # c_0
        lead = (m.num_layers * (2 if m.bidirectional else 1),) + (() if unbatched else (batch,))
        xs += [_randn((*lead, size), seed + 1 + i, dtype, 0.8) for i, size in enumerate(sizes)]
    return xs


def _call(m: nn.Module, x, *states):
    """m(x), m(x, h_0) or m(x, (h_0, c_0))."""
    if not states:
        return m(x)
    return m(x, states[0] if len(states) == 1 else tuple(states))


# ----------------------------------------------------------------------------- parity
@st.composite
def configs(draw, kind: str):
    hidden = draw(st.integers(1, 6))
    kwargs = dict(
        KINDS[kind][1],
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
    )
    if kind == "LSTM" and hidden > 1 and draw(st.booleans()):
        kwargs["proj_size"] = draw(st.integers(1, hidden - 1))
    run = dict(
        seq_len=draw(st.integers(1, 6)),
        batch=draw(st.integers(1, 3)),
        unbatched=draw(st.booleans()),
        init_state=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )
    return draw(st.integers(1, 5)), hidden, kwargs, run, draw(st.booleans())


@pytest.mark.parametrize("kind", list(KINDS))
@given(data=st.data())
def test_parity_with_torch(kind, data):
    """Outputs, h_n (and c_n), and the gradients of input, initial states and parameters."""
    input_size, hidden, kwargs, run, train = data.draw(configs(kind))
    ours, theirs = _pair(KINDS[kind][0], input_size, hidden, seed=run["seed"], **kwargs)
    xs = _inputs(theirs, **run)
    assert_parity(ours, theirs, *xs, train=train, call=_call)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_parity_on_a_long_sequence(kind, batch_first):
    """60 steps, 2 layers, both directions: rounding differences do not pile up past 1e-5."""
    name, extra = KINDS[kind]
    ours, theirs = _pair(
        name, 3, 8, num_layers=2, bidirectional=True, batch_first=batch_first, **extra
    )
    xs = _inputs(theirs, seq_len=60, batch=2, unbatched=False, init_state=True, seed=3)
    assert_parity(ours, theirs, *xs, call=_call)


def test_lstm_with_projection_parity():
    ours, theirs = _pair("LSTM", 3, 6, num_layers=3, proj_size=2, bidirectional=True)
    assert theirs.weight_hr_l2_reverse.shape == ours.weight_hr_l2_reverse.shape == (2, 6)
    xs = _inputs(theirs, seq_len=5, batch=4, unbatched=False, init_state=True, seed=1)
    assert_parity(ours, theirs, *xs, call=_call)
    out, (h_n, c_n) = ours(xs[0])
    assert out.shape == (5, 4, 4) and h_n.shape == (6, 4, 2) and c_n.shape == (6, 4, 6)


@pytest.mark.parametrize("name", NAMES)
def test_float64_parity(name):
    ours, theirs = _pair(name, 4, 5, num_layers=2, bidirectional=True, dtype=torch.float64)
    assert ours.weight_ih_l1.dtype == torch.float64
    xs = _inputs(theirs, 4, 3, False, True, 0, dtype=torch.float64)
    assert_parity(ours, theirs, *xs, call=_call, atol=1e-12, rtol=1e-12)


# -------------------------------------------------------------------- initialization
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "kwargs",
    [{}, dict(num_layers=3, bidirectional=True), dict(num_layers=2, bias=False)],
)
def test_same_seed_gives_bit_identical_weights(kind, kwargs):
    name, extra = KINDS[kind]
    torch.manual_seed(7)
    theirs = getattr(nn, name)(5, 9, **extra, **kwargs)
    after_theirs = torch.get_rng_state()
    torch.manual_seed(7)
    ours = getattr(scratch, name)(5, 9, **extra, **kwargs)
    assert torch.equal(torch.get_rng_state(), after_theirs), "RNG consumed differently"
    for (n, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    bound = 1 / 9**0.5
    assert all(p.abs().max() <= bound for p in ours.parameters())


def test_same_seed_lstm_with_projection_and_reset_parameters():
    ours, theirs = _pair("LSTM", 4, 6, num_layers=2, proj_size=3, bidirectional=True, seed=11)
    for (n, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    torch.manual_seed(1), ours.reset_parameters()
    torch.manual_seed(1), theirs.reset_parameters()
    for (n, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), n


# ------------------------------------------------------------ layout, counts, repr
LAYOUTS = [
    ("RNN", {}),
    ("RNN", dict(nonlinearity="relu", num_layers=3, bias=False)),
    ("RNN", dict(num_layers=2, bidirectional=True, batch_first=True, dropout=0.25)),
    ("LSTM", {}),
    ("LSTM", dict(num_layers=2, bidirectional=True, bias=False)),
    ("LSTM", dict(num_layers=3, proj_size=2, bidirectional=True, dropout=0.5)),
    ("LSTM", dict(proj_size=4, bias=False, batch_first=True)),
    ("GRU", {}),
    ("GRU", dict(num_layers=3, bidirectional=True, dropout=0.1)),
    ("GRU", dict(bias=False, batch_first=True)),
]


@pytest.mark.parametrize(("name", "kwargs"), LAYOUTS)
@pytest.mark.parametrize("dtype", [None, torch.float64])
def test_state_dict_both_ways_counts_and_repr(name, kwargs, dtype):
    ours, theirs = _pair(name, 3, 5, dtype=dtype, **kwargs)
    assert_same_state_layout(ours, theirs)  # keys, order, shapes, dtypes; loads both ways
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert list(ours.buffers()) == [] == list(theirs.buffers())
    assert repr(ours) == repr(theirs)
    assert [[n.shape for n in w] for w in ours.all_weights] == [
        [n.shape for n in w] for w in theirs.all_weights
    ]
    # a state trained in torch loads into ours, and ours back into a fresh torch layer
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    ours.load_state_dict(theirs.state_dict())
    fresh = getattr(nn, name)(3, 5, dtype=dtype, **kwargs)
    fresh.load_state_dict(ours.state_dict())
    for a, b in zip(fresh.state_dict().values(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b)


EXPECTED_SIGNATURES = {
    "RNN": [
        "input_size",
        "hidden_size",
        ("num_layers", 1),
        ("nonlinearity", "tanh"),
        ("bias", True),
        ("batch_first", False),
        ("dropout", 0.0),
        ("bidirectional", False),
        ("device", None),
        ("dtype", None),
    ],
    "LSTM": [
        "input_size",
        "hidden_size",
        ("num_layers", 1),
        ("bias", True),
        ("batch_first", False),
        ("dropout", 0.0),
        ("bidirectional", False),
        ("proj_size", 0),
        ("device", None),
        ("dtype", None),
    ],
    "GRU": [
        "input_size",
        "hidden_size",
        ("num_layers", 1),
        ("bias", True),
        ("batch_first", False),
        ("dropout", 0.0),
        ("bidirectional", False),
        ("device", None),
        ("dtype", None),
    ],
}


@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_is_torchs(name):
    """torch's own signature is ``(*args, **kwargs)``; this is the one its docs spell."""
    params = list(inspect.signature(getattr(scratch, name).__init__).parameters.values())[1:]
    got = [p.name if p.default is inspect.Parameter.empty else (p.name, p.default) for p in params]
    assert got == EXPECTED_SIGNATURES[name]
    # and torch takes the same arguments in the same positions (up to device, which torch's
    # RNN and GRU would read as proj_size: pass device and dtype by keyword)
    args = [3, 4] + [d for n, d in EXPECTED_SIGNATURES[name][2:] if n not in ("device", "dtype")]
    assert_same_state_layout(getattr(scratch, name)(*args), getattr(nn, name)(*args))


# ------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_is_off_in_eval(kind):
    name, extra = KINDS[kind]
    ours, theirs = _pair(name, 3, 5, num_layers=3, dropout=0.5, bidirectional=True, **extra)
    xs = _inputs(theirs, seq_len=4, batch=2, unbatched=False, init_state=True, seed=5)
    assert_parity(ours, theirs, *xs, train=False, call=_call)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_one_in_training_matches_torch(kind):
    """p = 1 is deterministic: every layer above the first reads zeros, in torch too."""
    name, extra = KINDS[kind]
    ours, theirs = _pair(name, 3, 5, num_layers=2, dropout=1.0, **extra)
    xs = _inputs(theirs, seq_len=4, batch=2, unbatched=False, init_state=True, seed=6)
    assert_parity(ours, theirs, *xs, train=True, call=_call)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_in_training_changes_the_output_only_between_layers(kind):
    name, extra = KINDS[kind]
    m = getattr(scratch, name)(3, 6, num_layers=2, dropout=0.5, **extra)
    x, *states = _inputs(m, seq_len=5, batch=4, unbatched=False, init_state=True, seed=8)
    y_eval, _ = _call(m.eval(), x, *states)
    y_train, _ = _call(m.train(), x, *states)
    assert not torch.allclose(y_train, y_eval)
    # seeded training runs repeat exactly
    torch.manual_seed(0)
    y1, _ = _call(m, x, *states)
    torch.manual_seed(0)
    y2, _ = _call(m, x, *states)
    assert torch.equal(y1, y2)
    # one layer: there is no "between", so dropout does nothing (torch warns, so do we)
    with pytest.warns(UserWarning, match="num_layers=1"):
        single = getattr(scratch, name)(3, 6, dropout=0.5, **extra)
    y_eval, _ = single.eval()(x)
    y_train, _ = single.train()(x)
    assert torch.equal(y_train, y_eval)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_in_training_is_inverted_dropout_on_the_lower_layers_output(kind):
    """Two stacked layers in training equal layer 1, a mask keeping 1 - p scaled by 1/(1-p),
    then layer 2, with the mask drawn from the same seed."""
    name, extra = KINDS[kind]
    p = 0.3
    m = getattr(scratch, name)(3, 6, num_layers=2, dropout=p, **extra).train()
    lower = getattr(scratch, name)(3, 6, **extra)
    upper = getattr(scratch, name)(6, 6, **extra)
    state = m.state_dict()
    lower.load_state_dict({k: v for k, v in state.items() if k.endswith("_l0")})
    upper.load_state_dict(
        {k.replace("_l1", "_l0"): v for k, v in state.items() if k.endswith("_l1")}
    )
    x = _randn((5, 4, 3), 9)
    torch.manual_seed(0)
    y, _ = m(x)
    torch.manual_seed(0)
    y1, _ = lower(x)
    keep = torch.rand_like(y1) >= p
    assert 0.4 < keep.float().mean() < 0.95
    y_ref, _ = upper(y1 * keep / (1 - p))
    torch.testing.assert_close(y, y_ref)


# ----------------------------------------------------------------------- gradcheck
GRADCHECK = [
    ("RNN", dict(nonlinearity="tanh", num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="relu", bias=False, batch_first=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(num_layers=2, proj_size=2, batch_first=True)),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("GRU", dict(bias=False)),
]


@pytest.mark.parametrize(("name", "kwargs"), GRADCHECK)
def test_gradcheck_float64(name, kwargs):
    """Gradients of input, initial states and every parameter, through the whole unroll."""
    torch.manual_seed(0)
    m = getattr(scratch, name)(3, 3, dtype=torch.float64, **kwargs)
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in m.parameters()]
    xs = [t.requires_grad_(True) for t in _inputs(m, 3, 2, False, True, 0, dtype=torch.float64)]
    n_inputs = len(xs)

    def f(*tensors):
        inputs, ps = tensors[:n_inputs], tensors[n_inputs:]
        hx = inputs[1] if n_inputs == 2 else tuple(inputs[1:])
        out = functional_call(m, dict(zip(names, ps, strict=True)), (inputs[0], hx))
        return tuple(flatten(out))

    # fast_mode checks random projections of the Jacobian: the same bugs, ~20x faster
    assert torch.autograd.gradcheck(f, (*xs, *params), fast_mode=True)


# ---------------------------------------------------------------- shapes, semantics
@pytest.mark.parametrize("name", NAMES)
def test_unbatched_is_the_batch_of_one(name):
    m = getattr(scratch, name)(3, 4, num_layers=2, bidirectional=True)
    x, *states = _inputs(m, 5, 1, True, True, 0)
    out, h = _call(m, x, *states)
    out1, h1 = _call(m, x.unsqueeze(1), *[s.unsqueeze(1) for s in states])
    assert out.shape == (5, 8)
    torch.testing.assert_close(out, out1.squeeze(1))
    for a, b in zip(flatten(h), flatten(h1), strict=True):
        torch.testing.assert_close(a, b.squeeze(1))


@pytest.mark.parametrize("name", NAMES)
def test_h_n_is_the_last_output_of_each_direction(name):
    m = getattr(scratch, name)(3, 4, bidirectional=True)
    out, h = m(_randn((6, 2, 3), 0))
    h_n = h[0] if name == "LSTM" else h
    torch.testing.assert_close(out[-1, :, :4], h_n[0])  # forward ends at t = L-1
    torch.testing.assert_close(out[0, :, 4:], h_n[1])  # reverse ends at t = 0


# ----------------------------------------------------------------------- bad inputs
def _bad_cases(name: str):
    """(input, hx, error, message piece) for a (3, 4) layer with 2 layers; batch is 2."""
    x = torch.randn(5, 2, 3)
    h = torch.zeros(2, 2, 4)
    hx = (h, torch.zeros(2, 2, 4)) if name == "LSTM" else h
    cases = [
        (torch.randn(5, 2, 3, 1), None, ValueError, "got a 4-D tensor of shape (5, 2, 3, 1)"),
        (torch.randn(5), None, ValueError, "(L, N, H_in) or unbatched (L, H_in)"),
        (torch.randn(5, 2, 7), None, ValueError, "(input_size) = 3, got 7"),
        (torch.ones(5, 2, 3, dtype=torch.long), None, TypeError, "floating-point"),
        (x.double(), None, TypeError, "does not match weight dtype"),
        ([[1.0, 2.0, 3.0]], None, TypeError, "got list"),
        (pack_padded_sequence(x, [5, 3]), None, TypeError, "packed sequences are not supported"),
    ]
    if name == "LSTM":
        cases += [
            (x, h, TypeError, "tuple (h_0, c_0)"),
            (
                x,
                (torch.zeros(1, 2, 4), hx[1]),
                ValueError,
                "expected h_0 of shape (2, 2, 4), got (1, 2, 4)",
            ),
            (
                x,
                (h, torch.zeros(2, 2, 5)),
                ValueError,
                "expected c_0 of shape (2, 2, 4), got (2, 2, 5)",
            ),
            (
                x,
                (h, torch.zeros(2, 3, 4)),
                ValueError,
                "batch size of c_0 (3) does not match the input's batch size (2)",
            ),
            (x, (torch.zeros(2, 4), hx[1]), ValueError, "expected h_0 of shape (2, 2, 4)"),
            (x, (h, h.long()), TypeError, "c_0"),
        ]
    else:
        cases += [
            (x, torch.zeros(4, 2, 4), ValueError, "expected h_0 of shape (2, 2, 4), got (4, 2, 4)"),
            (
                x,
                torch.zeros(2, 5, 4),
                ValueError,
                "batch size of h_0 (5) does not match the input's batch size (2)",
            ),
            (x[:, 0], torch.zeros(2, 1, 4), ValueError, "expected h_0 of shape (2, 4)"),
            (x, h.double(), TypeError, "expected h_0 of dtype torch.float32"),
            (x, (h,), TypeError, "expected h_0 to be a torch.Tensor, got tuple"),
        ]
    return cases


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_clear_error(name):
    m = getattr(scratch, name)(3, 4, num_layers=2)
    for x, hx, error, piece in _bad_cases(name):
        with pytest.raises(error, match=f"^{name}: ") as info:
            m(x, hx)
        assert piece in str(info.value), (piece, str(info.value))


def test_batch_first_is_named_in_the_rank_message():
    with pytest.raises(ValueError, match=r"\(N, L, H_in\) or unbatched"):
        scratch.GRU(3, 4, batch_first=True)(torch.randn(3))


BAD_CONSTRUCTORS = [
    (
        "RNN",
        (3, 4),
        dict(nonlinearity="sigmoid"),
        ValueError,
        "nonlinearity 'tanh' or 'relu', got 'sigmoid'",
    ),
    ("RNN", (3, 4), dict(dropout=1.5), ValueError, "dropout must be in [0, 1], got 1.5"),
    ("RNN", (3, 0), {}, ValueError, "hidden_size > 0, got 0"),
    ("RNN", (3, 4), dict(bias="yes"), TypeError, "bias to be a bool"),
    ("LSTM", (3, 4), dict(dropout=-0.1), ValueError, "dropout must be in [0, 1]"),
    ("LSTM", (3, 4), dict(proj_size=4), ValueError, "0 <= proj_size < hidden_size = 4, got 4"),
    ("LSTM", (3, 4), dict(proj_size=-1), ValueError, "proj_size"),
    ("LSTM", (3.0, 4), {}, TypeError, "input_size to be an int, got float"),
    ("GRU", (3, 4), dict(dropout=2), ValueError, "dropout must be in [0, 1], got 2"),
    ("GRU", (3, 4), dict(dropout="0.5"), TypeError, "dropout to be a number"),
    ("GRU", (3, 4), dict(num_layers=0), ValueError, "num_layers > 0, got 0"),
    ("GRU", (3, 4), dict(batch_first=1), TypeError, "batch_first to be a bool, got int"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "error", "piece"), BAD_CONSTRUCTORS)
def test_bad_constructor_argument_raises_clear_error(name, args, kwargs, error, piece):
    with pytest.raises(error, match=f"^{name}: ") as info:
        getattr(scratch, name)(*args, **kwargs)
    assert piece in str(info.value)


@pytest.mark.parametrize("name", ["RNN", "GRU"])
def test_proj_size_is_lstm_only(name):
    with pytest.raises(TypeError, match="proj_size"):
        getattr(scratch, name)(3, 4, proj_size=2)


def test_no_warning_without_dropout():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scratch.LSTM(3, 4, dropout=0.0)
        scratch.GRU(3, 4, num_layers=2, dropout=0.5)
