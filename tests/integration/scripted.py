"""A deterministic scripted world for trainer tests: the trigger reward says 'right' only when the prompt
carries enough of the hint. Hints are 4 marked steps, so a step-unit cut of ratio w holds round(4w) markers."""

from datasets import Dataset

HINT = "S1 alpha\nS2 beta\nS3 gamma\nS4 delta\nThe final answer is \\boxed{5}."
ROWS = [
    # id, hint, rule: which prompt text makes completions right
    ("needs-half", HINT, "S2"),  # rescued at 0.5 (the 0.25 cut holds S1 only)
    ("needs-quarter", HINT, "S1"),  # rescued at 0.25
    ("solvable", HINT, "Q:"),  # right without any hint: plain GRPO
    ("never", HINT, "S9"),  # never rescued
    ("no-hint", "", "S9"),  # all wrong but nothing to hint with
    ("bad-gold", HINT, None),  # unscorable: the trigger returns None
]


def make_dataset(chat: bool = False, repeat: int = 1) -> Dataset:
    rows = []
    for _ in range(repeat):
        for pid, hint, rule in ROWS:
            q = f"Q: problem {pid}?"
            rows.append(
                {
                    "id": pid,
                    "prompt": [{"role": "user", "content": q}] if chat else q,
                    "solution": "5" if rule else "???",
                    "solution_hint": hint,
                    "rule": rule or "",
                }
            )
    return Dataset.from_list(rows)


def _text(prompt):
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


def accuracy_reward(prompts, completions, rule, **kwargs):
    """Scripted trigger: 1.0 when the prompt contains the row's marker, None for the row with a bad gold."""
    return [None if not r else float(r in _text(p)) for p, r in zip(prompts, rule)]


def length_reward(completions, **kwargs):
    """A second, shaped reward: must never trigger hints."""
    return [-0.01 * len(c if isinstance(c, str) else c[0]["content"]) for c in completions]


def completion_text(c):
    return c if isinstance(c, str) else c[0]["content"]


def partly_right(prompts, completions, rule, **kwargs):
    """Scripted trigger that reads the completion: right when the prompt holds the row's marker and the completion
    has an even length, so a hinted group is usually partly right (its advantages are not all zero)."""
    return [None if not r else float(r in _text(p) and len(completion_text(c)) % 2 == 0)
            for p, c, r in zip(prompts, completions, rule)]


partly_right.__name__ = "accuracy_reward"


# Rollout selection (dynamic sampling, pre-rollout skipping): problems whose groups are all right, all wrong, or
# usually mixed, so some groups are zero-variance every step.
SELECTION_RULES = ("always", "never", "parity", "always", "never", "parity", "parity", "hinted")


def make_selection_dataset(repeat: int = 3, rules=SELECTION_RULES) -> Dataset:
    rows = []
    for n in range(repeat):
        for k, rule in enumerate(rules):
            pid = f"{rule}-{n}-{k}"
            rows.append({"id": pid, "prompt": f"Q: problem {pid}?", "solution": "5", "solution_hint": HINT, "rule": rule})
    return Dataset.from_list(rows)


def selection_reward(prompts, completions, rule, id, **kwargs):
    """Trigger of the selection world: 'always' right, 'never' wrong, 'parity' right on an even-length completion
    (groups usually mixed), 'hinted' right once the prompt holds the hint's S1, 'alternate' right on every other row
of a call (groups of even G always mixed). Every row's columns must be its own
    prompt's: a refilled row that kept an old row's columns fails here."""
    out = []
    for n, (p, c, r, pid) in enumerate(zip(prompts, completions, rule, id)):
        if f"problem {pid}?" not in _text(p):
            raise AssertionError(f"reward columns of {pid!r} reached the prompt {_text(p)!r}")
        right = {"always": True, "never": False, "parity": len(completion_text(c)) % 2 == 0,
                 "hinted": "S1" in _text(p), "alternate": n % 2 == 0}[r]
        out.append(float(right))
    return out


selection_reward.__name__ = "accuracy_reward"
