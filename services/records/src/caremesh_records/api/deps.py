"""The one dependency of every route: the container of use cases ``app.py`` built."""

from typing import Annotated

from fastapi import Depends

from caremesh_kit.http import container
from caremesh_records.usecases import UseCases

Services = Annotated[UseCases, Depends(container(UseCases))]
