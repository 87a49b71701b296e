"""The report's "What distillation lost" section on hand-made results: the compression axis
(rows, order, int8 points) and the line for a corpus without a generator."""
import os

from nat.experiment import lost


def model(name, data, params, valid, family="vanilla", **more):
    measures = {key: None for key, _, _, _ in lost.SYSTEM}
    measures.update(valid_rate=valid, ece=0.1, synonym_variation_kept=0.5,
                    swap_changed_beyond_edit=0.2)
    return {"name": name, "family": family, "train_data": data, "bleu": 10.0 * valid,
            "parameters": params, "lost": measures, **more}


def results(compression=True):
    models = [model("teacher_beam5", "raw", 10**6, 0.9, family="teacher")]
    for data in ("raw", "distilled"):
        models += [model(f"vanilla_{data}", data, 10**6, 0.5),
                   model(f"vanilla_{data}_seed2", data, 10**6, 0.4, retrain_of=f"vanilla_{data}"),
                   model(f"vanilla_d32_{data}", data, 10**4, 0.2, compression_of="vanilla",
                         size="d32"),
                   model(f"vanilla_d64_{data}", data, 10**5, 0.3, compression_of="vanilla",
                         size="d64")]
    sizes = [{"name": "d64", "extra": []}, {"name": "d32", "extra": []}] if compression else []
    return {"config": {"lost": {"compression_model": "vanilla", "compression": sizes}},
            "models": models, "corpora": [],
            "deploy": {"quality": {"vanilla_d32_distilled ONNX Runtime int8": {"bleu": 1.5}}}}


def test_compression_rows_follow_the_parameter_count(tmp_path):
    rows = lost.compression_rows(results())
    assert [r["name"] for r in rows] == [
        "vanilla_distilled", "vanilla_d64_distilled", "vanilla_d32_distilled",
        "vanilla_raw", "vanilla_d64_raw", "vanilla_d32_raw"]   # no teacher, no seed copies
    lines = lost.section(results(), str(tmp_path))
    table = lines[lines.index("### As the student shrinks"):]
    row = next(line for line in table if line.startswith("| vanilla_d32_distilled |"))
    assert "| 10,000 | 2.0 | 1.5 |" in row          # parameters, BLEU, int8 BLEU
    for figure in ("lost.png", "compression.png"):
        assert os.path.getsize(tmp_path / figure) > 5000


def test_no_compression_axis_and_no_generator(tmp_path):
    lines = lost.section(results(compression=False), str(tmp_path))
    assert "### As the student shrinks" not in lines and (tmp_path / "lost.png").exists()
    unmeasured = results()
    for m in unmeasured["models"]:
        m["lost"]["valid_rate"] = None
    assert "Not measured" in " ".join(lost.section(unmeasured, str(tmp_path)))
