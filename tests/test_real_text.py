"""Bring your own corpus, end to end on real-looking multilingual text (accents, punctuation,
CJK, emoji, a CRLF file, duplicates, an empty and an over-long pair):
nat-prepare -> tiny teacher (real fairseq-train) -> nat-distill (subword corpus + detokenized
text) -> nat-analyze corpus/outputs at word level with the label-derived lexicon.
nat-distill's own binarization is tested in test_distill_cli.py; here every distilled token is
checked against the prepared dictionary instead (one fairseq start-up less).
"""
import json
import os
from collections import Counter

import pytest
import sacrebleu

import real_text_sample
from analysis.cli import main as analyze
from data_scripts.distill_cli import main as distill
from data_scripts.prepare_cli import main as prepare_main
from nat import fairseq_cli
from nat.prepare import load_prepared, subwords

TEACHER_UPDATES = 10   # quality does not matter here; startup dominates
DISTILL_FAST = ["--beam", "2", "--max-len-b", "20", "--threads", "1", "--quiet"]


def lines_of(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().split("\n")[:-1]


@pytest.fixture(scope="module")
def chain(tmp_path_factory, fairseq_worker):
    root = tmp_path_factory.mktemp("real_text")
    raw, prep = str(root / "raw"), str(root / "prepared")
    rows = real_text_sample.write(raw)
    assert prepare_main(["--raw", raw, "--out", prep, "--vocab-size", "300", "--drop-empty",
                         "--quiet"]) == 0
    corpus = load_prepared(prep)
    teacher = str(root / "teacher")
    fairseq_cli.train(corpus.data_bin, teacher, fairseq_cli.Recipe(
        "transformer_teacher_tiny", TEACHER_UPDATES, lr=5e-3, warmup=5, max_tokens=1000,
        extra=fairseq_cli.AR_TRAIN), pool=fairseq_worker)
    checkpoint = os.path.join(teacher, "checkpoint_last.pt")
    # train split: 'selective' keeps the gold target where the (barely trained) teacher is far
    # from it, so the detokenized corpus must reproduce the prepared text exactly there
    dist = str(root / "distilled")
    assert distill(["--path", checkpoint, "--data-bin", corpus.data_bin,
                    "--source", corpus.pieces("train", "src"),
                    "--target", corpus.pieces("train", "tgt"), "--out", dist, "--spm", prep,
                    "--method", "selective", "--selective-ter", "0.5", "--no-binarize",
                    *DISTILL_FAST]) == 0
    # test split: the teacher's own outputs, for BLEU against the three references
    hyps = str(root / "test_outputs")
    assert distill(["--path", checkpoint, "--data-bin", corpus.data_bin,
                    "--source", corpus.pieces("test", "src"),
                    "--target", corpus.pieces("test", "tgt"), "--out", hyps, "--spm", prep,
                    "--split", "test", "--no-binarize", *DISTILL_FAST]) == 0
    return {"root": root, "rows": rows, "corpus": corpus, "dist": dist, "hyps": hyps}


def test_prepared_data_bin(chain):
    corpus = chain["corpus"]
    m = corpus.manifest
    for split in ("train", "valid", "test"):
        for side, lang in (("src", "src"), ("tgt", "tgt")):
            assert os.path.getsize(os.path.join(corpus.data_bin,
                                                f"{split}.src-tgt.{lang}.bin")) > 0
            cov = m["coverage"][split][side]
            # fairseq counts </s> too: its <unk> share must be ours over pieces + one per line
            assert cov["fairseq_replaced_percent"] == pytest.approx(
                100 * cov["unk_pieces"] / (cov["pieces"] + cov["lines"]), abs=0.01)
    dictionary = lines_of(os.path.join(corpus.data_bin, "dict.src.txt"))
    assert dictionary == lines_of(os.path.join(corpus.root, "spm", "dict.src.txt"))
    assert m["counts"]["train"]["pairs"] == m["counts"]["train"]["lines"] - 2  # empty + long


def test_distilled_corpus_ids_subwords_and_detok(chain):
    corpus, dist = chain["corpus"], chain["dist"]
    sp = subwords.load(corpus.spm_models["tgt"])
    n = corpus.manifest["counts"]["train"]["pairs"]
    manifest = json.load(open(os.path.join(dist, "manifest.json"), encoding="utf-8"))
    assert lines_of(os.path.join(dist, "train.ids")) == [str(i) for i in range(n)]
    assert manifest["counts"]["outputs"] == n == manifest["counts"]["decoded"]
    assert lines_of(os.path.join(dist, "train.src")) == lines_of(corpus.pieces("train", "src"))
    pieces = lines_of(os.path.join(dist, "train.tgt"))
    detok = lines_of(os.path.join(dist, "train.detok.tgt"))
    gold_pieces, gold_text = lines_of(corpus.pieces("train", "tgt")), lines_of(
        corpus.text("train", "tgt"))
    assert len(pieces) == len(detok) == n
    raw_kept = 0
    for p, d, gp, gt in zip(pieces, detok, gold_pieces, gold_text):
        assert d == sp.decode(p.split())                   # detok = decoded subword line
        assert sp.decode(sp.encode(d)) == d                # and round-trips
        if p == gp:
            assert d == gt                                 # gold kept: exactly the text
            raw_kept += 1
    assert raw_kept == manifest["fallbacks"].get("selective_raw", 0) > n // 2
    assert lines_of(os.path.join(dist, "train.detok.src")) == lines_of(
        corpus.text("train", "src"))
    assert manifest["detok"]["files"]["train.detok.tgt"] and manifest["selection"][
        "bleu_remove_bpe"] == "sentencepiece"
    known = {l.rsplit(" ", 1)[0] for l in lines_of(os.path.join(corpus.data_bin,
                                                                 "dict.tgt.txt"))}
    for path in (os.path.join(dist, "train.tgt"), os.path.join(chain["hyps"], "test.tgt")):
        tokens = {t for line in lines_of(path) for t in line.split()}
        assert tokens and tokens <= known | {"<unk>"}        # binarizable as it is


def test_corpus_analysis_at_word_level_with_label_lexicon(chain, tmp_path):
    corpus, dist = chain["corpus"], chain["dist"]
    out = tmp_path / "corpus"
    assert analyze(["corpus", "--source", os.path.join(dist, "train.src"),
                    "--target", os.path.join(dist, "train.tgt"), "--spm", corpus.root,
                    "--lexicon", corpus.lexicon, "--modes", corpus.labels("train"),
                    "--aligner", "ibm1", "--faithfulness-aligner", "ibm1",
                    "--reference-target", corpus.pieces("train", "tgt"), "--quiet",
                    "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["level"] == "word" and m["signature"].endswith("|level:word")
    assert set(m["level_inputs"].values()) == {"decoded (sentencepiece)"}
    detok = lines_of(os.path.join(dist, "train.detok.tgt"))
    lexicon = json.load(open(corpus.lexicon, encoding="utf-8"))["token_language"]
    words = [w for line in detok for w in line.split()]
    mix = m["measures"]["mixing"]
    assert mix["n_tokens"] == len(words)
    assert mix["identifying_tokens"] == sum(1 for w in words if w in lexicon)
    assert m["measures"]["corpus"]["target"]["tokens"] == len(words)
    assert "mode_cross_entropy_bits" in m
    sub = tmp_path / "subword"
    assert analyze(["corpus", "--source", corpus.text("train", "src"),
                    "--target", os.path.join(dist, "train.tgt"), "--spm", corpus.root,
                    "--level", "subword", "--aligner", "ibm1", "--quiet",
                    "--out", str(sub)]) == 0
    s = json.loads((sub / "metrics.json").read_text(encoding="utf-8"))
    assert s["level"] == "subword" and s["signature"].endswith("|level:subword")
    pieces = lines_of(os.path.join(dist, "train.tgt"))
    assert s["measures"]["corpus"]["target"]["tokens"] == sum(len(p.split()) for p in pieces)
    assert s["measures"]["corpus"]["source"]["tokens"] == sum(
        len(p.split()) for p in lines_of(corpus.pieces("train", "src")))


def test_outputs_bleu_multi_reference_on_detokenized_text(chain, tmp_path):
    corpus, hyps = chain["corpus"], chain["hyps"]
    hyp_pieces = os.path.join(hyps, "test.tgt")
    out = tmp_path / "outputs"
    assert analyze(["outputs", "--hyp", hyp_pieces, "--spm", corpus.root,
                    "--ref-dir", os.path.dirname(corpus.references("test")[0]),
                    "--lexicon", corpus.lexicon, "--lang", corpus.labels("test"),
                    "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    detok = lines_of(os.path.join(hyps, "test.detok.tgt"))
    refs = [lines_of(p) for p in corpus.references("test")]
    expected = sacrebleu.BLEU(tokenize="13a").corpus_score(detok, refs).score
    assert m["sacrebleu"] == pytest.approx(expected, abs=1e-3)
    assert "nrefs:3" in m["measures"]["bleu"]["sacrebleu"]["signature"]
    assert m["level"] == "word" and "detokenized" in m["bleu_level"]
    assert m["measures"]["mixing"]["gold_language_histogram"] == dict(
        Counter(lines_of(corpus.labels("test"))))
    ids = lines_of(os.path.join(hyps, "test.ids"))
    assert ids == [str(i) for i in range(len(refs[0]))]
    hyp_manifest = json.load(open(os.path.join(hyps, "manifest.json"), encoding="utf-8"))
    vanished = sum(1 for p, d in zip(lines_of(hyp_pieces), detok) if p and not d)
    assert hyp_manifest["detok"]["empty_after_decoding"] == vanished
    # a perfect system given as pieces: each line is one of the three references once decoded
    gold = tmp_path / "gold"
    assert analyze(["outputs", "--hyp", corpus.pieces("test", "tgt"), "--spm", corpus.root,
                    "--ref", corpus.references("test")[0], "--ref", corpus.references("test")[1],
                    "--ref", corpus.references("test")[2], "--out", str(gold)]) == 0
    g = json.loads((gold / "metrics.json").read_text(encoding="utf-8"))
    assert g["sacrebleu"] == pytest.approx(100.0)
    one_ref = sacrebleu.BLEU().corpus_score(lines_of(corpus.text("test", "tgt")), refs[:1]).score
    assert one_ref < 90                     # so the 100 comes from the multi-reference scoring


def test_pieces_at_word_level_without_spm_is_refused(chain, tmp_path, capsys):
    corpus = chain["corpus"]
    try:
        code = analyze(["outputs", "--hyp", corpus.pieces("test", "tgt"),
                        "--ref", corpus.text("test", "tgt"), "--out", str(tmp_path / "o")])
    except SystemExit as err:
        code = err.code
    err = capsys.readouterr().err
    assert code == 2 and "looks like sentencepiece pieces; pass --spm" in err
    assert err.count("\n") == 1
