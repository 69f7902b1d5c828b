"""WSGI entry point for gunicorn and friends: ``gunicorn wsgi:app``.

Settings come from FEEDSERVER_FEEDS / FEEDSERVER_DATA / FEEDSERVER_ADMIN_TOKEN. Every worker
runs a background refresher; a lock in the data folder lets only one refresh at a time.
"""

from feedserver.app import create_app

app = create_app({"BACKGROUND_REFRESH": True})
