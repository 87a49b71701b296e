"""nat-distill through its Python API on the real tiny teacher: ids, shards, batch size,
ensembles, selection reuse and bad input."""
import json
import os
import shutil

import pytest
import sacrebleu

from distill_helpers import FAST, make_inputs, read
from nat import textio
from nat.distill import DistillConfig, run
from nat.errors import UserError


@pytest.fixture(scope="module")
def inputs(toy_corpus, tmp_path_factory):
    return make_inputs(toy_corpus, str(tmp_path_factory.mktemp("distill_in")))


def cfg(teacher, data_bin, inputs, out, **extra):
    return DistillConfig(paths=[teacher], data_bin=data_bin, source=inputs[0],
                         target=inputs[1], out=str(out), **{**FAST, **extra})


@pytest.fixture(scope="module")
def reference(tiny_teacher, toy_data_bin, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("distill_ref")
    return out, run(cfg(tiny_teacher, toy_data_bin, inputs, out))


def store_records(out, manifest):
    root = os.path.join(str(out), manifest["store"], "chunks")
    records = []
    for name in sorted(os.listdir(root)):
        records += [json.loads(l) for l in textio.read_lines(os.path.join(root, name))[1:]]
    return records


def test_every_source_id_exactly_once(reference, inputs):
    out, manifest = reference
    sources = textio.read_lines(inputs[0])
    assert textio.read_lines(str(out / "train.ids")) == [str(i) for i in range(len(sources))]
    assert textio.read_lines(str(out / "train.src")) == sources
    targets = textio.read_lines(str(out / "train.tgt"))
    assert len(targets) == len(sources)
    assert manifest["counts"]["sources"] == manifest["counts"]["outputs"] == len(sources)
    # the empty source is kept and decoded; the over-long one falls back, counted
    assert sources[10] == "" and manifest["counts"]["empty_sources"] == 1
    assert manifest["fallbacks"]["long_source"] == 1 and targets[11] == sources[11].upper()
    assert manifest["counts"]["decoded"] == len(sources) - 1
    assert manifest["decoding"]["max_source_positions"] == 16


def test_two_shards_merged_equal_one_shard(reference, tiny_teacher, toy_data_bin, inputs,
                                           tmp_path):
    ref_out, _ = reference
    for shard in (1, 0):
        result = run(cfg(tiny_teacher, toy_data_bin, inputs, tmp_path, num_shards=2,
                         shard_id=shard))
        assert result["done"] and not (tmp_path / "train.tgt").exists()
    manifest = run(cfg(tiny_teacher, toy_data_bin, inputs, tmp_path, num_shards=2))
    assert manifest["this_run"]["decoded_chunks_now"] == 0
    for name in ("train.src", "train.tgt", "train.ids"):
        assert read(str(tmp_path / name)) == read(str(ref_out / name))


def test_batch_size_does_not_change_outputs(reference, tiny_teacher, toy_data_bin, inputs,
                                            tmp_path):
    ref_out, ref_manifest = reference
    manifest = run(cfg(tiny_teacher, toy_data_bin, inputs, tmp_path, max_tokens=12))
    assert manifest["store_key"] != ref_manifest["store_key"]  # really decoded again
    assert read(str(tmp_path / "train.tgt")) == read(str(ref_out / "train.tgt"))
    small, big = store_records(tmp_path, manifest), store_records(ref_out, ref_manifest)
    assert [[h for h, _ in r["hyps"]] for r in small] == [[h for h, _ in r["hyps"]] for r in big]
    for a, b in zip(small, big):
        assert [s for _, s in a["hyps"]] == pytest.approx([s for _, s in b["hyps"]], abs=1e-4)


def test_seqinter_reuses_the_store_and_picks_best_bleu(reference, tiny_teacher, toy_data_bin,
                                                       inputs, tmp_path):
    ref_out, ref_manifest = reference
    out = tmp_path / "seqinter"
    shutil.copytree(str(ref_out / "store"), str(out / "store"))
    manifest = run(cfg(tiny_teacher, toy_data_bin, inputs, out, method="seqinter"))
    assert manifest["this_run"]["decoded_chunks_now"] == 0
    sources, targets = textio.read_lines(inputs[0]), textio.read_lines(inputs[1])
    chosen = textio.read_lines(str(out / "train.tgt"))
    for record in store_records(ref_out, ref_manifest):
        idx = record["id"]
        if not record["hyps"]:
            continue
        bleu = [sacrebleu.sentence_bleu(h, [targets[idx]], tokenize="none").score
                for h, _ in record["hyps"]]
        expected = record["hyps"][bleu.index(max(bleu))][0]
        if sources[idx] and not expected:  # empty output for a real source: counted fallback
            expected = targets[idx]
        assert chosen[idx] == expected
    assert manifest["selection"]["method"] == "seqinter"
    assert "bleu_signature" in manifest["selection"]


def test_nbest_writes_k_pairs_per_source(reference, tiny_teacher, toy_data_bin, inputs,
                                         tmp_path):
    ref_out, _ = reference
    shutil.copytree(str(ref_out / "store"), str(tmp_path / "store"))
    manifest = run(cfg(tiny_teacher, toy_data_bin, inputs, tmp_path, method="nbest", nbest=3))
    n = manifest["counts"]["sources"]
    assert manifest["counts"]["outputs"] == 3 * n
    ids = textio.read_lines(str(tmp_path / "train.ids"))
    assert ids == [str(i) for i in range(n) for _ in range(3)]


def test_count_mismatch_fails_before_decoding(tiny_teacher, toy_data_bin, inputs, tmp_path):
    short = str(tmp_path / "short.tgt")
    textio.write_lines_atomic(short, textio.read_lines(inputs[1])[:-1])
    n = len(textio.read_lines(inputs[0]))
    with pytest.raises(UserError) as err:
        run(DistillConfig(paths=[tiny_teacher], data_bin=toy_data_bin, source=inputs[0],
                          target=short, out=str(tmp_path / "out"), **FAST))
    message = str(err.value)
    assert f"{inputs[0]} has {n}" in message and f"{short} has {n - 1}" in message
    assert not (tmp_path / "out").exists()


def test_invalid_utf8_names_file_and_line(tiny_teacher, toy_data_bin, tmp_path):
    src, tgt = tmp_path / "bad.src", tmp_path / "bad.tgt"
    src.write_bytes(b"w1 w2\nw3\nw4 \xff w5\n")
    tgt.write_bytes(b"W2 W1\nW3\nW5 W4\n")
    with pytest.raises(UserError, match=rf"{src}:3: invalid UTF-8"):
        run(DistillConfig(paths=[tiny_teacher], data_bin=toy_data_bin, source=str(src),
                          target=str(tgt), out=str(tmp_path / "out"), **FAST))
    assert not (tmp_path / "out").exists()


def test_long_source_policies(tiny_teacher, toy_data_bin, inputs, tmp_path):
    src, tgt = tmp_path / "l.src", tmp_path / "l.tgt"
    lines = textio.read_lines(inputs[0])[9:13]  # includes the empty and the 30-token line
    textio.write_lines_atomic(str(src), lines)
    textio.write_lines_atomic(str(tgt), textio.read_lines(inputs[1])[9:13])
    base = dict(paths=[tiny_teacher], data_bin=toy_data_bin, source=str(src), target=str(tgt))
    with pytest.raises(UserError, match=rf"{src}:3: 30 tokens"):
        run(DistillConfig(out=str(tmp_path / "e"), **base, **{**FAST, "long_source": "error"}))
    manifest = run(DistillConfig(out=str(tmp_path / "t"), **base,
                                 **{**FAST, "long_source": "truncate"}))
    assert manifest["truncations"]["source_truncated"] == 1
    assert manifest["counts"]["decoded"] == 4 and manifest["counts"]["outputs"] == 4
    assert textio.read_lines(str(tmp_path / "t" / "train.src")) == lines
