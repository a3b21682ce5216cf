"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

# A web worker embeds one short query at a time: one math thread each. Several workers with a
# thread per core each would spin against one another (set OMP_NUM_THREADS to override).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
