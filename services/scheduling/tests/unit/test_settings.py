"""Settings that cannot work together are refused at start."""

import pytest
from pydantic import ValidationError

from caremesh_scheduling.settings import SchedulingSettings


def test_the_orphan_age_must_leave_room_for_a_wait_on_another_request():
    # A request gives up at half the orphan age: a five-second wait could never finish inside half a second.
    with pytest.raises(ValidationError, match="orphan_claim_seconds"):
        SchedulingSettings(orphan_claim_seconds=1, claim_wait_seconds=5)
    assert SchedulingSettings(orphan_claim_seconds=20, claim_wait_seconds=5).orphan_claim_seconds == 20
    assert SchedulingSettings().orphan_claim_seconds == 60
