"""Event contracts: one versioned pydantic model per event type.

The CloudEvents type is ``org.caremesh.<routing key>.v<version>``; the routing key is
``<service>.<aggregate>.<event>``. Bodies carry only what consumers need.
"""

from caremesh_contracts.authorizations import (
    AuthorizationAppealed,
    AuthorizationApproved,
    AuthorizationCancelled,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationOverdue,
    AuthorizationPended,
    AuthorizationRequired,
    AuthorizationSubmitted,
    AuthorizationThresholdReached,
)
from caremesh_contracts.base import Event, all_event_types, by_type
from caremesh_contracts.insurance import (
    CoverageChanged,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_contracts.notifications import MessageSent, SurveyCompleted
from caremesh_contracts.partners import PartnerSubscriptionDisabled
from caremesh_contracts.records import (
    CarePlanChanged,
    CareTaskOverdue,
    ConsentChanged,
    PatientMerged,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_contracts.referrals import (
    ReferralAccepted,
    ReferralClosed,
    ReferralOverdue,
    ReferralReceived,
    ReferralRejected,
    ReferralScheduled,
)
from caremesh_contracts.scheduling import (
    AppointmentArrived,
    AppointmentAwaitingAuthorization,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentHoldExpired,
    AppointmentNoShowRecorded,
    AppointmentRequested,
    AppointmentRescheduled,
)
from caremesh_contracts.waitlist import (
    WaitlistEntryAccepted,
    WaitlistEntryAdded,
    WaitlistEntryOffered,
    WaitlistEntryRemoved,
    WaitlistOfferLapsed,
)

__all__ = [
    "AppointmentArrived",
    "AppointmentAwaitingAuthorization",
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentDeclined",
    "AppointmentFulfilled",
    "AppointmentHoldExpired",
    "AppointmentNoShowRecorded",
    "AppointmentRequested",
    "AppointmentRescheduled",
    "AuthorizationAppealed",
    "AuthorizationApproved",
    "AuthorizationCancelled",
    "AuthorizationDenied",
    "AuthorizationExpired",
    "AuthorizationOverdue",
    "AuthorizationPended",
    "AuthorizationRequired",
    "AuthorizationSubmitted",
    "AuthorizationThresholdReached",
    "CarePlanChanged",
    "CareTaskOverdue",
    "ConsentChanged",
    "CoverageChanged",
    "CoverageRegistered",
    "EligibilityConfirmed",
    "EligibilityDenied",
    "Event",
    "MessageSent",
    "PartnerSubscriptionDisabled",
    "PatientMerged",
    "PatientRegistered",
    "ReferralAccepted",
    "ReferralClosed",
    "ReferralOverdue",
    "ReferralReceived",
    "ReferralRejected",
    "ReferralScheduled",
    "RelatedPersonAdded",
    "SurveyCompleted",
    "WaitlistEntryAccepted",
    "WaitlistEntryAdded",
    "WaitlistEntryOffered",
    "WaitlistEntryRemoved",
    "WaitlistOfferLapsed",
    "all_event_types",
    "by_type",
]
