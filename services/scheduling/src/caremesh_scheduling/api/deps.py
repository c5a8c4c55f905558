"""The one dependency every route takes: the use cases the composition root built."""

from typing import Annotated

from fastapi import Depends

from caremesh_kit.http import container
from caremesh_scheduling.usecases import UseCases

Services = Annotated[UseCases, Depends(container(UseCases))]
