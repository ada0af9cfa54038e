"""WSGI entry point: ``gunicorn wsgi:app`` (see gunicorn.conf.py)."""
import search_index
from portal import create_app

app = create_app()
# With preload_app the dictionary is loaded once in the master and shared by the workers.
search_index.warm_up()
