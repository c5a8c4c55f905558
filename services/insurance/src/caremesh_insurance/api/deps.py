"""What every route takes: the service's use cases (one typed dependency) and paging."""

from typing import Annotated

from fastapi import Depends, Query

from caremesh_insurance.usecases import UseCases
from caremesh_kit.http import container

Services = Annotated[UseCases, Depends(container(UseCases))]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
