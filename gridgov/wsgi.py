from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
application = get_wsgi_application()

# Warm what would otherwise make each process's first intake slow (jieba's dictionary for
# the duplicate check). Here, not in settings or an AppConfig, so that management commands
# and tests do not pay; under ``gunicorn --preload`` the forked workers share it.
from gridgov.appeals.duplicates import warm_up  # noqa: E402

warm_up()
