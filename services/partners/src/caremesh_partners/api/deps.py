"""The one dependency every route takes: the gateway's use cases, as built by ``app.build``."""

from typing import Annotated

from fastapi import Depends

from caremesh_kit.http import container
from caremesh_partners.usecases import UseCases

Services = Annotated[UseCases, Depends(container(UseCases))]
