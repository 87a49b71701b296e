"""``nat-shrink``: shrink and fine-tune (Shleifer & Rush 2020) and a NAT initialised from the
teacher.  Layer choice against the paper's table and its invariants; a shrunk student's tensors
are the teacher's, key by key with the renumbering; the students fine-tune through the real
fairseq-train (``--finetune-from-model``) and decode every id with the real fairseq-generate."""
import argparse
import json
import os
import re

import pytest

from data_scripts import shrink_cli
from nat import fairseq_cli
from nat.cli import field_default
from nat.distill import shrink
from nat.distill.shrink_config import ShrinkConfig
from nat.errors import UserError
from nat.hashing import file_sha256

HERE = os.path.dirname(os.path.abspath(__file__))
LAYER = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")


# ---- layer choice (no fairseq) ----------------------------------------------------------------

@pytest.mark.parametrize("n, k, layers", [
    (6, 3, [0, 2, 5]), (6, 2, [0, 5]), (6, 4, [0, 1, 3, 5]), (12, 6, [0, 2, 4, 7, 9, 11]),
    (12, 3, [0, 6, 11]), (16, 4, [0, 5, 10, 15]), (2, 1, [0]), (12, 1, [0]), (8, 4, [0, 2, 4, 7]),
    (5, 5, [0, 1, 2, 3, 4])])
def test_default_layers_follow_the_paper(n, k, layers):
    assert shrink.default_layers(n, k)[0] == layers


def test_default_layers_are_spread_and_keep_first_and_last():
    for n in range(1, 21):
        for k in range(1, n + 1):
            layers, how = shrink.default_layers(n, k)
            assert len(layers) == k and layers == sorted(set(layers)), (n, k)
            assert layers[0] == 0 and 0 <= layers[-1] <= n - 1, (n, k)
            if k >= 3 or (k == 2 and n not in (12,)):
                assert layers[-1] == n - 1, (n, k)      # the paper: 12 -> 2 keeps 0 and 6
            if n not in shrink.PAPER_LAYERS and k < n:
                assert how == "evenly spaced"
    # evenly spaced is the paper's table wherever that table covers a 6-layer teacher
    assert all(shrink.evenly_spaced(6, k) == v for k, v in shrink.PAPER_LAYERS[6].items())


def test_explicit_layers_and_counts():
    assert shrink.choose_layers("decoder", 6, None, [0, 2, 5]) == ([0, 2, 5], "explicit")
    assert shrink.choose_layers("decoder", 6, 3, [1, 3, 4]) == ([1, 3, 4], "explicit")
    assert shrink.choose_layers("encoder", 4, None, None) == ([0, 1, 2, 3], "all")
    assert shrink.choose_layers("encoder", 4, 4, None) == ([0, 1, 2, 3], "all")


@pytest.mark.parametrize("args, message", [
    ((6, None, [0, 6]), "--decoder-keep 0,6: the teacher's decoder has layers 0..5, not 6"),
    ((6, None, [2, 0]), "--decoder-keep 2,0: list distinct layers in increasing order"),
    ((6, None, [1, 1]), "--decoder-keep 1,1: list distinct layers in increasing order"),
    ((6, None, [-1, 2]), "--decoder-keep -1,2: the teacher's decoder has layers 0..5, not -1"),
    ((6, None, []), "--decoder-keep: give at least one layer"),
    ((6, 2, [0, 2, 5]), "--decoder-layers 2 disagrees with --decoder-keep 0,2,5 (3 layers)"),
    ((6, 7, None), "--decoder-layers 7: the teacher's decoder has only 6 layers"),
    ((6, 0, None), "--decoder-layers 0: must be >= 1"),
    ((0, 1, None), "--decoder-layers: the teacher has no decoder.layers.<i>.* tensors (not a "
                   "fairseq transformer)"),
])
def test_bad_layer_choices_are_one_line(args, message):
    with pytest.raises(UserError) as err:
        shrink.choose_layers("decoder", *args)
    assert str(err.value) == message


def test_renumbering_moves_kept_layers_and_keeps_the_rest():
    weights = {f"{side}.layers.{i}.fc1.weight": (side, i) for side in shrink.SIDES
               for i in range(3)}
    weights.update({"encoder.embed_tokens.weight": "e", "decoder.output_projection.weight": "o"})
    student, mapping = shrink.shrink_weights(weights, {"encoder": [1], "decoder": [0, 2]})
    assert mapping == {"encoder.layers.0.fc1.weight": "encoder.layers.1.fc1.weight",
                       "decoder.layers.0.fc1.weight": "decoder.layers.0.fc1.weight",
                       "decoder.layers.1.fc1.weight": "decoder.layers.2.fc1.weight",
                       "encoder.embed_tokens.weight": "encoder.embed_tokens.weight",
                       "decoder.output_projection.weight": "decoder.output_projection.weight"}
    assert student["decoder.layers.1.fc1.weight"] == ("decoder", 2)
    assert shrink.layer_counts(student) == {"encoder": 1, "decoder": 2}
    with pytest.raises(UserError, match="numbered"):
        shrink.layer_counts({"encoder.layers.1.fc1.weight": 0})
    with pytest.raises(UserError, match="unknown layer layout"):
        shrink.layer_counts({"encoder.sentence_encoder.layers.0.fc1.weight": 0})


def test_cli_defaults_are_the_config_defaults_and_bad_flags_are_one_line():
    args = shrink_cli.build_parser().parse_args(["t.pt", "--out", "s.pt", "--encoder-layers",
                                                 "1", "--decoder-keep", "0,2"])
    assert (args.teacher, args.encoder_layers, args.decoder_keep) == ("t.pt", 1, [0, 2])
    for f in ShrinkConfig.__dataclass_fields__.values():
        if f.name not in ("teacher", "out", "encoder_layers", "decoder_keep"):
            assert getattr(args, f.name) == field_default(f), f.name
    help_text = " ".join(shrink_cli.build_parser().format_help().split())
    assert "--seed SEED seed of the NAT's fresh parameters (default: 1)" in help_text
    for argv, message in [
            (["t.pt", "--out", "s", "--encoder-keep", "0,x"],
             "argument --encoder-keep: expected comma-separated layer numbers such as 0,2,5, "
             "got '0,x'"),
            (["t.pt", "--out", "s", "--decoder-layers", "0"],
             "argument --decoder-layers: must be a positive integer (>= 1), got 0")]:
        with pytest.raises(UserError) as err:
            shrink_cli.build_parser().parse_args(argv)
        assert str(err.value) == message
    with pytest.raises(argparse.ArgumentTypeError):
        shrink.parse_layer_list("")
    for kwargs, message in [({}, "give --encoder-layers and/or --decoder-layers"),
                            ({"nat": "nat_ctc_tiny"}, "--nat needs --data-bin"),
                            ({"nat": "nat_ctc_tiny", "data_bin": "b", "decoder_keep": [0]},
                             "--decoder-keep: with --nat the decoder layers start fresh")]:
        with pytest.raises(UserError, match=re.escape(message)):
            ShrinkConfig(teacher="t.pt", out="s.pt", **kwargs)


# ---- real checkpoints -------------------------------------------------------------------------

def run_main(argv, capsys):
    """``nat-shrink`` in-process; its stderr summary (a JSON line)."""
    capsys.readouterr()
    assert shrink_cli.main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().err.strip().splitlines()[-1])


def fails(argv, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        shrink_cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("nat-shrink: error: ") and "Traceback" not in err, err
    return err.strip()


def load(path):
    from nat.compat import load_checkpoint_safely

    return load_checkpoint_safely(path)


@pytest.fixture(scope="module")
def teacher_weights(tiny_teacher):
    return load(tiny_teacher)["model"]


@pytest.fixture(scope="module")
def students(tiny_teacher, toy_data_bin, tmp_path_factory):
    """``{name: student.pt}``: 1+1 by default, 1+1 from the teacher's second layers, 2+2."""
    out = tmp_path_factory.mktemp("shrink")
    made = {}
    for name, flags in {"small": ["--encoder-layers", 1, "--decoder-layers", 1],
                        "second": ["--encoder-keep", 1, "--decoder-keep", 1],
                        "same": ["--encoder-layers", 2, "--decoder-layers", 2]}.items():
        made[name] = str(out / name / "student.pt")
        assert shrink_cli.main([tiny_teacher, "--out", made[name], "--data-bin", toy_data_bin,
                                *map(str, flags)]) == 0
    return made


@pytest.mark.parametrize("name, kept", [("small", [0]), ("second", [1]), ("same", [0, 1])])
def test_shrunk_tensors_are_the_teachers(name, kept, students, teacher_weights, tiny_teacher):
    state = load(students[name])
    weights = state["model"]
    expected = {}   # teacher key -> student key, renumbered here by hand
    for key in teacher_weights:
        match = LAYER.match(key)
        if match is None:
            expected[key] = key
        elif int(match.group(2)) in kept:
            expected[key] = f"{match.group(1)}.layers.{kept.index(int(match.group(2)))}." \
                            f"{match.group(3)}"
    assert sorted(weights) == sorted(expected.values())
    for old, new in expected.items():
        assert weights[new].dtype == teacher_weights[old].dtype
        assert weights[new].equal(teacher_weights[old]), (old, new)
    model_cfg = state["cfg"]["model"]
    assert (model_cfg.encoder_layers, model_cfg.decoder_layers) == (len(kept), len(kept))
    record = state["extra_state"]["nat_shrink"]
    with open(students[name] + ".json", encoding="utf-8") as handle:
        sidecar = json.load(handle)
    assert sidecar.pop("sha256") == file_sha256(students[name])
    assert sidecar == json.loads(json.dumps(record))
    assert record["teacher"]["sha256"] == file_sha256(tiny_teacher)
    assert record["kept_layers"] == {"encoder": kept, "decoder": kept}
    assert record["tensors"] == {"copied": len(weights), "fresh": []}
    assert state["optimizer_history"][-1]["num_updates"] == 0
    assert "last_optimizer_state" not in state


@pytest.fixture(scope="module")
def nat_init(tiny_teacher, toy_data_bin, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("nat_init") / "nat_init.pt")
    assert shrink_cli.main([tiny_teacher, "--nat", "nat_ctc_tiny", "--data-bin", toy_data_bin,
                            "--out", path]) == 0
    return path


def test_nat_encoder_and_embeddings_are_the_teachers(nat_init, teacher_weights):
    state = load(nat_init)
    weights, record = state["model"], state["extra_state"]["nat_shrink"]
    encoder = [k for k in weights if k.startswith("encoder.")]
    assert sorted(encoder) == sorted(k for k in teacher_weights if k.startswith("encoder."))
    embeddings = ["decoder.embed_tokens.weight", "decoder.output_projection.weight"]
    for key in encoder + embeddings:
        assert weights[key].equal(teacher_weights[key]), key
    fresh = record["tensors"]["fresh"]
    assert "decoder.blank_out" in fresh and "decoder.layers.0.fc1.weight" in fresh
    assert not set(fresh) & set(encoder + embeddings)
    assert record["tensors"]["copied"] + len(fresh) == len(weights)
    assert not weights["decoder.layers.0.fc1.weight"].equal(
        teacher_weights["decoder.layers.0.fc1.weight"])
    assert state["cfg"]["model"].arch == "nat_ctc_tiny"
    assert state["cfg"]["task"]["_name"] == "translation_lev"


def test_bad_inputs_are_one_line(tiny_teacher, toy_data_bin, students, tmp_path, capsys):
    import shutil

    import torch

    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    assert "is not a PyTorch checkpoint (a text file)" in fails([text, "--out", tmp_path / "s.pt",
                                                                 "--encoder-layers", 1], capsys)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"model": {}, "hook": os.system}, unsafe)
    assert "refusing to load checkpoint" in fails([unsafe, "--out", tmp_path / "s.pt",
                                                   "--encoder-layers", 1], capsys)
    assert fails([tiny_teacher, "--out", students["small"], "--encoder-layers", 1],
                 capsys).endswith("exists (pass --overwrite to replace it)")
    assert "the teacher's encoder has only 2 layers" in fails(
        [tiny_teacher, "--out", tmp_path / "s.pt", "--encoder-layers", 3], capsys)
    assert "ours: nat_ctc_base" in fails([tiny_teacher, "--out", tmp_path / "n.pt", "--nat",
                                          "transformer_teacher_tiny", "--data-bin", toy_data_bin],
                                         capsys)
    assert "encoder_embed_dim is 512, the teacher's 128" in fails(
        [tiny_teacher, "--out", tmp_path / "n.pt", "--nat", "nat_ctc_base", "--data-bin",
         toy_data_bin], capsys)
    other = tmp_path / "other_bin"          # same sizes, two symbols swapped
    shutil.copytree(toy_data_bin, other)
    lines = (other / "dict.src.txt").read_text().splitlines()
    lines[0], lines[1] = lines[1], lines[0]
    (other / "dict.src.txt").write_text("\n".join(lines) + "\n")
    assert "dict.src.txt is not the teacher's dictionary" in fails(
        [tiny_teacher, "--out", tmp_path / "n.pt", "--nat", "nat_vanilla_tiny", "--data-bin",
         other], capsys)
    (other / "dict.src.txt").write_text("\n".join(lines + ["extra 1"]) + "\n")
    assert "has 57 symbols, the checkpoint's source embeddings 56" in fails(
        [tiny_teacher, "--out", tmp_path / "s.pt", "--encoder-layers", 1, "--data-bin", other],
        capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.pt", "other_bin", "unsafe.pt"]


def test_students_fine_tune_and_decode_with_real_fairseq(students, nat_init, toy_corpus,
                                                         toy_data_bin, tmp_path):
    """``--finetune-from-model`` with the flags each record names, then fairseq-generate of
    every test id from the checkpoints nat-shrink wrote: fairseq-train's ``cli_main`` and
    fairseq-generate's ``main``, all in one process (tests/shrink_runner.py)."""
    from nat.textio import count_lines

    checkpoints = {"ar": students["small"], "nat": nat_init}
    runs = []
    for name, path in checkpoints.items():
        with open(path + ".json", encoding="utf-8") as handle:
            command = json.load(handle)["fine_tune"]
        args = [toy_data_bin if a == "DATA_BIN" else a for a in command[1:]]
        args[args.index("fairseq_plugins")] = fairseq_cli.PLUGIN_DIR
        args += ["--lr", "1e-3", "--max-tokens", "500", "--max-update", "3", "--warmup-updates",
                 "1", "--save-dir", str(tmp_path / name), "--cpu", "--seed", "1",
                 *fairseq_cli.COMMON_TRAIN, *(fairseq_cli.AR_TRAIN if name == "ar" else [])]
        runs.append({"args": args, "log": str(tmp_path / f"{name}.train.log")})
    expected = count_lines(os.path.join(toy_corpus, "test.src"))
    decodes = {"ar": dict(beam=2), "nat": dict(task="translation_lev", beam=1,
                                               extra=["--iter-decode-max-iter", "0"])}
    generate = [{"args": fairseq_cli.generate_args(toy_data_bin, checkpoints[name], **kwargs),
                 "log": str(tmp_path / f"{name}.generate.log"), "command": ["fairseq-generate"]}
                for name, kwargs in decodes.items()]
    (tmp_path / "train.json").write_text(json.dumps(runs))
    (tmp_path / "generate.json").write_text(json.dumps({"runs": generate}))
    fairseq_cli.run_command("python", [os.path.join(HERE, "shrink_runner.py"),
                                       tmp_path / "train.json", tmp_path / "generate.json"],
                            log_path=str(tmp_path / "runner.log"))
    for name, path in checkpoints.items():
        log = (tmp_path / f"{name}.train.log").read_text()
        assert f"loading pretrained model from {path}" in log
        assert f"Loaded checkpoint {path} (epoch 1 @ 0 updates)" in log
        assert "num_updates 3" in log
        assert os.path.exists(tmp_path / name / "checkpoint_last.pt")
        out = (tmp_path / f"{name}.generate.log").read_text().split("\n", 1)[1]
        assert len(fairseq_cli.parse_generate_output(out, expected)) == expected  # every id
