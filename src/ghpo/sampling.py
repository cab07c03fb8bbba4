"""Which prompts a step samples and which groups it keeps: the prompt reserve, DAPO dynamic sampling and GRESO
pre-rollout skipping (issue 29). Pure Python, no torch: the trainer executes what these decide.

A group whose reward metric is the same for all G samples has zero advantage and teaches nothing. Two standard
remedies, usable with any hint schedule (``none`` included):

- **Dynamic sampling** (DAPO, arXiv 2503.14476, Sec. 3.2; verl's ``algorithm.filter_groups``): after sampling (and
  after hints, where a schedule hints), the zero-variance groups are dropped and their slots refilled with groups of
  fresh prompts from the ``PromptReserve``, until the batch is full or ``max_num_generation_batches`` is reached.
- **Pre-rollout skipping** (GRESO, arXiv 2506.02177, Sec. 4): before sampling, a prompt whose recent visits were all
  zero-variance is skipped with probability ``1 - max(p ** k, floor)`` (``k`` such visits in a row) and its slot
  taken by a reserve prompt. ``p`` adapts per step toward a target zero-variance share (``PreRolloutSkipper``).

The reserve draws row indices of the training set through its own seeded order, the same on every process, and its
position is saved in checkpoints, so a resumed run draws what the uninterrupted run would have drawn.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from .guidance import group_has_unscored

DYNAMIC_SAMPLING_METRICS = ("trigger", "reward")
# A group's kind, as dynamic sampling and GRESO read it: every sample right, every sample wrong, or a spread.
SOLVED, UNSOLVED, MIXED = "solved", "unsolved", "mixed"


class PromptReserve:
    """Row indices of a training set of ``size`` rows, drawn in a seeded order that is reshuffled every pass.

    Beyond TRL's sampler: a step that drops or skips a group takes its replacement from here, so the data order of
    TRL's own batches is untouched. Every process builds the same order from the same seed and draws the same
    indices; ``state``/``from_state`` carry the position through a checkpoint.

    >>> r = PromptReserve(3, seed=0); first = r.draw(3); sorted(first), len(r.draw(2)), r.state()["epoch"]
    ([0, 1, 2], 2, 1)
    """

    def __init__(self, size: int, seed: int = 0, epoch: int = 0, position: int = 0):
        if size < 1:
            raise ValueError(f"A prompt reserve needs a non-empty training set, got {size} rows.")
        self.size, self.seed, self.epoch, self.position = size, seed, epoch, position
        self._order: list[int] | None = None

    def _pass_order(self) -> list[int]:
        if self._order is None:
            self._order = list(range(self.size))
            random.Random(f"ghpo-reserve:{self.seed}:{self.epoch}").shuffle(self._order)
        return self._order

    def draw(self, n: int) -> list[int]:
        """The next ``n`` row indices (a pass ends: the next one is reshuffled)."""
        out = []
        while len(out) < n:
            order = self._pass_order()
            take = order[self.position:self.position + n - len(out)]
            out += take
            self.position += len(take)
            if self.position >= self.size:
                self.epoch, self.position, self._order = self.epoch + 1, 0, None
        return out

    def state(self) -> dict:
        return {"size": self.size, "seed": self.seed, "epoch": self.epoch, "position": self.position}

    @classmethod
    def from_state(cls, state: dict, size: int) -> PromptReserve:
        if state["size"] != size:
            raise ValueError(f"The checkpoint's prompt reserve was drawn from {state['size']} rows, this training set "
                             f"has {size}: resume with the dataset the run was started with.")
        return cls(size, state["seed"], state["epoch"], state["position"])


def group_kind(values: Sequence[float | None], threshold: float = 0.0, metric: str = "trigger") -> str | None:
    """``SOLVED`` / ``UNSOLVED`` (every trigger value above / at most ``threshold``), ``MIXED``, or None when a value is
    unscored (a group we cannot judge is never dropped or skipped, as guidance never calls it hard). With ``metric``
    'reward' the values are total rewards: equal values are zero-variance, ``UNSOLVED`` unless all are above
    ``threshold``.

    >>> group_kind([1.0, 1.0]), group_kind([0.0, 0.0]), group_kind([0.0, 1.0]), group_kind([0.5, 0.5], metric="reward")
    ('solved', 'unsolved', 'mixed', 'solved')
    """
    if metric not in DYNAMIC_SAMPLING_METRICS:
        raise ValueError(f"Unknown dynamic sampling metric {metric!r}; valid: {', '.join(DYNAMIC_SAMPLING_METRICS)}.")
    if not values or group_has_unscored(values):
        return None
    if metric == "reward":
        if max(values) - min(values) > 1e-9:
            return MIXED
        return SOLVED if values[0] > threshold else UNSOLVED
    right = [v > threshold for v in values]
    return SOLVED if all(right) else UNSOLVED if not any(right) else MIXED


def visit_kind(unhinted: str | None, trained: str | None) -> str | None:
    """What a visit of a problem was, for dynamic sampling and GRESO: a trained group that varies is ``MIXED`` (the
    visit taught something, whatever its unhinted samples were); one without variance keeps the kind of its unhinted
    samples. So a hint that rescues a problem into a mixed group ends its hard streak, while a problem all wrong
    unhinted whose trained group has no variance (no hint helped, or a hint made every sample right) is ``UNSOLVED``,
    never mistaken for an easy one.

    >>> visit_kind("unsolved", "mixed"), visit_kind("unsolved", "solved"), visit_kind("solved", "solved")
    ('mixed', 'unsolved', 'solved')
    """
    if trained in (None, MIXED) or unhinted not in (SOLVED, UNSOLVED):
        return trained
    return unhinted


def groups_to_drop(kinds: Sequence[str | None], keep_solved: bool = False) -> list[bool]:
    """Dynamic sampling's rule: drop the zero-variance groups (``SOLVED`` ones only when not ``keep_solved``).

    >>> groups_to_drop(["solved", "unsolved", "mixed", None]), groups_to_drop(["solved", "unsolved"], keep_solved=True)
    ([True, True, False, False], [False, True])
    """
    return [k == UNSOLVED or (k == SOLVED and not keep_solved) for k in kinds]


@dataclass(frozen=True)
class GresoSettings:
    """GRESO's constants (arXiv 2506.02177, Algorithm 1; its defaults): skip probabilities start at ``p_start`` and move
    by ``p_step`` a step within [``p_min``, ``p_max``] toward a zero-variance share of ``target`` among sampled
    prompts, ``easy_share`` of it all-right (a third) and the rest all-wrong; ``floor``: the least chance a prompt
    is still sampled however long its streak (about 20% of once-dead prompts become useful later)."""

    p_start: float = 0.5
    p_step: float = 0.01
    p_min: float = 0.05
    p_max: float = 0.95
    floor: float = 0.01
    target: float = 0.25
    easy_share: float = 1 / 3


@dataclass
class PreRolloutSkipper:
    """GRESO's pre-rollout filter: per problem key, the streak of consecutive visits whose trained group was
    zero-variance (``SOLVED`` or ``UNSOLVED``), and a seeded draw that skips a prompt with probability
    ``1 - max(p ** k, floor)``, ``p`` being ``p_easy`` or ``p_hard`` by the streak's kind.

    With hints, a visit is observed after guidance: a problem that a hint rescued gave the step signal (its trained
    group was mixed), so its streak ends, however often its unhinted samples were all wrong. Only a problem that
    stayed all wrong through every hint stage builds a hard streak: an all-wrong history and a hint that keeps
    rescuing it are not the same thing.

    >>> s = PreRolloutSkipper(seed=0); s.observe("p", "unsolved"); s.observe("p", "unsolved")
    >>> round(s.skip_probability("p"), 2), s.skip_probability("new")
    (0.75, 0.0)
    """

    settings: GresoSettings = field(default_factory=GresoSettings)
    seed: int = 0
    p_easy: float | None = None
    p_hard: float | None = None
    streaks: dict[str, list] = field(default_factory=dict)  # key -> [kind, k]
    rng_state: list | None = None

    def __post_init__(self):
        self.p_easy = self.settings.p_start if self.p_easy is None else self.p_easy
        self.p_hard = self.settings.p_start if self.p_hard is None else self.p_hard
        self._rng = random.Random(f"ghpo-greso:{self.seed}")
        if self.rng_state is not None:
            self._rng.setstate(_as_rng_state(self.rng_state))

    def skip_probability(self, key: str) -> float:
        kind, k = self.streaks.get(key, (None, 0))
        if kind is None:
            return 0.0
        p = self.p_easy if kind == SOLVED else self.p_hard
        return 1.0 - max(p ** k, self.settings.floor)

    def should_skip(self, key: str) -> bool:
        """One seeded draw (every process draws the same, in the same order)."""
        return self._rng.random() < self.skip_probability(key)

    def observe(self, key: str, kind: str | None) -> None:
        """The trained group of a visit of ``key`` was ``kind``: a zero-variance visit extends (or starts) the streak
        of its kind, anything else ends it."""
        if kind not in (SOLVED, UNSOLVED):
            self.streaks.pop(key, None)
            return
        last, k = self.streaks.get(key, (None, 0))
        self.streaks[key] = [kind, k + 1 if last == kind else 1]

    def adapt(self, kinds: Sequence[str | None]) -> None:
        """After a step that sampled groups of ``kinds``: move each probability one step toward its target share
        (more zero-variance groups of a kind than its share: lower its p, so its streaks are skipped more)."""
        if not kinds:
            return
        s, n = self.settings, len(kinds)
        for name, kind, share in (("p_easy", SOLVED, s.easy_share), ("p_hard", UNSOLVED, 1 - s.easy_share)):
            seen = sum(k == kind for k in kinds) / n
            p = getattr(self, name) + (-s.p_step if seen > s.target * share else s.p_step)
            setattr(self, name, min(s.p_max, max(s.p_min, p)))

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "p_easy": self.p_easy, "p_hard": self.p_hard, "streaks": self.streaks,
                           "rng_state": self._rng.getstate()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, settings: GresoSettings) -> PreRolloutSkipper:
        d = json.loads(text)
        return cls(settings, d["seed"], d["p_easy"], d["p_hard"], {k: list(v) for k, v in d["streaks"].items()},
                   d["rng_state"])


def _as_rng_state(state) -> tuple:
    """``random.Random.getstate()`` after a JSON round trip (lists back to tuples)."""
    version, internal, gauss = state
    return version, tuple(internal), gauss


def fill_skipped(keys: Sequence[str], skip, draw, max_draws: int) -> tuple[dict[int, tuple[int, str]], int, int]:
    """GRESO's selection over one batch of groups with problem ``keys``: a group that ``skip(key)`` says to skip gets
    the first reserve prompt (``draw()`` -> (row index, key)) that is not skipped. At most ``max_draws`` reserve
    prompts are drawn for the batch; past it a group keeps its last candidate although the rule would skip it (its
    own prompt when none was drawn: never an empty slot). Returns ({group: (row index, key)} for replaced groups,
    prompts skipped: every prompt considered and not kept, prompts drawn).

    >>> rows = iter([(7, "x"), (8, "y")]); fill_skipped(["a", "b"], lambda k: k in "ax", lambda: next(rows), 4)
    ({0: (8, 'y')}, 2, 2)
    """
    replaced, skipped, drawn = {}, 0, 0
    for g, key in enumerate(keys):
        if not skip(key):
            continue
        while drawn < max_draws:
            row, cand = draw()
            drawn += 1
            skipped += 1  # the prompt this candidate replaces (the group's own, or the last candidate)
            replaced[g] = (row, cand)
            if not skip(cand):
                break
    return replaced, skipped, drawn
