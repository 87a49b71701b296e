"""``run(cfg)``: check inputs, decode missing chunks, merge, select, write, binarize, manifest.

The teacher is checkpoints (fairseq, CTranslate2: ``teacher.describe``) or a black box
(``backend_command``: a command or a Python callable); without ``--target`` the source is
monolingual text and the corpus is the source with the teacher's answers.

Order of failure: every input check (line counts, UTF-8, teacher files, source lengths under the
"error" policy) happens before any decoding.  A killed run resumes from its finished chunks; the
outputs and binaries are rewritten from the store, so a re-run yields the same bytes.
"""
import dataclasses
import json
import os
import shutil
import sys
import time

from nat import textio
from nat.distill import binarize as binarize_mod
from nat.distill import manifest as manifest_mod
from nat.hashing import file_sha256, json_key, line_hash
from nat.distill.select import LanguageChecker, SentenceScorer, select
from nat.distill.shards import shard_chunks
from nat.distill.store import Store
from nat.distill.teacher import check_autoregressive, describe
from nat.errors import UserError


def check_paths(cfg):
    """Every input file, the data-bin and the output directory, before anything is read."""
    textio.input_file(cfg.source, "--source")
    if cfg.target is not None:
        textio.input_file(cfg.target, "--target")
    if cfg.valid_source:
        textio.input_file(cfg.valid_source, "--valid-source")
        textio.input_file(cfg.valid_target, "--valid-target")
    if cfg.data_bin is not None:
        textio.input_dir(cfg.data_bin, "--data-bin")
    textio.output_dir(cfg.out, "--out")


def read_inputs(cfg):
    """Source and target lines (targets None: monolingual); counts are compared before anything
    is decoded."""
    if cfg.target is None:
        sources, targets = textio.read_lines(cfg.source), None
    else:
        textio.check_parallel(cfg.source, cfg.target)
        sources, targets = textio.read_lines(cfg.source), textio.read_lines(cfg.target)
    if not sources:
        raise UserError(f"{cfg.source}: no lines to distill")
    if cfg.valid_source:
        textio.check_parallel(cfg.valid_source, cfg.valid_target)
        valid = (textio.read_lines(cfg.valid_source), textio.read_lines(cfg.valid_target))
    else:
        valid = None
    return sources, targets, valid


def plan_sources(cfg, sources, limit, monolingual=False):
    """Token lists to decode and their status under the over-long-source policy (``limit``
    None: a black box without --max-source-positions, every line is decoded)."""
    tokens, status = [], []
    for number, line in enumerate(sources, start=1):
        words = line.split()
        if limit is None or len(words) + 1 <= limit:  # +1: the end-of-sentence token
            tokens.append(words)
            status.append("decoded")
        elif cfg.long_source == "error":
            raise UserError(f"{cfg.source}:{number}: {len(words)} tokens + </s> exceed the "
                            f"teacher's {limit} source positions (see --long-source)")
        elif monolingual and cfg.long_source == "raw":
            raise UserError(f"{cfg.source}:{number}: {len(words)} tokens + </s> exceed the "
                            f"teacher's {limit} source positions and there is no --target to "
                            f"keep (use --long-source truncate or error)")
        elif cfg.long_source == "truncate":
            tokens.append(words[:limit - 1])
            status.append("truncated")
        else:
            tokens.append(None)
            status.append("long_source")
    return tokens, status


def backend_inputs(cfg, sources, tokens, status):
    """What each backend decodes: token lists, or for a black box ``(id, line)`` (the line as
    read, or its truncation); None where nothing is decoded."""
    if not cfg.black_box:
        return tokens
    return [None if t is None else (i, sources[i] if s == "decoded" else " ".join(t))
            for i, (t, s) in enumerate(zip(tokens, status))]


def decode_chunk(backend, cfg, store, chunk, inputs, tokens, status, hashes, on_batch):
    index, first, end = chunk
    todo = [i for i in range(first, end) if tokens[i] is not None]
    started = time.perf_counter()
    hyps = backend.decode([inputs[i] for i in todo], seed=cfg.seed + index, on_batch=on_batch)
    elapsed = time.perf_counter() - started
    by_id = dict(zip(todo, hyps))
    records = []
    for i in range(first, end):
        nbest = by_id.get(i, [])
        limit = backend.max_len(len(tokens[i]) + 1) if tokens[i] is not None else None
        records.append({"id": i, "src": hashes[i], "status": status[i], "hyps": nbest,
                        "hit_max_len": sum(limit is not None and len(t.split()) >= limit
                                           for t, _ in nbest)})
    store.write_chunk(index, first, end, records,
                      {"decode_s": round(elapsed, 3), "decoded": len(todo)})


def make_backend(cfg, teacher, teacher_fn=None):
    if cfg.black_box:
        from nat.distill.backend_command import BlackBoxBackend
        return BlackBoxBackend(cfg, teacher, teacher_fn)
    if cfg.backend == "ctranslate2":
        from nat.distill.backend_ct2 import CTranslate2Backend
        return CTranslate2Backend(cfg, teacher)
    from nat.distill.backend_fairseq import FairseqBackend
    return FairseqBackend(cfg, teacher)


def decode_shards(cfg, teacher, store, inputs, tokens, status, hashes, teacher_fn=None):
    """Decode every missing chunk of the requested shards; returns backend info (or None)."""
    from tqdm import tqdm

    if cfg.merge_only:
        check_shards_finished(cfg, store)
        return {"decoded_chunks_now": 0}
    shard_ids = [cfg.shard_id] if cfg.shard_id is not None else range(cfg.num_shards)
    plan = {s: shard_chunks(len(tokens), cfg.chunk_size, cfg.num_shards, s) for s in shard_ids}
    missing = [c for s, chunks in plan.items() if not store.shard_done(cfg.num_shards, s)
               for c in chunks if not store.has_chunk(c[0])]
    backend = make_backend(cfg, teacher, teacher_fn) if missing else None
    with tqdm(total=sum(c[2] - c[1] for c in missing), unit="sent", file=sys.stderr,
              disable=not cfg.progress or not missing, desc="nat-distill") as bar:
        for shard_id, chunks in plan.items():
            if store.shard_done(cfg.num_shards, shard_id):
                continue
            for chunk in chunks:
                if not store.has_chunk(chunk[0]):
                    decode_chunk(backend, cfg, store, chunk, inputs, tokens, status, hashes,
                                 bar.update)
            store.write_shard(cfg.num_shards, shard_id, chunks, launcher=cfg.launcher)
    return {"decoded_chunks_now": len(missing), **(backend.info() if backend else {})}


def check_shards_finished(cfg, store):
    """``--merge-only``: one line naming every unfinished shard, before anything is merged."""
    missing = [s for s in range(cfg.num_shards) if not store.shard_done(cfg.num_shards, s)]
    if missing:
        names = ", ".join(str(s) for s in missing)
        raise UserError(f"--merge-only: shard{'s' if len(missing) > 1 else ''} {names} of "
                        f"{cfg.num_shards} not finished (no marker under "
                        f"{os.path.dirname(store.shard_path(cfg.num_shards, 0))}); run "
                        f"{'them' if len(missing) > 1 else 'it'} with the same settings and "
                        f"--shard-id, or under the launcher")


def shard_launchers(store, num_shards):
    """Who decoded each shard: ``[{"shard_id", "launcher", ...}, ...]`` from the markers
    (launcher None: a plain run or ``--shard-id``)."""
    shards = []
    for shard_id in range(num_shards):
        with open(store.shard_path(num_shards, shard_id), encoding="utf-8") as handle:
            marker = json.load(handle)
        shards.append({"shard_id": shard_id, "launcher": marker.get("launcher")})
    return shards


def write_corpus(cfg, teacher, pairs, valid):
    out, split = cfg.out, cfg.split
    src, tgt = teacher.source_lang, teacher.target_lang
    paths = {lang: os.path.join(out, f"{split}.{lang}") for lang in (src, tgt)}
    textio.write_lines_atomic(paths[src], [p[1] for p in pairs])
    textio.write_lines_atomic(paths[tgt], [p[2] for p in pairs])
    textio.write_lines_atomic(os.path.join(out, f"{split}.ids"), [str(p[0]) for p in pairs])
    valid_prefix = None
    if valid is not None:
        valid_prefix = os.path.join(out, "raw-valid", "valid")
        textio.write_lines_atomic(f"{valid_prefix}.{src}", valid[0])
        textio.write_lines_atomic(f"{valid_prefix}.{tgt}", valid[1])
    return paths, valid_prefix


def write_detok(cfg, teacher, paths):
    """``{split}.detok.{lang}``: the subword corpus decoded with sentencepiece (for analysis and
    BLEU; ``{split}.{lang}`` stays subwords, the binarized form)."""
    from nat.prepare import subwords

    models = subwords.models_for(cfg.spm)
    sides = {teacher.source_lang: "src", teacher.target_lang: "tgt"}
    out, unk, empty = {}, 0, 0
    for lang, path in paths.items():
        sp = subwords.load(models[sides[lang]])
        lines = textio.read_lines(path)
        unk += sum(line.split().count("<unk>") for line in lines)
        detok = os.path.join(cfg.out, f"{cfg.split}.detok.{lang}")
        words = subwords.decode(sp, lines)
        empty += sum(1 for piece_line, text in zip(lines, words) if piece_line and not text)
        textio.write_lines_atomic(detok, words)
        out[lang] = detok
    return {"files": {os.path.basename(p): file_sha256(p) for p in out.values()},
            "spm": {side: {"path": os.path.abspath(m), "sha256": file_sha256(m)}
                    for side, m in models.items()},
            "unk_tokens": unk,
            "empty_after_decoding": empty,   # e.g. a hypothesis of only '▁' pieces
            "levels": {os.path.basename(paths[teacher.target_lang]): "subword (binarized)",
                       os.path.basename(out[teacher.target_lang]): "word (sentencepiece decode)"}}


def check_alignment(pairs, total, per_source):
    """Invariant: every source id exactly ``per_source`` times, in id order."""
    ids = [p[0] for p in pairs]
    expected = [i for i in range(total) for _ in range(per_source)]
    if ids != expected:
        raise AssertionError("distilled corpus is not aligned with the source ids")


def remove_stale_temp_files(out, store_root):
    """Temp files (and output staging directories) a killed run left behind (every shard is
    finished, so none is in use)."""
    for directory, _, names in list(os.walk(store_root)) + [(out, None, os.listdir(out))]:
        for name in names:
            if name.startswith(".tmp-"):
                path = os.path.join(directory, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)


def unknown_tokens(lines_of_text, dictionary, side="source"):
    """Tokens the dictionary lacks (decoded or binarized as <unk>): counts and first line."""
    from nat.distill.teacher import dictionary_symbols

    if dictionary is None:      # a black box without --data-bin: no dictionary to compare
        return {}
    known = set(dictionary_symbols(dictionary))
    tokens = lines = 0
    first = longest = None
    for number, line in enumerate(lines_of_text, start=1):
        missing = [w for w in line.split() if w not in known]
        if missing:
            tokens += len(missing)
            lines += 1
            first = first or number
            longest = max([longest or 0] + [len(w) for w in missing])
    return {f"unknown_{side}_tokens": tokens, f"{side}s_with_unknown_tokens": lines,
            f"first_{side}_line_with_unknown_token": first,
            f"longest_unknown_{side}_token_chars": longest}


def describe_teacher(cfg, teacher_fn=None):
    """Checkpoints (checked to be autoregressive) or a black box; one line on bad input."""
    if cfg.black_box:
        from nat.distill import backend_command
        return backend_command.describe(cfg, teacher_fn)
    if teacher_fn is not None:
        raise UserError(f"a Python teacher needs backend='command', not {cfg.backend!r}")
    teacher = describe(cfg.paths, cfg.data_bin, cfg.source_lang, cfg.target_lang)
    check_autoregressive(teacher)      # a NAT teacher: one line, before anything is written
    return teacher


def select_pairs(cfg, records, sources, targets, scorer):
    """The selection pass; monolingual input has no gold target to fall back to, so an empty
    answer stays empty (counted as ``empty_hypothesis_kept``)."""
    gold = targets if targets is not None else [""] * len(sources)
    checker = None
    if cfg.method == "consistent":
        checker = LanguageChecker(textio.read_json(cfg.lexicon, "--lexicon"), cfg.bleu_remove_bpe)
    pairs, fallbacks = select(records, sources, gold, cfg.method, cfg.output_nbest, scorer,
                              cfg.selective_ter, checker)
    if targets is None and "empty_hypothesis" in fallbacks:
        fallbacks["empty_hypothesis_kept"] = fallbacks.pop("empty_hypothesis")
    return pairs, fallbacks


def run(cfg, teacher_fn=None):
    """The pipeline for ``cfg``; ``teacher_fn`` (``list[str] -> list[str]``) is the teacher of
    ``backend="command"`` through the API, instead of ``teacher_cmd``."""
    started = time.time()
    check_paths(cfg)
    sources, targets, valid = read_inputs(cfg)
    if cfg.spm:                                   # a bad --spm fails before any decoding
        from nat.prepare import subwords
        for model in subwords.models_for(cfg.spm).values():
            subwords.load(model)
    teacher = describe_teacher(cfg, teacher_fn)
    limit = teacher.max_source_positions
    if cfg.max_source_positions:
        limit = min(limit or cfg.max_source_positions, cfg.max_source_positions)
    tokens, status = plan_sources(cfg, sources, limit, monolingual=targets is None)
    hashes = [line_hash(s) for s in sources]
    identity = teacher.store_identity() if cfg.black_box else teacher.sha256
    settings = cfg.decoding(identity, file_sha256(cfg.source), limit)
    key = json_key(settings)
    store = Store(os.path.join(cfg.out, "store", key))
    store.bind(settings)
    inputs = backend_inputs(cfg, sources, tokens, status)
    backend_info = decode_shards(cfg, teacher, store, inputs, tokens, status, hashes, teacher_fn)
    if cfg.shard_id is not None:
        return {"shard_id": cfg.shard_id, "num_shards": cfg.num_shards, "store": store.root,
                "done": True, "launcher": cfg.launcher, **backend_info}

    records = store.merge(hashes, cfg.chunk_size, cfg.num_shards)
    remove_stale_temp_files(cfg.out, store.root)
    needs_scorer = cfg.method in ("seqinter", "selective")
    scorer = SentenceScorer(cfg.bleu_tokenize, cfg.bleu_remove_bpe) if needs_scorer else None
    pairs, fallbacks = select_pairs(cfg, records, sources, targets, scorer)
    check_alignment(pairs, len(sources), cfg.output_nbest)
    # every output is made in a staging directory and moved into OUT at the end (manifest
    # last): a run killed while writing or binarizing leaves no complete-looking corpus
    staging = os.path.join(cfg.out, f".tmp-outputs-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        staged = dataclasses.replace(cfg, out=staging)
        paths, valid_prefix = write_corpus(staged, teacher, pairs, valid)
        detok = write_detok(staged, teacher, paths) if cfg.spm else None
        splits = {}
        if cfg.binarize:
            splits = binarize_mod.binarize(staging, cfg.split, teacher, cfg.data_bin,
                                           valid_prefix, cfg.copy_valid)
            if valid_prefix:
                splits["valid"] = (f"binarized from {os.path.abspath(cfg.valid_source)} and "
                                   f"{os.path.abspath(cfg.valid_target)}")
        outputs = {os.path.basename(p): file_sha256(p) for p in paths.values()}
        textio.publish(staging, cfg.out, "manifest.json")  # manifest written after
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    chunk_headers = [store.read_chunk(i)[0] for i in range(-(-len(sources) // cfg.chunk_size))]
    decode_s = sum(h.get("decode_s", 0.0) for h in chunk_headers)
    decoded = sum(h.get("decoded", 0) for h in chunk_headers)
    wall = time.time() - started
    manifest = {
        "tool": "nat-distill",
        "command": manifest_mod.command_line(),
        "teachers": teacher.members(),
        "ensemble": teacher.ensemble(),
        "teacher_label": teacher.label,
        "dictionaries": ({teacher.source_lang: file_sha256(teacher.src_dict),
                          teacher.target_lang: file_sha256(teacher.tgt_dict)}
                         if teacher.src_dict else None),
        "languages": {"source": teacher.source_lang, "target": teacher.target_lang},
        "inputs": {"source": os.path.abspath(cfg.source),
                   "target": os.path.abspath(cfg.target) if cfg.target else None,
                   "source_sha256": settings["source_sha256"],
                   "target_sha256": file_sha256(cfg.target) if cfg.target else None,
                   "monolingual": cfg.target is None},
        "split": cfg.split,
        "decoding": settings, "store": os.path.relpath(store.root, cfg.out), "store_key": key,
        "selection": {**cfg.selection(), **(scorer.signatures() if scorer else {})},
        "sharding": {"num_shards": cfg.num_shards, "chunk_size": cfg.chunk_size,
                     "merge_only": cfg.merge_only,
                     "shards": shard_launchers(store, cfg.num_shards)},
        "packages": manifest_mod.package_versions(),
        "counts": {"sources": len(sources), "outputs": len(pairs), "decoded": decoded,
                   "not_decoded": status.count("long_source"),
                   "empty_sources": sum(1 for s in sources if not s.strip()),
                   **unknown_tokens(sources, teacher.src_dict),
                   **(unknown_tokens([p[2] for p in pairs], teacher.tgt_dict, "target")
                      if cfg.black_box else {})},
        "fallbacks": fallbacks,
        "truncations": {"source_truncated": status.count("truncated"),
                        "source_positions": limit,
                        "hypotheses_at_max_len": sum(r["hit_max_len"] for r in records)},
        "outputs": outputs,
        "bin": os.path.join(cfg.out, "bin") if cfg.binarize else None,
        "detok": detok,
        "other_splits": splits,
        "timing": {"wall_s": round(wall, 3), "decode_s": round(decode_s, 3),
                   "sentences_per_s": round(decoded / decode_s, 1) if decode_s else None},
        "this_run": backend_info,
    }
    manifest_mod.write_manifest(os.path.join(cfg.out, "manifest.json"), manifest)
    return manifest
