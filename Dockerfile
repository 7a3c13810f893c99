# syntax=docker/dockerfile:1

# Builder: install the package and its runtime dependencies (no dev extras) into a venv.
FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY . .
# The cache mount keeps downloaded wheels between builds, so a code change does not refetch them.
# Dependencies come from the hashed lock (what CI tested), then the package without resolving.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --require-hashes -r requirements/runtime.lock \
    && pip install --no-deps .

# Runtime: the venv (migrations ship inside the package) plus the source tree, so alembic.ini and
# schema.graphql are at hand for `alembic` and `bountyexpo schema check` run in the container.
FROM python:3.11-slim
ENV ENVIRONMENT=production \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY . .
# Only var/ is writable: it holds the embedded PostgreSQL when DATABASE_URL is unset.
RUN mkdir -p var && chown app:app var
# Numeric so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000
# Slim images have no curl; urlopen raises (exit 1) on a refused connection or a non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]
CMD ["bountyexpo", "serve", "--host", "0.0.0.0", "--port", "8000"]
