"""How big a run the corpus needs: ``nat-experiment --data DIR --dry-run`` prints the corpus'
size and piece lengths, each model's expected epochs and time under the chosen preset, and
warns when the budget is far below what the corpus needs.

Pieces are counted exactly in a prepared directory; for a raw one (not yet split into pieces)
they are estimated from characters (``CHARS_PER_PIECE``).  An update holds about ``FILL`` x
``max_tokens`` tokens (fairseq counts max(source, target) + 1 per pair; padding and batch
boundaries take the rest), and its cost is the ETA's (``pipeline._update_seconds``).  Measured
on the gettext corpus (nat-gettext de,es,fr, 25k pairs, 4000 pieces): 3.3 characters per piece,
115 updates per epoch at 4096 tokens (fill 0.78) and 221 at 2048 (0.81).
"""
from nat.textio import read_lines

CHARS_PER_PIECE = 3.3
FILL = 0.8
#: fewer passes over the corpus than this and a model is likely undertrained (the quick preset's
#: teacher on a 24k-pair corpus: 2.7 epochs, test BLEU near 0; the real preset's: 17 epochs)
MIN_EPOCHS = {"teacher": 10, "nat": 5}
TOO_SMALL = 2000  # pairs: below this a tiny teacher overfits before it translates


def _lengths(lines, exact):
    return [len(line.split()) if exact else max(1, round(len(line) / CHARS_PER_PIECE))
            for line in lines]


def _quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0


def corpus_stats(source):
    """Training pairs and pieces per line of ``source`` (a ``UserData``), exact when prepared."""
    exact = source.corpus is not None
    paths = ([source.pieces("train", side) for side in ("src", "tgt")] if exact else
             [source.found["train"].columns[side] for side in ("src", "tgt")])
    src, tgt = (_lengths(read_lines(path), exact) for path in paths)
    per_pair = [max(a, b) + 1 for a, b in zip(src, tgt)]
    return {"pairs": len(src), "exact": exact,
            "pieces": {side: {"mean": sum(v) / max(1, len(v)), "p95": _quantile(v, 0.95),
                              "max": max(v, default=0)}
                       for side, v in (("src", src), ("tgt", tgt))},
            "tokens_per_epoch": sum(per_pair)}


def plan(stats, jobs, update_seconds, parallel):
    """Per training job: updates, epochs, expected seconds; plus warnings."""
    rows, warnings = [], []
    for job in jobs:
        if job.tool == "nat-distill":
            continue
        args = [str(a) for a in job.args]
        max_tokens = int(args[args.index("--max-tokens") + 1])
        per_epoch = max(1.0, stats["tokens_per_epoch"] / (FILL * max_tokens))
        epochs = job.updates / per_epoch
        kind = "nat" if "translation_lev" in args else "teacher"
        rows.append({"name": job.name, "updates": job.updates, "max_tokens": max_tokens,
                     "updates_per_epoch": per_epoch, "epochs": epochs,
                     "seconds": job.updates * update_seconds(job)})
        floor = MIN_EPOCHS[kind] if kind == "nat" or job.name == "teacher" else None
        if floor and epochs < floor:
            need = int(round(floor * per_epoch, -2)) or 100
            warnings.append(f"{job.name}: {job.updates} updates are {epochs:.1f} epochs of this "
                            f"corpus (< {floor}): expect an undertrained model; about {need} "
                            f"updates of {max_tokens} tokens give {floor} epochs")
    if stats["pairs"] < TOO_SMALL:
        warnings.append(f"only {stats['pairs']} training pairs (< {TOO_SMALL}): even a tiny "
                        f"teacher memorises them before it translates")
    busy = sum(r["seconds"] for r in rows)
    return rows, warnings, max(busy / max(1, parallel), _longest_chain(jobs, update_seconds))


def _longest_chain(jobs, update_seconds, distill_seconds=150):
    """Seconds of the longest dependency chain (teacher -> distillation -> the NAT trained on
    it): no number of cores makes the run shorter.  ``distill_seconds``: nat-distill's share
    (133 s for 25k pairs with CTranslate2, measured)."""
    cost = {job.name: (distill_seconds if job.tool == "nat-distill" else
                       job.updates * update_seconds(job)) for job in jobs}
    deps = {job.name: job.deps for job in jobs}
    done = {}

    def finish(name):
        if name not in done:
            done[name] = cost[name] + max((finish(d) for d in deps[name] if d in cost),
                                          default=0)
        return done[name]

    return max((finish(name) for name in cost), default=0)


def describe(stats, jobs, update_seconds, parallel, max_pieces=None):
    """The sizing block of ``--dry-run`` (lines) for ``corpus_stats``' ``stats``."""
    how = "pieces counted" if stats["exact"] else \
        f"pieces estimated as characters / {CHARS_PER_PIECE:g} (not yet prepared)"
    p = stats["pieces"]
    lines = [f"sizing: {stats['pairs']} training pairs; pieces per line ({how}): source mean "
             f"{p['src']['mean']:.1f}, 95% {p['src']['p95']}, max {p['src']['max']}; target "
             f"mean {p['tgt']['mean']:.1f}, 95% {p['tgt']['p95']}, max {p['tgt']['max']}; "
             f"{stats['tokens_per_epoch']} tokens per epoch"]
    rows, warnings, wall = plan(stats, jobs, update_seconds, parallel)
    for r in rows:
        lines.append(f"  {r['name']:<20} {r['updates']:>6} updates x {r['max_tokens']} tokens = "
                     f"{r['epochs']:5.1f} epochs ({r['updates_per_epoch']:.0f} updates/epoch), "
                     f"~{r['seconds'] / 60:.0f} min on one core")
    lines.append(f"  training: ~{wall / 60:.0f} min with {parallel} jobs side by side (the longer "
                 f"of the work per core and the teacher -> distillation -> NAT chain, at the "
                 f"ETA's per-update costs: on the gettext corpus the measured ones were 1.1-1.4x "
                 f"higher; decoding and analysis come on top)")
    if max_pieces and max(p["src"]["max"], p["tgt"]["max"]) > max_pieces:
        lines.append(f"  note: lines over prepare.max_pieces = {max_pieces} pieces are dropped "
                     f"(counted in the manifest)")
    lines += [f"warning: {w}" for w in warnings]
    return lines
