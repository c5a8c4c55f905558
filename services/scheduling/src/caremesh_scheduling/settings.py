from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from caremesh_kit.links import DEV_OFFER_LINK_SECRET
from caremesh_kit.settings import ServiceSettings


class SchedulingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCHEDULING_", extra="ignore")

    # RabbitMQ connection, as the service's own user: it may publish only scheduling.* events and reach only
    # its own queues (scripts/infra provisions it locally, with this development password).
    amqp_url: str = "amqp://caremesh-scheduling:caremesh-scheduling-dev@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27101/"
    mongodb_db: str = "caremesh_scheduling"
    http_port: int = 8001
    # A booking attempt left between its claims and its save by a crash is settled or freed after this.
    orphan_claim_seconds: float = Field(default=60, gt=0)
    # How long a booking waits for another request still claiming the same time before a 409.
    claim_wait_seconds: float = Field(default=5, gt=0)
    # The availability search's copy of the calendar is reloaded this often (see usecases/calendar_view.py).
    calendar_refresh_seconds: float = Field(default=5, gt=0)
    # Holds: a request keeps its time this long while insurance checks eligibility, and one waiting on
    # a prior authorization this long while the payer decides (never past the start); then it expires.
    hold_seconds: float = Field(default=15 * 60, gt=0)
    authorization_hold_seconds: float = Field(default=8 * 24 * 3600, gt=0)
    # A booked visit nobody checked in for becomes a no-show this many minutes after its end.
    no_show_after_minutes: float = Field(default=30, ge=0)
    # How often each replica sweeps for expired holds and missed visits.
    lifecycle_sweep_seconds: float = Field(default=15, gt=0)
    # Referrals, waitlist offers: how often each replica sweeps for overdue referrals and lapsed offers.
    referral_waitlist_sweep_seconds: float = Field(default=15, gt=0)
    # An unscheduled referral is reported overdue (once) this long after it was received.
    referral_overdue_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    # How long a waitlist offer holds the freed slot before it passes to the next match.
    offer_hold_seconds: float = Field(default=2 * 3600, gt=0)
    # HMAC key of the offer links' tokens: the same value as notifications' OFFER_LINK_SECRET.
    offer_link_secret: str = Field(default=DEV_OFFER_LINK_SECRET, min_length=32)

    @model_validator(mode="after")
    def _claims_outlive_a_wait(self) -> Self:
        # A request gives up (503) once half the orphan age has gone, so that the sweeper never
        # frees the claims of one that will still commit: a wait for another request's claims
        # must fit well inside that half.
        if self.orphan_claim_seconds < 4 * self.claim_wait_seconds:
            raise ValueError("orphan_claim_seconds must be at least 4 x claim_wait_seconds")
        return self
