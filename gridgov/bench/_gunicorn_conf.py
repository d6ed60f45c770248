"""gunicorn settings for the HTTP benchmark: load the app once in the master (gridgov.wsgi
warms jieba's dictionary and the URLconf there and freezes them out of the collector), so
forked workers share them instead of each spending seconds on its first requests."""

from __future__ import annotations

from typing import Any

preload_app = True


def on_starting(server: Any) -> None:
    # Nothing opened in the master may be shared by the forked workers.
    from django.db import connections

    connections.close_all()
