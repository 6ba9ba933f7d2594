"""Local development and the embedded demo (`make run`).

DEBUG is off unless asked for (``DEBUG=1``): a person trying the product with ``make run`` gets the product's
own error pages, not Django's debug page with the settings and the process environment. With DEBUG on,
runserver refuses to listen on anything but a loopback address (spa_referrals/management/commands/runserver.py).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=False)

# runserver serves static files from the finders; no collectstatic folder is expected locally.
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
