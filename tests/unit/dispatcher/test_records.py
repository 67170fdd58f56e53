"""Dispatch record keys must be valid JetStream KeyValue keys for any job id."""

from __future__ import annotations

import re

import pytest

from reelhouse.dispatcher.records import record_key

KV_KEY = re.compile(r"^[-/_=\.a-zA-Z0-9]+$")


def test_plain_job_id_is_its_own_key() -> None:
    assert record_key("job-01HZX3K9") == "job-01HZX3K9"


@pytest.mark.parametrize("job_id", ["owner:job 1", "a.b.c", "ünïcode", "x" * 500, "*", ">"])
def test_other_job_ids_get_a_stable_safe_key(job_id: str) -> None:
    key = record_key(job_id)

    assert KV_KEY.match(key)
    assert key == record_key(job_id)
    assert "." not in key  # no accidental subject hierarchy
