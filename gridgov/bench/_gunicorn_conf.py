"""gunicorn settings for the HTTP benchmark: load the app once in the master and warm the
slow lazy imports there (jieba's dictionary, scikit-learn), so forked workers share them
instead of each spending seconds on its first duplicate check."""

from __future__ import annotations

from typing import Any

preload_app = True


def on_starting(server: Any) -> None:
    import logging

    import jieba
    import sklearn.feature_extraction.text  # noqa: F401

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    # Nothing opened in the master may be shared by the forked workers.
    from django.db import connections

    connections.close_all()
