# One image for every process of the production stack (docker-compose.yml): the web server
# (gunicorn, the default command), the Celery worker and Celery beat.
#
#   docker build -t spa-referrals .
#
# Three stages keep compilers and Node.js out of the image that runs:
#   python-deps  installs the hashed Python lock (requirements.txt) into /opt/venv (psycopg2 builds against libpq)
#   assets       installs the front-end packages from package-lock.json with Debian's npm
#   runtime      the libraries CI installs (Pango/HarfBuzz for WeasyPrint, libpq, DejaVu fonts),
#                the venv, node_modules and the project; static files collected at build time

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- Python dependencies -----------------------------------------------------
FROM ${PYTHON_IMAGE} AS python-deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
# The hashed lock (make lock): every package pinned, and pip refuses any file whose hash differs.
RUN pip install --require-hashes --no-deps -r /tmp/requirements.txt

# --- Front-end packages (bootstrap, bootstrap-icons, htmx.org) ---------------------
# Served by Django's staticfiles straight from node_modules (settings STATICFILES_DIRS); no build step.
FROM ${PYTHON_IMAGE} AS assets
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- Runtime -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# libpq5 is the run-time half of libpq-dev (psycopg2 links to it); the rest is what .ci/run installs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libpq5 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# VAR_DIR: scratch files (the file email backend's copies when EMAIL_URL is unset, ...).
# MEDIA_ROOT: uploads and generated documents when no bucket is set (AWS_STORAGE_BUCKET_NAME); the compose
#   stack keeps them in its "s3" service's bucket instead.
# WEB_CONCURRENCY: gunicorn's worker processes per container (gunicorn reads it itself).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=spa_referrals.settings.production \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media \
    WEB_CONCURRENCY=3

WORKDIR /app
COPY --from=python-deps /opt/venv /opt/venv
COPY --from=assets /app/node_modules ./node_modules
COPY . .

# collectstatic imports the production settings, which refuse to load without these variables.
# The values are build-only placeholders: nothing connects to these addresses and the key signs nothing.
# Empty named volumes mounted on /app/var or /app/media start with this ownership.
RUN SECRET_KEY=build-only-placeholder-for-collectstatic-never-used-at-run-time \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build:build@build.invalid:5432/build \
    REDIS_URL=redis://build.invalid:6379/0 \
    EMAIL_URL=smtp://build.invalid:25 \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var /app/media \
 && chown app:app /app/var /app/media

USER app
EXPOSE 8000

# docker-compose.yml gives the web service a health check on /healthz and runs migrations
# in a one-shot "migrate" service before web, worker and beat start.
CMD ["gunicorn", "spa_referrals.wsgi", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
