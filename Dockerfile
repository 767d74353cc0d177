# PCF Factor Warehouse: one image for the nightly build and the services.
#   docker build -t pcf-warehouse .
#   docker run --rm -v pcf-data:/srv/pcf -v /path/to/shared/data/sources:/srv/sources:ro pcf-warehouse build
#   docker run --rm -p 3000:3000 -v pcf-data:/srv/pcf --entrypoint dagster-webserver pcf-warehouse \
#       -m pipelines.definitions -h 0.0.0.0 -p 3000          # the Dagster UI on the same instance
# The data home (releases, catalogue, Dagster run storage, restricted zone) is the volume /srv/pcf; the
# public sources are mounted read-only. Installed from the hashed runtime lockfile, then the wheel.
FROM python:3.11-slim-bookworm

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /opt/pcf
COPY requirements-runtime.lock ./
RUN python -m pip install --no-cache-dir --require-hashes -r requirements-runtime.lock
COPY pyproject.toml setup.py README.md ./
COPY pipelines ./pipelines
COPY sql ./sql
COPY expectations ./expectations
COPY data/raw ./data/raw
RUN python -m pip install --no-cache-dir --no-deps . && rm -rf /opt/pcf

RUN useradd --create-home --uid 1000 pcf && mkdir -p /srv/pcf /srv/sources && chown pcf /srv/pcf
USER pcf
WORKDIR /srv/pcf
ENV PCF_HOME=/srv/pcf PCF_SOURCES_DIR=/srv/sources DAGSTER_HOME=/srv/pcf/data/curated/dagster
VOLUME ["/srv/pcf"]
EXPOSE 3000
ENTRYPOINT ["pcf"]
CMD ["build"]
