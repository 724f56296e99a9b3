"""The app for any WSGI server: `waitress-serve wsgi:app`."""

from storeserver import create_app, upgrade_database

app = create_app()
upgrade_database(app)
