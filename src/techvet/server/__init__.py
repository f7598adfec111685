"""The team service over HTTP (``techvet serve``): FastAPI routes, authentication, worker
processes and webhook delivery. Thin over :mod:`techvet.store` and the library."""
