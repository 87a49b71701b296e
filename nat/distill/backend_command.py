"""A black-box teacher (Wallace et al. 2020, imitation of a system one can only query): a shell
command (``--backend command --teacher-cmd "..."``) or, through the API, a Python callable
``list[str] -> list[str]``.  It gets source lines and answers one line each, in order: no
scores and no n-best, so the store holds one hypothesis per source with score ``null``.

Each call sends at most ``--teacher-batch`` lines of one chunk, plus ``--echo-probes`` lines
sent twice (``command_echo``).  A failed call (timeout, non-zero exit, too few or too many
answer lines, a failed echo check, an answer holding a line break) is one UserError naming the
call's first and last source line; its chunk is not written, so nothing is silently shorter
and a re-run resumes from the finished chunks.
"""
import hashlib
import inspect
from dataclasses import dataclass
from typing import Optional

from nat.distill import command_call
from nat.distill.command_echo import merge_copies, plan_call
from nat.distill.teacher import dictionary_paths, resolve_languages
from nat.errors import UserError
from nat.hashing import json_key

DEFAULT_LANGS = ("src", "tgt")   # output file suffixes without --data-bin or language flags


@dataclass
class BlackBoxTeacher:
    identity: dict                  # command string and executable hash, or the callable's
    source_lang: str
    target_lang: str
    src_dict: Optional[str]         # from --data-bin, when given (binarizing needs them)
    tgt_dict: Optional[str]
    max_source_positions: Optional[int] = None   # a black box states no limit

    @property
    def label(self):
        return f"{'command' if 'command' in self.identity else 'callable'}:" \
               f"{json_key(self.identity)}"

    def store_identity(self):
        return self.identity

    def members(self):
        return [dict(self.identity)]

    def ensemble(self):
        return None


def callable_identity(function):
    """Qualified name of a Python teacher and the sha256 of its source text (when Python can
    find it): what the store key holds, so an edited function does not resume a stale store."""
    target = function if inspect.isfunction(function) or inspect.ismethod(function) \
        else type(function)
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        source = None
    return {"callable": name,
            "source_sha256": (hashlib.sha256(source.encode("utf-8")).hexdigest()
                              if source is not None else None)}


def describe(cfg, teacher_fn=None):
    """The black box's identity, languages and (from ``--data-bin``) dictionaries."""
    if (cfg.teacher_cmd is None) == (teacher_fn is None):
        raise UserError("--backend command needs --teacher-cmd (or, through the API, a Python "
                        "teacher function), exactly one of them")
    if teacher_fn is not None:
        if not callable(teacher_fn):
            raise UserError(f"teacher_fn: {type(teacher_fn).__name__} is not callable")
        identity = callable_identity(teacher_fn)
    else:
        if not cfg.teacher_cmd.strip():
            raise UserError("--teacher-cmd is empty")
        identity = command_call.identity(cfg.teacher_cmd)
    if cfg.data_bin is None:
        src = cfg.source_lang or DEFAULT_LANGS[0]
        tgt = cfg.target_lang or DEFAULT_LANGS[1]
        dicts = (None, None)
    else:
        src, tgt = resolve_languages(cfg.data_bin, cfg.source_lang, cfg.target_lang)
        dicts = dictionary_paths(cfg.data_bin, src, tgt)
    return BlackBoxTeacher(identity=identity, source_lang=src, target_lang=tgt,
                           src_dict=dicts[0], tgt_dict=dicts[1])


class BlackBoxBackend:
    """Answers ``(id, text)`` items in calls of ``--teacher-batch`` lines with echo probes."""
    name = "command"

    def __init__(self, cfg, teacher, teacher_fn=None):
        self.cfg, self.teacher_fn = cfg, teacher_fn
        self.flag = "teacher_fn" if teacher_fn is not None else "--teacher-cmd"
        self.calls = self.probes_sent = 0

    def max_len(self, src_len):
        return None        # a black box states no length limit

    def decode(self, items, seed, on_batch=None):
        """``[[(answer, None)], ...]`` for ``(id, text)`` items, in input order."""
        results, batch = [], self.cfg.teacher_batch
        for call, start in enumerate(range(0, len(items), batch)):
            part = items[start:start + batch]
            results += [[(answer, None)] for answer in self._call(part, f"{seed}:{call}")]
            if on_batch:
                on_batch(len(part))
        return results

    def _call(self, part, seed):
        ids = [i for i, _ in part]
        first, last = ids[0] + 1, ids[-1] + 1
        where = (f"{self.flag}: {'line' if first == last else 'lines'} "
                 f"{first if first == last else f'{first}-{last}'} of {self.cfg.source}")
        order = plan_call(len(part), self.cfg.echo_probes, seed)
        sent = [part[i][1] for i in order]
        try:
            answers = self._ask(sent)
        except command_call.CallFailed as err:
            raise UserError(f"{where}: {err}") from None
        self.calls += 1
        self.probes_sent += len(sent) - len(part)
        if len(answers) != len(sent):
            probes = len(sent) - len(part)
            raise UserError(f"{where}: sent {len(sent)} lines ({len(part)} + {probes} echo "
                            f"probes), got {len(answers)} answer lines back")
        for position, answer in enumerate(answers):
            if not isinstance(answer, str) or "\n" in answer or "\r" in answer:
                what = "is not a string" if not isinstance(answer, str) else \
                    "holds a line break"
                raise UserError(f"{where}: answer to line {ids[order[position]] + 1} {what}")
        merged, differs = merge_copies(order, answers)
        if differs is not None:
            raise UserError(f"{where}: echo check failed: line {ids[differs] + 1} was sent "
                            f"twice and got two different answers, so the teacher reorders "
                            f"its lines or is not deterministic (--echo-probes 0 turns the "
                            f"check off)")
        return merged

    def _ask(self, lines):
        if self.teacher_fn is None:
            return command_call.call(self.cfg.teacher_cmd, lines, self.cfg.teacher_timeout)
        answers = self.teacher_fn(list(lines))
        if isinstance(answers, str) or not hasattr(answers, "__len__"):
            raise command_call.CallFailed(f"returned {type(answers).__name__}, expected a list "
                                          f"of strings")
        return list(answers)

    def info(self):
        info = {"backend": self.name, "calls": self.calls, "echo_probes_sent": self.probes_sent,
                "teacher_batch": self.cfg.teacher_batch}
        if self.teacher_fn is None:
            info["timeout_s"] = self.cfg.teacher_timeout
        return info
