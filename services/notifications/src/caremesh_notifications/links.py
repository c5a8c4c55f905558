"""Signed links; the kit's, since scheduling checks the offer links notifications signs."""

from caremesh_kit.links import *  # noqa: F403
