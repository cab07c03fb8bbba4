"""Run by test_multiprocess.py under `accelerate launch` (1 or 2 CPU processes, gloo): two GHPO steps on the
scripted world, with groups that span processes and a step where only one process holds a hard group. With a 4th
argument 'selection': three steps with dynamic sampling and pre-rollout skipping on two copies of the scripted rows
(every trigger depends on the prompt alone, so one and two processes must drop, skip and refill the same groups).
With 'guide': the two steps with hint_training 'original' and Guide's correction, counting forward passes per process."""

import json
import logging
import os
import sys

from datasets import Dataset

from ghpo.trainer import GHPOConfig, GHPOTrainer
from scripted import accuracy_reward, length_reward, make_dataset

logging.basicConfig(level=logging.WARNING, format="%(message)s")
logging.getLogger("ghpo.distributed").setLevel(logging.INFO)  # the bytes each round sends (test_multiprocess)
model_dir, out_dir, per_device = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {r["id"]: r for r in make_dataset().to_list()}
# step 0: only the first group is hard (with G=4 on 2 processes it sits on rank 0 alone);
# step 1: two hard groups, one of them ('never') split across the two processes.
order = ["needs-half", "solvable", "solvable", "bad-gold", "never", "needs-quarter"]
dataset = Dataset.from_list([rows[i] for i in order])
selection = len(sys.argv) > 4 and sys.argv[4] == "selection"
guide = len(sys.argv) > 4 and sys.argv[4] == "guide"
extra = {}
if guide:  # step 0's off-prompt rows sit on rank 0 alone: the correction's forward passes must still run on both
    extra = dict(hint_training="original", hint_off_policy_correction="guide")
if selection:
    dataset = make_dataset(repeat=2)
    extra = dict(hint_keep_unhinted=1, use_dynamic_sampling=True, max_num_generation_batches=3,
                 use_pre_rollout_skipping=True, greso_p_start=0.05, greso_p_min=0.05)
args = GHPOConfig(
    output_dir=out_dir,
    per_device_train_batch_size=per_device,
    num_generations=4,
    max_completion_length=4,
    max_steps=4 if selection else 2,
    learning_rate=1e-3,
    logging_steps=1,
    report_to="none",
    save_strategy="no",
    seed=0,
    use_cpu=True,
    shuffle_dataset=False,
    hint_unit="step",
    log_rollouts=True,
    **extra,
)
trainer = GHPOTrainer(model=model_dir, reward_funcs=[accuracy_reward, length_reward], args=args, train_dataset=dataset)
forward_passes = []
if guide:  # count every log-prob forward pass on this process (under ZeRO-3 / FSDP each one is collective)
    logps = trainer._get_per_token_logps_and_entropies

    def counted(*a, **k):
        forward_passes.append(trainer.state.global_step)
        return logps(*a, **k)

    trainer._get_per_token_logps_and_entropies = counted
trainer.train()
if guide:
    with open(os.path.join(out_dir, f"forward_passes_rank{trainer.accelerator.process_index}.json"), "w") as f:
        json.dump(forward_passes, f)
if selection and trainer.accelerator.is_main_process:
    with open(os.path.join(out_dir, "log_history.json"), "w") as f:
        json.dump(trainer.state.log_history, f)
