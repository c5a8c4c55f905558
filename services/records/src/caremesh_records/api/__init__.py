"""Records' HTTP API, one module per resource group. Every route reaches the use cases through
``deps.Services``, the container the composition root built."""
