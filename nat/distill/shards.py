"""Fixed chunks and shards over sentence ids.

Chunks are global id ranges of ``chunk_size`` sentences, independent of the number of shards, so a
chunk is decoded with the same batches whether it runs in shard 0 of 1 or shard 3 of 8 (outputs do
not depend on the sharding).  A shard is a contiguous run of chunks.
"""


def chunk_ranges(total, chunk_size):
    """``[(chunk_index, first_id, end_id), ...]`` covering ``range(total)``."""
    return [(index, start, min(start + chunk_size, total))
            for index, start in enumerate(range(0, total, chunk_size))]


def shard_chunks(total, chunk_size, num_shards, shard_id):
    """The chunks of shard ``shard_id`` of ``num_shards`` (possibly none when shards > chunks)."""
    chunks = chunk_ranges(total, chunk_size)
    lo = shard_id * len(chunks) // num_shards
    hi = (shard_id + 1) * len(chunks) // num_shards
    return chunks[lo:hi]
