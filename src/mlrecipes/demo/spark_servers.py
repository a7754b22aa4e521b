"""Spark past one JVM, on 127.0.0.1: what the cluster tests and ``make bench`` start, each process
by its own handle, always stopped.

- ``standalone_cluster``: a Spark standalone master and workers, each a JVM of its own started
  with the installed ``pyspark``'s ``bin/spark-class`` (a real cluster: executors in other
  processes, the driver reaching them over the network);
- ``spark_connect_server``: Spark's own Spark Connect server (the ``spark-connect`` jar that
  ships with ``pyspark``), on a local master;
- ``sail_server``: Sail (``pysail``), a Spark Connect server without a JVM.

Every port is picked free on 127.0.0.1; nothing listens elsewhere (the standalone master's REST
submission server, which binds 6066 by default, is switched off).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from mlrecipes.demo.servers import free_port, stop

HOST = "127.0.0.1"


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _environment(logs: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOG_DIR": str(logs),
        # executors' Python is this interpreter (this environment's pandas, sklearn, mlflow)
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
    }


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _wait(ready: object, procs: list[subprocess.Popen], logs: list[Path], what: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready after 120 s:\n{logs[0].read_text()[-3000:]}")


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{ui_port}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return 0


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


@contextmanager
def standalone_cluster(
    folder: Path, workers: int = 2, cores: int = 1, memory: str = "2g"
) -> Iterator[str]:
    """A master and ``workers`` workers (``cores`` each); yields ``spark://127.0.0.1:PORT``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = _environment(folder)
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, ui = free_port(), free_port()
    master_args = [
        spark_class, "org.apache.spark.deploy.master.Master",
        "--host", HOST, "--port", str(port), "--webui-port", str(ui),
    ]  # fmt: skip
    procs = [_start(master_args, folder / "master.log", env)]
    logs = [folder / "master.log"]
    url = f"spark://{HOST}:{port}"
    try:
        for i in range(workers):
            log = folder / f"worker-{i}.log"
            procs.append(
                _start(
                    [spark_class, "org.apache.spark.deploy.worker.Worker",
                     "--host", HOST, "--port", str(free_port()), "--webui-port", str(free_port()),
                     "--cores", str(cores), "--memory", memory,
                     "--work-dir", str(folder / f"worker-{i}"), url],
                    log, env,
                )
            )  # fmt: skip
            logs.append(log)
        _wait(lambda: _alive_workers(ui) == workers, procs, logs, f"Spark standalone at {url}")
        yield url
    finally:
        for proc in reversed(procs):
            stop(proc)


@contextmanager
def spark_connect_server(folder: Path, master: str = "local[2]") -> Iterator[str]:
    """Spark's Spark Connect server on ``master``; yields ``sc://127.0.0.1:PORT``."""
    folder.mkdir(parents=True, exist_ok=True)
    home = spark_home()
    jar = next((home / "jars").glob("spark-connect_*.jar"), None)
    if jar is None:
        raise RuntimeError(
            f"no spark-connect jar in {home / 'jars'}: pyspark[connect] >= 4 ships it"
        )
    port = free_port()
    args = [
        str(home / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master", master,
        "--conf", f"spark.connect.grpc.binding.address={HOST}",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.ui.enabled=false",
        "--conf", f"spark.driver.host={HOST}",
        "--conf", "spark.sql.session.timeZone=UTC",
        str(jar),
    ]  # fmt: skip
    log = folder / "spark-connect.log"
    proc = _start(args, log, _environment(folder))
    try:
        _wait(lambda: _listening(port), [proc], [log], "Spark Connect server")
        yield f"sc://{HOST}:{port}"
    finally:
        stop(proc)


@contextmanager
def sail_server(folder: Path) -> Iterator[str]:
    """Sail's Spark Connect server, in a process of its own; yields ``sc://127.0.0.1:PORT``."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    sail = Path(sys.executable).parent / "sail"  # pysail's command, beside this interpreter
    log = folder / "sail.log"
    args = [str(sail), "spark", "server", "--ip", HOST, "--port", str(port), "-C", str(folder)]
    proc = _start(args, log, _environment(folder))
    try:
        _wait(lambda: _listening(port), [proc], [log], "Sail")
        yield f"sc://{HOST}:{port}"
    finally:
        stop(proc)


@contextmanager
def spark_back_end(kind: str, folder: Path) -> Iterator[dict[str, str]]:
    """The environment that points the Spark engines at a back end: ``local`` (local[2]),
    ``standalone`` (a master and two one-core workers), ``connect`` (Spark's Spark Connect
    server) or ``sail``."""
    with ExitStack() as stack:
        if kind == "local":
            yield {"MLRECIPES_SPARK_MASTER": "local[2]"}
        elif kind == "standalone":
            yield {"MLRECIPES_SPARK_MASTER": stack.enter_context(standalone_cluster(folder))}
        elif kind == "connect":
            yield {"SPARK_REMOTE": stack.enter_context(spark_connect_server(folder))}
        elif kind == "sail":
            yield {"SPARK_REMOTE": stack.enter_context(sail_server(folder))}
        else:
            raise ValueError(f"unknown Spark back end {kind!r}")
