"""Unbound extension objects; :func:`portal.create_app` binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
def _client_key() -> str:
    from portal.ratelimit import client_key

    return client_key()


# Storage is chosen in create_app: Redis when PORTAL_REDIS_URL is set (shared by all
# gunicorn workers), otherwise per-process memory (one worker only: portal.ratelimit).
# Keys are keyed hashes: no address or typed number appears in a Redis key name.
limiter = Limiter(key_func=_client_key, default_limits=[], headers_enabled=True)
