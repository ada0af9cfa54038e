"""Unbound extension objects; :func:`portal.create_app` binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
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
# Storage is chosen in create_app: Redis when PORTAL_REDIS_URL is set (shared by all
# gunicorn workers), otherwise per-process memory.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
