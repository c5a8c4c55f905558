"""The code systems records accepts: the kit's, shared with scheduling (referral reasons)."""

from caremesh_kit.codes import *  # noqa: F403
