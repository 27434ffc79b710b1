"""Word vectors: GloVe and word2vec text parsing, malformed files, neighbours, analogies."""

from __future__ import annotations

import pytest
import torch

from scratch.wordvectors import analogy, load_word_vectors, nearest

# Hand-made vectors on axes (royal, male, commoner), the four people all of length sqrt(2),
# so that king - man + woman = queen exactly, with or without normalising first.
VOCAB = {
    "king": [1.0, 1.0, 0.0],
    "queen": [1.0, -1.0, 0.0],
    "man": [0.0, 1.0, 1.0],
    "woman": [0.0, -1.0, 1.0],
    "apple": [0.0, 0.0, 1.0],
    "prince": [0.8, 0.9, 0.1],
}


def _lines(vocab=VOCAB):
    return [f"{w} " + " ".join(repr(v) for v in vec) for w, vec in vocab.items()]


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def glove(tmp_path):
    return _write(tmp_path, "glove.txt", _lines())


@pytest.fixture
def w2v(tmp_path):
    return _write(tmp_path, "w2v.txt", [f"{len(VOCAB)} 3", *_lines()])


@pytest.mark.parametrize("fmt", ["glove", "w2v"])
def test_both_formats_parse_the_same(fmt, request):
    words, vectors = load_word_vectors(request.getfixturevalue(fmt))
    assert words == list(VOCAB)
    assert vectors.dtype == torch.float32 and vectors.shape == (6, 3)
    assert torch.equal(vectors, torch.tensor(list(VOCAB.values())))


def test_limit_blank_lines_crlf_and_spaces_in_words(tmp_path, w2v):
    words, vectors = load_word_vectors(w2v, limit=2)
    assert words == ["king", "queen"] and vectors.shape == (2, 3)
    assert load_word_vectors(w2v, limit=0)[1].shape == (0, 3)
    path = tmp_path / "odd.txt"
    # the first GloVe line fixes D; later words may contain spaces
    path.write_bytes(b"cat 1 2 \r\n\r\nnew york 0.5 -1e-3\r\n\r\n")
    words, vectors = load_word_vectors(path)
    assert words == ["cat", "new york"]
    assert torch.equal(vectors, torch.tensor([[1.0, 2.0], [0.5, -1e-3]]))


def test_malformed_files(tmp_path):
    bad_number = _write(tmp_path, "a.txt", ["cat 1 2 3", "dog 1 two 3"])
    with pytest.raises(
        ValueError, match=r"a.txt, line 2: could not convert string to float: 'two'"
    ):
        load_word_vectors(bad_number)
    short = _write(tmp_path, "b.txt", ["cat 1 2 3", "dog 1 2"])
    with pytest.raises(
        ValueError, match=r"b.txt, line 2: expected a word and 3 numbers, got 3 fields"
    ):
        load_word_vectors(short)
    wrong_count = _write(tmp_path, "c.txt", ["3 2", "cat 1 2", "dog 3 4"])
    with pytest.raises(ValueError, match="header promises 3 vectors, got 2"):
        load_word_vectors(wrong_count)
    empty = _write(tmp_path, "d.txt", [""])
    with pytest.raises(ValueError, match="expected word vectors, got an empty file"):
        load_word_vectors(empty)
    no_numbers = _write(tmp_path, "e.txt", ["lonely"])
    with pytest.raises(ValueError, match="line 1: expected a word followed by numbers"):
        load_word_vectors(no_numbers)
    with pytest.raises(ValueError, match="expected limit to be None or an int >= 0, got -1"):
        load_word_vectors(bad_number, limit=-1)
    with pytest.raises(FileNotFoundError):
        load_word_vectors(tmp_path / "missing.txt")


def test_nearest_by_cosine(glove):
    words, vectors = load_word_vectors(glove)
    top = nearest(vectors, words, torch.tensor([2.0, 2.0, 0.0]), k=2)
    assert [w for w, _ in top] == ["king", "prince"]
    assert top[0][1] == pytest.approx(1.0)  # cosine ignores length
    cos = (
        torch.tensor([0.8, 0.9, 0.1])
        @ torch.tensor([1.0, 1.0, 0.0])
        / (torch.tensor([0.8, 0.9, 0.1]).norm() * 2**0.5)
    )
    assert top[1][1] == pytest.approx(cos.item(), rel=1e-6)
    excluded = nearest(vectors, words, vectors[0], k=10, exclude=("king", "prince"))
    assert [w for w, _ in excluded][:1] == ["man"] and len(excluded) == 4
    sims = [s for _, s in excluded]
    assert sims == sorted(sims, reverse=True)


def test_analogy_king_man_woman_is_queen(glove):
    words, vectors = load_word_vectors(glove)
    (best, sim), *_ = analogy(vectors, words, "king", "man", "woman", k=3)
    assert best == "queen" and sim == pytest.approx(1.0, abs=1e-6)
    assert len(analogy(vectors, words, "king", "man", "woman", k=3)) == 3
    # the inputs never come back, even where they are nearest
    answers = [w for w, _ in analogy(vectors, words, "king", "man", "woman", k=10)]
    assert not {"king", "man", "woman"} & set(answers)


def test_bad_queries(glove):
    words, vectors = load_word_vectors(glove)
    with pytest.raises(
        ValueError, match="analogy: expected words from the vocabulary .*got 'emperor'"
    ):
        analogy(vectors, words, "emperor", "man", "woman")
    with pytest.raises(
        ValueError, match=r"nearest: expected query_vec of shape \(3,\), got \(4,\)"
    ):
        nearest(vectors, words, torch.ones(4))
    with pytest.raises(
        ValueError, match=r"nearest: expected vectors of shape \(len\(words\), D\) = \(5, D\)"
    ):
        nearest(vectors, words[:5], torch.ones(3))
    with pytest.raises(ValueError, match="nearest: expected k to be an int >= 1, got 0"):
        nearest(vectors, words, torch.ones(3), k=0)
    with pytest.raises(
        TypeError, match="nearest: expected query_vec to be a torch.Tensor, got list"
    ):
        nearest(vectors, words, [1.0, 0.0, 0.0])
