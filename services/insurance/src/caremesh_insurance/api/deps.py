"""What every route takes: the service's use cases (one typed dependency)."""

from typing import Annotated

from fastapi import Depends

from caremesh_insurance.usecases import UseCases
from caremesh_kit.http import container

Services = Annotated[UseCases, Depends(container(UseCases))]
