"""WSGI entry point for gunicorn (``gunicorn wsgi:server``). Web workers never run the scheduler."""
from app import create_app

app = create_app()
server = app.server
