"""Records' HTTP API, one module per resource group. Every route reaches the use cases through
``Services``, the container the composition root built."""

from typing import Annotated

from fastapi import Depends

from caremesh_kit.http import container
from caremesh_records.usecases import UseCases

Services = Annotated[UseCases, Depends(container(UseCases))]
