"""gunicorn settings of `make run`: those of every HTTP process (config/gunicorn.py), and once the
server listens, where to go next, printed for the person who typed the command."""

from config.gunicorn import *  # noqa: F403 (every setting and hook, unchanged)

WELCOME = """
Shop is ready at {url}/
  API root    {url}/api/v1/
  API docs    {url}/api/docs/  (ReDoc: {url}/api/redoc/)
  Admin       {url}/admin/
Create a staff account for the admin:  .venv/bin/python manage.py createsuperuser
A five-minute tour with curl is in README.md. Stop the server with Ctrl-C.
"""


def when_ready(server):
    print(WELCOME.format(url=str(server.LISTENERS[0]).rstrip("/")), flush=True)
