"""Redis through Sentinel (IVR_REDIS_SENTINELS): the runtime and RQ find the master the sentinels name,
and follow it when it fails over to its replica. Real redis-server processes: a master, a replica
and a sentinel, on free local ports."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from redis import Redis

from ivr import jobs, redis_client
from ivr.errors import SettingsError
from ivr.settings import Settings
from tests.callback_world import wait_for
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, FLOWS_DIR, real_time_env
from tests.ports import free_port


def _redis(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([shutil.which("redis-server"), *arguments], stdout=subprocess.DEVNULL,
                            env=real_time_env())


def _up(port: int) -> bool:
    try:
        return Redis(port=port, socket_timeout=1).ping()
    except Exception:
        return False


@pytest.fixture
def sentinel_set(tmp_path):
    """A master, its replica and one sentinel watching them (quorum 1)."""
    master, replica, sentinel = free_port(), free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor ivr-test 127.0.0.1 {master} 1\n"
                    "sentinel down-after-milliseconds ivr-test 1000\nsentinel failover-timeout ivr-test 5000\n")
    started = [_redis("--port", str(master), "--dir", str(tmp_path), *common),
               _redis("--port", str(replica), "--dir", str(tmp_path), "--replicaof", "127.0.0.1", str(master),
                      *common)]
    try:
        assert wait_for(lambda: _up(master) and _up(replica), timeout=10, every=0.05)
        assert wait_for(lambda: Redis(port=replica).info("replication")["master_link_status"] == "up", timeout=10)
        started.append(_redis(str(conf), "--sentinel"))
        assert wait_for(lambda: _up(sentinel), timeout=10, every=0.05)
        # the sentinel has found the replica through the master, and reached it
        assert wait_for(lambda: _replica_ready(sentinel), timeout=20, every=0.1)
        yield master, replica, sentinel
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


def _replica_ready(sentinel: int) -> bool:
    replicas = Redis(port=sentinel, decode_responses=True).sentinel_slaves("ivr-test")
    return any(not (r["is_sdown"] or r["is_disconnected"]) for r in replicas)


def _settings(**changes) -> Settings:
    return Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, public_url="https://ivr.example.test",
                    database_url="sqlite://", flows_dir=FLOWS_DIR, recordings_dir=FLOWS_DIR, **changes)


def test_the_runtime_and_rq_find_the_master_through_sentinel_and_follow_a_failover(sentinel_set):
    master, replica, sentinel = sentinel_set
    # the URL's host and port are not used with sentinels (nothing listens on port 1); its database is
    settings = _settings(redis_url="redis://127.0.0.1:1/2", redis_sentinels=f"127.0.0.1:{sentinel}",
                         redis_sentinel_master="ivr-test")
    live = redis_client.connect(settings, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
    rq = jobs.connect(settings)
    live.set("ivr:call:CA1", "greeting")
    rq.set("rq:probe", b"\x80\x04")
    assert Redis(port=master, db=2, decode_responses=True).get("ivr:call:CA1") == "greeting"  # db 2 from the URL
    assert rq.get("rq:probe") == b"\x80\x04"  # RQ's connection does not decode

    Redis(port=sentinel).execute_command("SENTINEL", "FAILOVER", "ivr-test")
    assert wait_for(lambda: Redis(port=sentinel).execute_command(
        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "ivr-test")[1] == str(replica).encode(), timeout=20)
    assert wait_for(lambda: Redis(port=replica).info("replication")["role"] == "master", timeout=20)
    # (until the sentinel has turned the old master into a replica it still takes writes, which its
    # demotion then drops: Redis replicates asynchronously; docs/operations.md says what that means)
    assert wait_for(lambda: Redis(port=master).info("replication")["role"] == "slave", timeout=20)

    # the same clients carry on against the new master, without being rebuilt
    assert wait_for(lambda: _writes(live), timeout=20)
    assert Redis(port=replica, db=2, decode_responses=True).get("ivr:call:CA2") == "consent"
    assert Redis(port=replica, db=2, decode_responses=True).get("ivr:call:CA1") == "greeting"  # replicated


def _writes(client: Redis) -> bool:
    try:
        return bool(client.set("ivr:call:CA2", "consent"))
    except Exception:  # the old master, now a replica, refused; the pool asks the sentinels again
        return False


@pytest.mark.parametrize(("value", "message"), [
    ("10.0.0.1", "IVR_REDIS_SENTINELS must be host:port pairs"),
    ("10.0.0.1:26379,:26379", "IVR_REDIS_SENTINELS must be host:port pairs"),
    ("10.0.0.1:99999", "IVR_REDIS_SENTINELS must be host:port pairs"),
])
def test_bad_sentinel_addresses_are_refused_naming_the_setting(value, message):
    env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "IVR_REDIS_SENTINELS": value}
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_sentinel_settings_pass_to_other_processes():
    env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "IVR_REDIS_SENTINELS": "10.0.0.1:26379, [fd00::2]:26379", "IVR_REDIS_SENTINEL_MASTER": "ivr-prod"}
    settings = Settings.from_env(env)
    assert redis_client.sentinel_addresses(settings.redis_sentinels) == [("10.0.0.1", 26379), ("fd00::2", 26379)]
    assert Settings.from_env({**env, **settings.to_env()}) == settings
    with pytest.raises(SettingsError, match="IVR_REDIS_SENTINEL_MASTER must be a name"):
        Settings.from_env({**env, "IVR_REDIS_SENTINEL_MASTER": "ivr prod"})
