"""The one dependency every route takes: the use cases the composition root built."""

from typing import Annotated

from fastapi import Depends, Request

from caremesh_kit.http import container
from caremesh_scheduling.usecases import UseCases

_container = container(UseCases)


async def _services(request: Request) -> UseCases:
    """``container`` as a coroutine: FastAPI runs a plain function in a worker thread, a hop per request."""
    return _container(request)


Services = Annotated[UseCases, Depends(_services)]
