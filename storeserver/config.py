"""Default settings.

Every key can be overridden, in this order, by `instance/config.py`, by an
environment variable named `STORESERVER_<KEY>` (values are parsed as JSON when
they can be, so `STORESERVER_PAGE_SIZE=25` is a number), and finally by the
mapping a test passes to `create_app`.
"""

# The store this server serves; it fixes the legal entity and the store book.
STORE_ID = "PAR-01"

# None means "a SQLite file in the instance folder"; a retailer hosting many
# stores on one server sets DATABASE_URL to a PostgreSQL URL instead.
SQLALCHEMY_DATABASE_URI = None
SQLITE_BUSY_TIMEOUT_MS = 5000
# SQL errors must not carry their parameters into the log: a note's body or a
# customer's details would follow.
SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}

# HQ connection. The folder connector reads feed files from HQ_FEED_DIR and
# writes change files to HQ_OUTBOX_DIR; relative paths are in the instance folder.
HQ_CONNECTOR = "folder"  # or "http"
HQ_FEED_DIR = "hq/feed"
HQ_OUTBOX_DIR = "hq/outbox"
# The http connector: HQ's base URL and its bearer token (a secret: keep it in
# instance/config.py or the STORESERVER_HQ_TOKEN environment variable).
HQ_URL = None
HQ_TOKEN = None
HQ_CONNECT_TIMEOUT = 5.0
HQ_READ_TIMEOUT = 60.0
HQ_RETRIES = 3
HQ_BACKOFF_SECONDS = 0.5
# Changes sent to HQ per request.
PUSH_BATCH = 200
# The schedule inside the server process: the pull nightly at this local time
# of the store, the push every few minutes.
PULL_AT = "02:30"
PUSH_EVERY_MINUTES = 5
SCHEDULER_ENABLED = True
# /healthz says "stale" when the last good pull is older than this.
PULL_STALE_HOURS = 30
# How long a sync run may hold the lock before another may take it over.
SYNC_LOCK_SECONDS = 3600

# Secrets: a value "vault://<vault>/<secret>" is read from Azure Key Vault
# with these service-principal settings (better from the environment:
# STORESERVER_AZURE_CLIENT_SECRET=...); any other secret name is a config key
# or an environment variable. Values are kept this long in memory.
AZURE_TENANT_ID = None
AZURE_CLIENT_ID = None
AZURE_CLIENT_SECRET = None
SECRETS_TTL_SECONDS = 900

# Analytics measures in live mode (HQ's insights settings choose the mode):
# the longest a page waits for the service before showing nightly values, the
# timeout of the call itself (a late answer still fills the cache), how long
# live values are kept, and how long to wait after a failure before asking
# again. Store IT is told when a secret expires within SECRET_WARN_DAYS.
INSIGHTS_BUDGET_SECONDS = 0.3
INSIGHTS_TIMEOUT_SECONDS = 5
INSIGHTS_CACHE_SECONDS = 300
INSIGHTS_RETRY_AFTER_SECONDS = 60
SECRET_WARN_DAYS = 30
# Identity platforms an HQ setting may send the analytics secret to.
INSIGHTS_AUTHORITIES = [
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
]
# A plain (non-vault) analytics secret name NAME from HQ is read from
# INSIGHTS_SECRET_<NAME> here or STORESERVER_INSIGHTS_SECRET_<NAME> in the
# environment, never from another key.

# Pages.
PAGE_SIZE = 50
ADD_SEARCH_LIMIT = 25
# Call and e-mail lists (and their CSV exports) hold at most this many customers.
LIST_LIMIT = 2000

# Languages offered; the browser chooses, the store's default is the fallback.
LANGUAGES = ["en", "fr"]
BABEL_DEFAULT_LOCALE = "en"
BABEL_DEFAULT_TIMEZONE = "UTC"

# Cache for slow-changing reference data (activity types, attribute group).
CACHE_TYPE = "simple"
CACHE_TTL_SECONDS = 4 * 3600

# Shared tablets: a sign-in ends after this many minutes without a request,
# with a warning on screen this many seconds before. Sign-ins are refused for
# a while after repeated failures for one staff id, or from one device.
IDLE_MINUTES = 10
IDLE_WARNING_SECONDS = 60
LOGIN_FAILURES_PER_STAFF = "5 per 15 minutes"
LOGIN_FAILURES_PER_DEVICE = "20 per 15 minutes"
# Sign-ins of this device listed on the sign-in page for a quick switch.
RECENT_ON_DEVICE = 5

# Sessions and cookies.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
WTF_CSRF_TIME_LIMIT = None

# Serving.
HOST = "127.0.0.1"
PORT = 8000
THREADS = 4

LOG_LEVEL = "INFO"
