"""The deploy stage: every NAT as a user ships it, timed against the teacher as a practitioner
deploys it.

Each one-pass NAT is exported (``nat-export``, fp32 and int8) to ``OUT/export/NAME-PRECISION``
and translates the test set with ONNX Runtime; the teacher is converted to CTranslate2 and
decodes it greedily and with beam 5, in float32 and int8.  For every system: sacreBLEU against
the same references as the analysis (computed here for the fairseq-generate hypotheses too, so
the change is like for like), the share of sentences identical to fairseq-generate's, and
``nat-bench speed``'s timings (batch-1 p50/p90 latency, throughput at the experiment's batch),
one thread each, one after the other in this process.
"""
import os
from dataclasses import asdict

from nat.experiment import schema
from nat.textio import read_lines, write_lines_atomic

PRECISIONS = ("fp32", "int8")
DEFAULTS = schema.defaults(schema.SpeedSection)


def exportable(system, one_pass_flags):
    """A NAT decoded in one pass with no further decoding flags (a length beam or AR reranking
    stays with fairseq-generate)."""
    return system["task"] == "translation_lev" and list(system["extra"]) == list(one_pass_flags)


def run(experiment, ctx, one_pass_flags):
    from analysis import bleu
    from nat.bench import speed, speed_systems
    from nat.translate.translator import Translator
    from nat.translate.vocab import Vocabulary

    source, out = experiment.source, experiment.out
    speed_cfg = {**DEFAULTS, **experiment.config["speed"]}
    decoded = experiment.runner.records["decode"]["result"]
    systems = experiment.systems()
    teacher = next(s for s in systems if s["name"] == "teacher_beam5")
    nats = [s for s in systems if exportable(s, one_pass_flags) and "retrain_of" not in s]
    skipped = [s["name"] for s in systems
               if s["task"] == "translation_lev" and not exportable(s, one_pass_flags)]
    data_bin = experiment.raw_bin
    prepared = getattr(source, "root", None) if source.words_key() else None
    refs = [read_lines(p) for p in source.references()]
    src_pieces = read_lines(source.pieces("test", "src"))
    tgt_pieces = read_lines(source.pieces("test", "tgt"))
    words_in = read_lines(source.text("test", "src"))
    export_dir = os.path.join(out, "export")
    hyp_dir = os.path.join(export_dir, "hyps")         # beside, not among, fairseq's hypotheses

    vocab = Vocabulary.load(os.path.join(data_bin, "dict.src.txt"))
    ar_sources = [vocab.encode(line) for line in src_pieces]
    nat_sources = [vocab.encode(line, prepend_bos=True) for line in src_pieces]
    timing = speed.SpeedOptions(latency_sentences=min(speed_cfg["latency_sentences"],
                                                      len(src_pieces)),
                                throughput_sentences=len(src_pieces),
                                batch=speed_cfg["throughput_batch"], progress=False)
    ref_tokens = sum(len(line.split()) for line in tgt_pieces)

    timed = speed_systems.ct2_systems(teacher["checkpoint"], data_bin, out, threads=1)
    for s in nats:
        for precision in PRECISIONS:
            path = os.path.join(export_dir, f"{s['name']}-{precision}")
            ctx.record(["nat-export", s["checkpoint"], "--out", path, "--data-bin", data_bin,
                        *(["--prepared", prepared] if prepared else []),
                        *(["--int8"] if precision == "int8" else [])])
        timed += speed_systems.nat_systems(s["name"], s["checkpoint"], data_bin, export_dir,
                                           threads=1, prepared=prepared)
    rows = speed.time_systems(timed, ar_sources, nat_sources, ref_tokens, timing, "tiny", 1,
                              "natural")
    quality, hyp_paths = {}, {}
    fairseq_hyps = {name: read_lines(d["hyp"]) for name, d in decoded.items()}
    for s in nats:
        reference_hyps = fairseq_hyps[s["name"]]
        for precision in PRECISIONS:
            path = os.path.join(export_dir, f"{s['name']}-{precision}")
            hyps = Translator.open(path, batch_size=speed_cfg["throughput_batch"]).translate(
                words_in)
            hyp_path = os.path.join(hyp_dir, f"{s['name']}.onnx-{precision}.txt")
            write_lines_atomic(hyp_path, hyps)
            hyp_paths.setdefault(s["name"], {})[precision] = hyp_path
            ctx.record(["nat-translate", "--model", path, "--input",
                        source.text("test", "src"), "--output", hyp_path])
            quality[f"{s['name']} ONNX Runtime {precision}"] = _quality(
                bleu, hyps, refs, reference_hyps)
        torch_path = Translator.open(s["checkpoint"], data_bin=data_bin,
                                     batch_size=speed_cfg["throughput_batch"])
        hyps = source.to_words(f"{s['name']}.torch", torch_path.translate(src_pieces),
                               hyp_dir)
        quality[f"{s['name']} torch fp32"] = _quality(bleu, hyps, refs, reference_hyps)
    for system in timed:
        if system.family == "ar":
            hyps = _ct2_words(system, ar_sources, speed_cfg["throughput_batch"], source,
                              hyp_dir)
            same = "teacher_greedy" if "greedy" in system.name else "teacher_beam5"
            quality[f"{system.name} {system.precision}"] = _quality(bleu, hyps, refs,
                                                                    fairseq_hyps[same])
    fairseq_bleu = {name: bleu.bleu(h, refs)["sacrebleu"]["score"]
                    for name, h in fairseq_hyps.items()}
    return {"rows": [asdict(r) for r in rows], "quality": quality, "hyps": hyp_paths,
            "fairseq_bleu": fairseq_bleu, "skipped": skipped, "threads": 1,
            "latency_sentences": timing.latency_sentences,
            "ref_tokens_per_sentence": ref_tokens / len(tgt_pieces),
            "throughput_batch": timing.batch, "exports": export_dir}


def _quality(bleu, hyps, refs, fairseq):
    """BLEU of ``hyps``, their share identical to ``fairseq`` (the same model decoded by
    fairseq-generate) and the BLEU change from it."""
    score = bleu.bleu(hyps, refs)["sacrebleu"]
    return {"bleu": score["score"], "signature": score["signature"],
            "identical_share": sum(a == b for a, b in zip(hyps, fairseq)) / len(hyps),
            "bleu_change_vs_fairseq": round(score["score"]
                                            - bleu.bleu(fairseq, refs)["sacrebleu"]["score"], 4)}


def _ct2_words(system, sources, batch, source, hyp_dir):
    """The CTranslate2 teacher's test-set output at word level."""
    lines = []
    for i in range(0, len(sources), batch):
        for result in system.run(sources[i:i + batch], None):
            lines.append(" ".join(result.hypotheses[0]))
    return source.to_words(f"{system.name.replace(' ', '_')}_{system.precision}", lines,
                           hyp_dir)


def int8_hyps(result):
    """{system: path of its int8 export's test hypotheses} of a deploy stage's ``result``."""
    return {name: paths["int8"] for name, paths in (result.get("hyps") or {}).items()
            if "int8" in paths}
