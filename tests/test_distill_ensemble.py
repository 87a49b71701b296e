"""Ensemble distillation (Freitag et al. 2017) through the real nat-distill command: an ensemble
of two copies of one checkpoint gives the checkpoint's corpus byte for byte, and the manifest
lists every member."""
import json
import os
import shutil

import pytest

from data_scripts import distill_cli
from distill_helpers import make_inputs, read
from nat import textio
from nat.distill import DistillConfig, run
from nat.errors import UserError
from nat.hashing import file_sha256

FLAGS = ["--beam", "4", "--max-len-a", "1", "--max-len-b", "4", "--threads", "1",
         "--max-source-positions", "16", "--chunk-size", "15", "--no-binarize", "--quiet"]


@pytest.fixture(scope="module")
def inputs(toy_corpus, tmp_path_factory):
    return make_inputs(toy_corpus, str(tmp_path_factory.mktemp("ensemble_in")), count=28)


def distill(paths, data_bin, inputs, out):
    assert distill_cli.main(["--path", ":".join(paths), "--data-bin", data_bin, "--source",
                             inputs[0], "--target", inputs[1], "--out", str(out)] + FLAGS) == 0
    return json.loads(read(str(out / "manifest.json")))


def hypotheses(out, manifest):
    root = os.path.join(str(out), manifest["store"], "chunks")
    return [json.loads(line)["hyps"] for name in sorted(os.listdir(root))
            for line in textio.read_lines(os.path.join(root, name))[1:]]


def test_two_copies_of_a_checkpoint_distil_exactly_what_it_does(tiny_teacher, toy_data_bin,
                                                                 inputs, tmp_path):
    copy = str(tmp_path / "copy.pt")
    shutil.copyfile(tiny_teacher, copy)
    single = distill([tiny_teacher], toy_data_bin, inputs, tmp_path / "single")
    ensemble = distill([tiny_teacher, copy], toy_data_bin, inputs, tmp_path / "ensemble")
    for name in ("train.src", "train.tgt", "train.ids"):
        assert read(str(tmp_path / "ensemble" / name)) == read(str(tmp_path / "single" / name))
    assert ensemble["store_key"] != single["store_key"]          # decoded as an ensemble
    assert ensemble["this_run"]["decoded_chunks_now"] == 2
    ens, one = hypotheses(tmp_path / "ensemble", ensemble), hypotheses(tmp_path / "single",
                                                                      single)
    assert [[h for h, _ in r] for r in ens] == [[h for h, _ in r] for r in one]  # whole beams
    for a, b in zip(ens, one):
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)
    sha = file_sha256(tiny_teacher)
    assert ensemble["teachers"] == [
        {"path": os.path.abspath(p), "sha256": sha, "arch": "transformer_teacher_tiny",
         "max_source_positions": single["teachers"][0]["max_source_positions"]}
        for p in (tiny_teacher, copy)]
    assert ensemble["decoding"]["teachers"] == [sha, sha]
    assert ensemble["ensemble"]["members"] == 2
    assert ensemble["ensemble"]["distinct_checkpoints"] == 1
    assert "mean of the members' token probabilities" in ensemble["ensemble"]["combination"]
    assert single["ensemble"] is None and len(single["teachers"]) == 1


def test_members_of_different_language_pairs_are_refused(tiny_teacher, toy_data_bin, inputs,
                                                         tmp_path):
    import torch

    from nat import compat

    members = []
    for source_lang in ("src", "xx"):         # the same weights, told two language pairs
        state = compat.load_checkpoint_safely(tiny_teacher)
        state["cfg"]["task"]["source_lang"] = source_lang
        state["cfg"]["task"]["target_lang"] = "tgt"
        members.append(str(tmp_path / f"{source_lang}.pt"))
        torch.save(state, members[-1])
    with pytest.raises(UserError, match=r"^--path: the ensemble's checkpoints were trained on "
                                        r"different language pairs \(src-tgt, xx-tgt\)"):
        run(DistillConfig(paths=members, data_bin=toy_data_bin, source=inputs[0],
                          target=inputs[1], out=str(tmp_path / "out"), binarize=False))
    assert not (tmp_path / "out" / "store").exists()
