"""n-best store, shards and merge: pure file logic, no teacher needed."""
import json
import os

import pytest

from nat.hashing import line_hash
from nat.distill.shards import chunk_ranges, shard_chunks
from nat.distill.store import Store, rows
from nat.errors import UserError


@pytest.mark.parametrize("total,chunk,shards", [(1, 5, 1), (10, 3, 2), (10, 3, 7), (101, 10, 4),
                                                (7, 1, 3)])
def test_shards_cover_every_id_once(total, chunk, shards):
    ids = [i for s in range(shards) for _, a, b in shard_chunks(total, chunk, shards, s)
           for i in range(a, b)]
    assert ids == list(range(total))
    assert all(b - a <= chunk for _, a, b in chunk_ranges(total, chunk))


def fill(store, lines, chunk, shards):
    hashes = [line_hash(line) for line in lines]
    for shard in range(shards):
        chunks = shard_chunks(len(lines), chunk, shards, shard)
        for index, a, b in chunks:
            store.write_chunk(index, a, b, [
                {"id": i, "src": hashes[i], "status": "decoded",
                 "hyps": [[f"h{i}", -1.0], [f"g{i}", -2.0]], "hit_max_len": 0}
                for i in range(a, b)])
        store.write_shard(shards, shard, chunks)
    return hashes


def test_merge_restores_id_order_and_rows(tmp_path):
    lines = [f"s{i}" for i in range(11)]
    store = Store(str(tmp_path))
    hashes = fill(store, lines, chunk=3, shards=2)
    merged = store.merge(hashes, 3, 2)
    assert [r["id"] for r in merged] == list(range(11))
    flat = list(rows(merged, "T"))
    assert flat[:2] == [(0, 0, "h0", -1.0, "T"), (0, 1, "g0", -2.0, "T")]
    assert len(flat) == 22


def test_merge_refuses_missing_shard(tmp_path):
    lines = [f"s{i}" for i in range(6)]
    store = Store(str(tmp_path))
    hashes = fill(store, lines, chunk=2, shards=2)
    os.unlink(store.shard_path(2, 1))
    with pytest.raises(UserError, match="shard 1 of 2 is not finished"):
        store.merge(hashes, 2, 2)


def test_merge_refuses_changed_source(tmp_path):
    lines = [f"s{i}" for i in range(6)]
    store = Store(str(tmp_path))
    hashes = fill(store, lines, chunk=2, shards=1)
    hashes[4] = line_hash("another line")
    with pytest.raises(UserError, match="source hash of id 4"):
        store.merge(hashes, 2, 1)


def test_merge_refuses_edited_or_duplicated_chunk(tmp_path):
    lines = [f"s{i}" for i in range(4)]
    store = Store(str(tmp_path))
    hashes = fill(store, lines, chunk=2, shards=1)
    header, records = store.read_chunk(1)
    records[1]["id"] = 2  # id 2 twice, id 3 lost
    store.write_chunk(1, 2, 4, records)
    with pytest.raises(UserError, match="changed since its shard was finished"):
        store.merge(hashes, 2, 1)
    store.write_shard(1, 0, shard_chunks(4, 2, 1, 0))  # re-sign the edited chunk
    with pytest.raises(UserError, match="once each in order"):
        store.merge(hashes, 2, 1)


def test_bind_refuses_other_settings(tmp_path):
    store = Store(str(tmp_path))
    store.bind({"beam": 5})
    store.bind({"beam": 5})
    with pytest.raises(UserError, match="other decoding settings"):
        store.bind({"beam": 4})
    with open(os.path.join(str(tmp_path), "settings.json"), encoding="utf-8") as handle:
        assert json.load(handle) == {"beam": 5}


def test_token_batches_cover_all_and_respect_limits():
    from nat.distill.backend_fairseq import token_batches

    lengths = [3, 9, 1, 4, 4, 9, 2, 7, 3, 3]
    for same in (False, True):
        batches = token_batches(lengths, max_tokens=12, same_length=same)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        for batch in batches:
            longest = max(lengths[i] for i in batch)
            assert len(batch) == 1 or longest * len(batch) <= 12
            if same:
                assert len({lengths[i] for i in batch}) == 1
    assert token_batches([5, 5], max_tokens=1) == [[0], [1]]  # over-long items still go alone
