"""How one hint round's samples move between processes (DESIGN.md step 8): plain Python over picklable objects.

Every process needs every job's trigger values (guidance decides collectively, so all run the same rounds), but a
job's samples (token ids, log-probs: the bulk) only on the processes holding its group's rows, and with
``log_rollouts`` their texts on the main process. ``share_round`` does that with one small all-gather and one
point-to-point exchange; ``exchange`` and ``gather`` are injectable so it is tested without a process group.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger(__name__)

Job = tuple[int, int]  # (group, stage)


def exchange_objects(outgoing: list[list], rank: int, num_processes: int) -> list:
    """Point to point: ``outgoing[p]`` (picklable items) goes to process p only; returns what this process received,
    in process order. One ``torch.distributed.scatter_object_list`` per sending process."""
    if num_processes == 1:
        return list(outgoing[0])
    import torch.distributed as dist

    received = []
    for src in range(num_processes):
        box = [None]
        dist.scatter_object_list(box, outgoing if rank == src else None, src=src)
        received.extend(box[0])
    return received


def row_owners(group: int, G: int, n_local: int) -> set[int]:
    """The processes holding rows of ``group`` (G rows each, ``n_local`` rows per process, in rank order)."""
    return {(group * G + j) // n_local for j in range(G)}


def share_round(jobs: Sequence[Job], shards: Sequence[Sequence[int]], mine: Sequence[tuple[Job, list]], *, rank: int,
                num_processes: int, G: int, n_local: int, summarize: Callable[[list], tuple[list, int]],
                text_of: Callable[[list], Any] | None = None, gather: Callable[[list], list] | None = None,
                exchange: Callable[[list[list], int, int], list] = exchange_objects) -> list[tuple]:
    """Share one round. ``shards[p]``: the indices into ``jobs`` process p sampled (``assign_groups_to_processes``:
    padding repeats a job); ``mine``: this process's (job, samples); ``summarize(samples)``: (trigger values, sampled
    tokens); ``text_of(samples)``: what ``rollouts.jsonl`` keeps (None: not logging). Returns, for every sampled job
    in process order, ``(job, triggers, tokens, samples, text)``: triggers None for a padding duplicate (its tokens
    still count), samples only where this process holds the group's rows, text only on process 0."""
    first_shard: dict[Job, int] = {}  # the process whose samples of a job count: the first that sampled it
    for p, shard in enumerate(shards):
        for k in shard:
            first_shard.setdefault(jobs[k], p)
    local = [(job, *summarize(xs), len(pickle.dumps(xs))) for job, xs in mine]
    summaries = gather(local) if gather is not None else local
    outgoing: list[list] = [[] for _ in range(num_processes)]
    for job, xs in mine:
        if first_shard[job] == rank:
            for p in row_owners(job[0], G, n_local):
                outgoing[p].append((job, xs, None))
            if text_of is not None:
                outgoing[0].append((job, None, text_of(xs)))
    received = exchange(outgoing, rank, num_processes)
    logger.info("GHPO round on process %d: received %d bytes of samples (a gather of all would be %d)",
                rank, len(pickle.dumps([(job, xs) for job, xs, _ in received if xs is not None])),
                sum(n for *_, n in summaries))
    got = {job: xs for job, xs, _ in received if xs is not None}
    text = {job: t for job, _, t in received if t is not None}
    out, seen = [], set()
    for job, triggers, tokens, _ in summaries:
        first = job not in seen
        seen.add(job)
        out.append((job, triggers if first else None, tokens, got.get(job) if first else None,
                    text.get(job) if first else None))
    return out
