from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
application = get_wsgi_application()

# Warm what would otherwise make each process's first requests slow: jieba's dictionary for
# the duplicate check, and every view module (the URLconf imports openpyxl, ninja's schemas
# …). Here, not in settings or an AppConfig, so that management commands and tests do not
# pay; under ``gunicorn --preload`` the forked workers share it.
from django.urls import get_resolver  # noqa: E402

from gridgov.appeals.duplicates import warm_up  # noqa: E402

warm_up()
get_resolver().url_patterns  # noqa: B018 (imports the URLconf now)
# What is loaded now lives as long as the process: keep it out of the collector's full
# passes, which otherwise walk it all now and then (measured over 2,000 intakes in one
# process: 77 → 29 µs of collection per intake), and keep its pages shared after fork.
gc.freeze()
