"""Local development and the embedded demo (`make run`)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

# runserver serves static files from the finders; no collectstatic folder is expected locally.
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
