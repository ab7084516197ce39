"""The service's web side: the admin console, ``/healthz``, ``/readyz`` and ``/metrics``."""
