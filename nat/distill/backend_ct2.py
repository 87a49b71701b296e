"""CTranslate2 decoding for standard fairseq transformer teachers (one checkpoint, no ensemble).

The checkpoint is converted once into a cache keyed by the checkpoint's and dictionaries' sha256
and the CTranslate2 version; the converter runs in-process after ``compat.install()`` so the
checkpoint is read with the safe (weights_only) loader.  Inputs are never truncated by
CTranslate2 (``max_input_length=0``): the pipeline's over-long-source policy decides.
"""
import os
import shutil
import tempfile

from nat.hashing import file_sha256, json_key
from nat.errors import UserError


def default_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nat-kd", "ct2")


def convert_cached(teacher, cache_dir=None, user_dir=None):
    """Directory of the converted model; converts only when the cache has no entry for it."""
    import ctranslate2

    cache_dir = cache_dir or default_cache()
    key = json_key({"checkpoint": teacher.sha256[0], "src_dict": file_sha256(teacher.src_dict),
                    "tgt_dict": file_sha256(teacher.tgt_dict),
                    "ctranslate2": ctranslate2.__version__}, length=24)
    target = os.path.join(cache_dir, key)
    if os.path.isfile(os.path.join(target, "model.bin")):
        return target, False
    os.makedirs(cache_dir, exist_ok=True)
    from nat import compat
    import fairseq_plugins  # noqa: F401  (custom architecture names, compat on fairseq)
    from ctranslate2.converters import FairseqConverter

    compat.install()
    tmp = tempfile.mkdtemp(dir=cache_dir, prefix=".convert-")
    try:
        FairseqConverter(teacher.paths[0], os.path.dirname(os.path.abspath(teacher.src_dict)),
                         source_lang=teacher.source_lang, target_lang=teacher.target_lang,
                         user_dir=user_dir).convert(os.path.join(tmp, "model"), force=True)
        try:
            os.replace(os.path.join(tmp, "model"), target)
        except OSError:  # another process finished the same conversion first
            if not os.path.isfile(os.path.join(target, "model.bin")):
                raise
    except (NotImplementedError, ValueError) as err:
        raise UserError(f"CTranslate2 cannot convert {teacher.paths[0]}: "
                        f"{conversion_failure(err)} (use --backend fairseq)") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target, True


def conversion_failure(err):
    """One line for a converter exception: CTranslate2 lists its reasons on the lines after
    "We identified the following reasons:"; they are the point, so they are kept."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    reasons = [line[2:].strip() for line in lines[1:] if line.startswith("- ")]
    if reasons:
        return "not supported by CTranslate2: " + "; ".join(reasons)
    return " ".join(lines)[:300]


class CTranslate2Backend:
    name = "ctranslate2"

    def __init__(self, cfg, teacher):
        import ctranslate2

        self.model_dir, self.converted = convert_cached(teacher, cfg.ct2_cache, cfg.user_dir)
        # like torch, honour OMP_NUM_THREADS (set by job runners that share the cores)
        threads = cfg.threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count()
        self.translator = ctranslate2.Translator(self.model_dir, device="cpu",
                                                 compute_type=cfg.ct2_compute_type,
                                                 intra_threads=threads, inter_threads=1)
        self.cfg = cfg
        self.ctranslate2 = ctranslate2

    def max_len(self, src_len):
        return self.cfg.max_len_b

    def decode(self, token_lists, seed, on_batch=None):
        cfg = self.cfg
        options = dict(max_batch_size=cfg.max_tokens, batch_type="tokens", return_scores=True,
                       num_hypotheses=cfg.store_nbest, length_penalty=cfg.lenpen,
                       max_input_length=0, max_decoding_length=cfg.max_len_b)
        if cfg.sampling:
            self.ctranslate2.set_random_seed(seed)
            options.update(beam_size=1, sampling_topk=max(cfg.sampling_topk, 0),
                           sampling_temperature=cfg.sampling_temperature)
        else:
            options.update(beam_size=cfg.beam)
        results = []
        step = max(1, cfg.max_tokens // 8)  # several calls so the progress bar moves
        for start in range(0, len(token_lists), step):
            part = token_lists[start:start + step]
            for result in self.translator.translate_batch(part, **options):
                results.append([(" ".join(h), round(float(s), 6))
                                for h, s in zip(result.hypotheses, result.scores)])
            if on_batch:
                on_batch(len(part))
        return results

    def info(self):
        return {"backend": self.name, "model_dir": self.model_dir,
                "converted_now": self.converted, "compute_type": self.cfg.ct2_compute_type}
