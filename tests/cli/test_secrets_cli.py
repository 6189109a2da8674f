"""`writeback secrets generate|rotate|status` and refusals at start, as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import free_port
from writeback.store.master_keys import weakness

ROOT = Path(__file__).resolve().parents[2]


def run(home: Path, key: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WRITEBACK_HOME": str(home), "WRITEBACK_ADMIN_KEY": ""}
    env.pop("WRITEBACK_DATABASE_URL", None)
    env.pop("WRITEBACK_SECRET_KEY", None)
    if key is not None:
        env["WRITEBACK_SECRET_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "writeback", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def generate() -> str:
    made = run(Path("/nonexistent"), None, "secrets", "generate")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def assert_refused_without_traceback(result: subprocess.CompletedProcess[str], *keys: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for key in keys:  # no key material, whole or in part
        assert key not in result.stdout + result.stderr
        assert key[:12] not in result.stdout + result.stderr


def test_generate_prints_a_new_strong_key_and_how_to_rotate() -> None:
    one = run(Path("/nonexistent"), None, "secrets", "generate")
    assert one.returncode == 0
    assert "writeback secrets rotate" in one.stderr  # the advice goes to stderr, not into $()
    keys = {one.stdout.strip(), generate()}
    assert len(keys) == 2
    assert all(weakness(key) is None for key in keys)


def test_a_weak_key_is_refused_at_start(tmp_path: Path) -> None:
    result = run(tmp_path, "password1234", "init")
    assert_refused_without_traceback(result, "password1234")
    assert "WRITEBACK_SECRET_KEY is too weak" in result.stderr
    assert "writeback secrets generate" in result.stderr


def test_wrong_key_refused_then_rotation_to_the_new_key(tmp_path: Path) -> None:
    old, new = generate(), generate()
    made = run(tmp_path, old, "init", "--json")
    assert made.returncode == 0, made.stderr
    admin_key = json.loads(made.stdout)["adminKey"]  # stored as a digest in the database

    for command in (["serve", "--port", str(free_port())], ["worker"], ["secrets", "rotate"]):
        refused = run(tmp_path, new, *command)
        assert_refused_without_traceback(refused, old, new)
        assert "WRITEBACK_SECRET_KEY differs from the master key this database was written" in (
            refused.stderr
        )

    both = f"{new},{old}"
    before = json.loads(run(tmp_path, both, "secrets", "status", "--json").stdout)
    new_id, old_id = (k["keyId"] for k in before["keys"])
    assert [k["values"] for k in before["keys"]] == [0, 2]  # the canary and the digest key
    rotated = run(tmp_path, both, "secrets", "rotate", "--json")
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert report["keyId"] == new_id
    assert report["reencrypted"] == {"secret_keyring.value_encrypted": 2}
    assert report["undecryptable"] == [] and report["changedMeanwhile"] == 0
    again = json.loads(run(tmp_path, both, "secrets", "rotate", "--json").stdout)
    assert again["reencrypted"] == {}
    status = run(tmp_path, both, "secrets", "status")
    assert status.returncode == 0, status.stderr
    assert f"Key id {old_id} encrypts nothing: it can be removed." in status.stdout

    # the new key alone starts, and a key made before the rotation still authenticates
    port = free_port()
    env = {**os.environ, "WRITEBACK_HOME": str(tmp_path), "WRITEBACK_SECRET_KEY": new}
    env.pop("WRITEBACK_DATABASE_URL", None)
    env.pop("WRITEBACK_ADMIN_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "writeback", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "serve exited with the rotated key"
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/v1/projects",
                    headers={"X-Api-Key": admin_key},
                    timeout=10,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer within 120s"
                time.sleep(0.2)
        assert answer.status_code == 200, answer.text
        assert '"default"' in answer.text
    finally:
        server.terminate()
        server.wait(timeout=60)
    # and the old key alone is now the wrong one
    assert_refused_without_traceback(run(tmp_path, old, "init"), old, new)
