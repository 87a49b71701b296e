"""Resumable stages: a stage is skipped when its record exists with the same settings key.

A stage's key hashes its own settings and the keys of the stages it reads, so changing an
upstream setting re-runs everything downstream and nothing else.  Each record
(``OUT/stages/<name>.json``) keeps the exact commands, the result and the wall time.
"""
import json
import os
import shlex
import time

from tqdm import tqdm

from nat.textio import write_json_atomic


class StageContext:
    """Handed to a stage function: where to write, and a log of commands run."""

    def __init__(self, name):
        self.name = name
        self.commands = []

    def record(self, command):
        """Remember a command (a list) for the report; returns it unchanged."""
        self.commands.append(" ".join(shlex.quote(str(part)) for part in command))
        return command


class Runner:
    """Runs stages in order, skipping finished ones, with an overall progress bar and ETA."""

    def __init__(self, out_dir, estimates, quiet=False):
        self.out_dir = out_dir
        self.stage_dir = os.path.join(out_dir, "stages")
        os.makedirs(self.stage_dir, exist_ok=True)
        self.estimates = estimates  # stage name -> expected seconds (drives the ETA)
        self.records = {}
        self.bar = tqdm(total=round(sum(estimates.values())), unit="s", disable=quiet,
                        desc="nat-experiment", bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                        "{postfix} [elapsed {elapsed}, ETA {remaining}]")

    def _path(self, name):
        return os.path.join(self.stage_dir, f"{name}.json")

    def run(self, name, key, function):
        """Run ``function(ctx) -> dict`` unless a record with ``key`` exists; returns the record."""
        path = self._path(name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
            if record.get("key") == key:
                self.records[name] = record
                self.bar.update(round(self.estimates.get(name, 0)))
                return record
        self.bar.set_postfix_str(name)
        ctx = StageContext(name)
        start = time.time()
        result = function(ctx)
        record = {"stage": name, "key": key, "seconds": round(time.time() - start, 1),
                  "commands": ctx.commands, "result": result}
        write_json_atomic(path, record, indent=2)
        self.records[name] = record
        self.bar.update(round(self.estimates.get(name, 0)))
        return record

    def close(self):
        self.bar.close()
