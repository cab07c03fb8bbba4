"""share_round without a process group: two simulated processes (threads) that gather and exchange through a barrier."""

import threading

from ghpo.distributed import row_owners, share_round
from ghpo.guidance import assign_groups_to_processes


class World:
    """In-memory all-gather and point-to-point exchange for ``size`` threads."""

    def __init__(self, size):
        self.size, self.barrier, self.boxes = size, threading.Barrier(size), {}

    def gather(self, rank):
        def gather(local):
            self.boxes[("g", rank)] = local
            self.barrier.wait()
            out = [x for p in range(self.size) for x in self.boxes[("g", p)]]
            self.barrier.wait()
            return out
        return gather

    def exchange(self, outgoing, rank, size):
        self.boxes[("x", rank)] = outgoing
        self.barrier.wait()
        out = [x for p in range(size) for x in self.boxes[("x", p)][rank]]
        self.barrier.wait()
        return out


def _samples(job):
    return [f"sample {job} {j}" for j in range(2)]


def test_each_process_gets_every_trigger_but_only_its_groups_samples():
    G, n_local, P = 2, 3, 2  # 3 groups of 2 rows over 2 processes: group 1 spans both
    jobs = [(0, 0), (1, 0), (2, 0)]
    shards = assign_groups_to_processes(list(range(len(jobs))), P)
    assert shards == [[0, 1], [2, 2]]  # process 1 pads with a repeat of job 2
    world, results = World(P), {}

    def run(rank):
        mine = [(jobs[k], _samples(jobs[k])) for k in shards[rank]]
        results[rank] = share_round(jobs, shards, mine, rank=rank, num_processes=P, G=G, n_local=n_local,
                                    summarize=lambda xs: ([0.0, 1.0], 7), text_of=lambda xs: xs[0].upper(),
                                    gather=world.gather(rank), exchange=world.exchange)

    threads = [threading.Thread(target=run, args=(r,)) for r in range(P)]
    [t.start() for t in threads]
    [t.join(timeout=30) for t in threads]
    for rank in range(P):
        out = results[rank]
        assert [job for job, *_ in out] == [(0, 0), (1, 0), (2, 0), (2, 0)]  # every sampled job, padding included
        assert [t for _, t, *_ in out] == [[0.0, 1.0]] * 3 + [None]  # the duplicate's triggers are not counted twice
        assert sum(tokens for _, _, tokens, _, _ in out) == 4 * 7  # but its tokens are
        owned = {job for job, _, _, xs, _ in out if xs is not None}
        assert owned == {job for job in jobs if rank in row_owners(job[0], G, n_local)}
        assert all(xs == _samples(job) for job, _, _, xs, _ in out if xs is not None)
        texts = [t for *_, t in out if t is not None]
        assert texts == ([s.upper() for s in (_samples(j)[0] for j in jobs)] if rank == 0 else [])


def test_one_process_keeps_everything():
    jobs = [(0, 1), (1, 1)]
    mine = [(job, _samples(job)) for job in jobs]
    out = share_round(jobs, [[0, 1]], mine, rank=0, num_processes=1, G=2, n_local=4,
                      summarize=lambda xs: ([0.0, 0.0], 3))
    assert [(job, xs) for job, _, _, xs, _ in out] == mine and all(t is None for *_, t in out)
