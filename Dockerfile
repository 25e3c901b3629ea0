# gitbrag: the refresher service (scheduler + the refresh hook on port 8080), as a non-root user.
# Build: docker build -t gitbrag .    Run: see docs/deploy/docker.md.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gitbrag ./gitbrag
COPY templates ./templates
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gitbrag \
 && mkdir -p /data/site /data/state && chown -R gitbrag /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER gitbrag
WORKDIR /data
ENV GITBRAG_SITE_DIR=/data/site \
    GITBRAG_STATE_PATH=/data/state/state.sqlite3 \
    PYTHONUNBUFFERED=1
VOLUME ["/data/site", "/data/state"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('GITBRAG_HOOK_PORT', '8080') + '/healthz', timeout=4)"]
CMD ["gitbrag-refresh"]
