"""The n-best store: atomic chunk files, shard markers, and a merge that checks everything.

Layout under ``<out>/store/<decode-key>/``::

    settings.json                 decoding settings this store was made with (its key)
    chunks/chunk-000012.jsonl     header line, then one record per source id of the chunk
    shards-of-0004/shard-0001.json  marker: shard finished, its chunks and their sha256, and
                                    the launcher that ran it (torchrun, Slurm array, or null)

A record is ``{"id", "src" (hash of the source line), "status", "hyps": [[text, score], ...],
"hit_max_len"}``; ``rows`` flattens records to ``(id, rank, hypothesis, score, teacher)``.
Every file is written to a temp name and renamed, so a killed run leaves whole files or none.
"""
import json
import os

from nat import textio
from nat.hashing import file_sha256
from nat.distill.shards import shard_chunks
from nat.errors import UserError


class Store:
    def __init__(self, root):
        self.root = root

    # paths ---------------------------------------------------------------------------------
    def chunk_path(self, index):
        return os.path.join(self.root, "chunks", f"chunk-{index:06d}.jsonl")

    def shard_path(self, num_shards, shard_id):
        return os.path.join(self.root, f"shards-of-{num_shards:04d}", f"shard-{shard_id:04d}.json")

    # settings ------------------------------------------------------------------------------
    def bind(self, settings):
        """Create the store for ``settings`` or check that an existing one was made with them."""
        path = os.path.join(self.root, "settings.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                if json.load(handle) != settings:
                    raise UserError(f"{path}: store made with other decoding settings; "
                                    f"remove {self.root} to re-decode")
            return
        _write_json(path, settings)

    # chunks --------------------------------------------------------------------------------
    def has_chunk(self, index):
        return os.path.exists(self.chunk_path(index))

    def write_chunk(self, index, first_id, end_id, records, header_extra=None):
        header = {"chunk": index, "first_id": first_id, "end_id": end_id, **(header_extra or {})}
        lines = [json.dumps(header, sort_keys=True)]
        lines += [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records]
        textio.write_lines_atomic(self.chunk_path(index), lines)

    def read_chunk(self, index):
        path = self.chunk_path(index)
        lines = textio.read_lines(path)
        if not lines:
            raise UserError(f"{path}: empty chunk file")
        return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]

    # shards --------------------------------------------------------------------------------
    def shard_done(self, num_shards, shard_id):
        return os.path.exists(self.shard_path(num_shards, shard_id))

    def write_shard(self, num_shards, shard_id, chunks, launcher=None):
        """The shard's marker; ``launcher``: who ran it (torchrun, Slurm array), or None."""
        marker = {"num_shards": num_shards, "shard_id": shard_id, "launcher": launcher,
                  "chunks": [{"index": i, "first_id": a, "end_id": b,
                              "sha256": file_sha256(self.chunk_path(i))} for i, a, b in chunks]}
        _write_json(self.shard_path(num_shards, shard_id), marker)

    def merge(self, line_hashes, chunk_size, num_shards):
        """Records ``[0..N-1]`` from all shards; raise unless ids, counts and hashes all check."""
        total = len(line_hashes)
        merged = [None] * total
        for shard_id in range(num_shards):
            path = self.shard_path(num_shards, shard_id)
            if not os.path.exists(path):
                raise UserError(f"shard {shard_id} of {num_shards} is not finished ({path} "
                                f"missing); run it with --shard-id {shard_id}")
            with open(path, encoding="utf-8") as handle:
                marker = json.load(handle)
            expected = shard_chunks(total, chunk_size, num_shards, shard_id)
            got = [(c["index"], c["first_id"], c["end_id"]) for c in marker["chunks"]]
            if got != [tuple(c) for c in expected]:
                raise UserError(f"{path}: covers chunks {got}, expected {expected}")
            for entry in marker["chunks"]:
                self._merge_chunk(entry, line_hashes, merged)
        missing = [i for i, r in enumerate(merged) if r is None]
        if missing:
            raise UserError(f"merge: {len(missing)} source ids missing (first {missing[:5]})")
        return merged

    def _merge_chunk(self, entry, line_hashes, merged):
        path = self.chunk_path(entry["index"])
        if file_sha256(path) != entry["sha256"]:
            raise UserError(f"{path}: changed since its shard was finished (sha256 differs)")
        _, records = self.read_chunk(entry["index"])
        ids = [r["id"] for r in records]
        if ids != list(range(entry["first_id"], entry["end_id"])):
            raise UserError(f"{path}: ids {ids[:3]}... are not {entry['first_id']}.."
                            f"{entry['end_id'] - 1} once each in order")
        for record in records:
            idx = record["id"]
            if merged[idx] is not None:
                raise UserError(f"{path}: source id {idx} appears twice")
            if record["src"] != line_hashes[idx]:
                raise UserError(f"{path}: source hash of id {idx} does not match line "
                                f"{idx + 1} of the source file")
            merged[idx] = record


def rows(records, teacher):
    """Flatten records into ``(id, rank, hypothesis, score, teacher)`` tuples."""
    for record in records:
        for rank, (text, score) in enumerate(record["hyps"]):
            yield record["id"], rank, text, score, teacher


def _write_json(path, obj):
    textio.write_json_atomic(path, obj, sort_keys=True)
