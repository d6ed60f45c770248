"""The non-eager path: a task sent through Redis runs in a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery

REDIS_URL = os.environ.get("GRIDGOV_TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="GRIDGOV_TEST_REDIS_URL is not set: no Redis to test"),
]


def test_task_runs_in_a_separate_worker_through_redis():
    queue = f"gridgov-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "GRIDGOV_REDIS_URL": REDIS_URL, "GRIDGOV_TASKS_EAGER": "false"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gridgov",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # A client app of its own: the process-wide app is eager in tests and has
    # already cached its (disabled) result backend.
    client = Celery("gridgov-test-client", broker=REDIS_URL, backend=REDIS_URL)
    try:
        result = client.send_task("gridgov.core.ping", args=["你好"], queue=queue)
        answer = result.get(timeout=60)
    finally:
        client.close()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert answer["value"] == "你好"
    assert answer["pid"] != os.getpid()
    assert answer["pid"] == worker.pid
