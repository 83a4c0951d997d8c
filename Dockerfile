# The slotblock server image. `make image` builds it here without a registry (deploy/image.sh);
# elsewhere: docker build -t slotblock \
#   --build-arg VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/slotblock/__init__.py)" .
#
# Build arguments:
#   BASE_IMAGE   a Python ≥ 3.11 image with venv (default: the official slim image); both
#                stages use it, so the virtual environment's interpreter path is the same
#   VERSION      the package version, for the label and a check (default: not checked)
#   SOURCE_URL, REVISION   the OCI source and revision labels
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST   a package mirror, if any
# Build secrets (optional): `pip_ca` (a CA bundle that pip trusts, e.g. a TLS-intercepting
# proxy's) and `pip_conf` (a pip.conf), e.g. --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder
ARG PIP_INDEX_URL=
ARG PIP_EXTRA_INDEX_URL=
ARG PIP_TRUSTED_HOST=
ARG VERSION=unchecked
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN --mount=type=secret,id=pip_ca --mount=type=secret,id=pip_conf \
    set -eu; \
    for v in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST; do \
        if [ -z "$(printenv "$v" || true)" ]; then unset "$v"; fi; \
    done; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    if [ -s /run/secrets/pip_conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip_conf; fi; \
    python3 -m venv /opt/slotblock; \
    /opt/slotblock/bin/pip wheel --no-deps --wheel-dir /build/dist .; \
    /opt/slotblock/bin/pip install /build/dist/slotblock-*.whl; \
    /opt/slotblock/bin/pip uninstall --yes --quiet setuptools pip; \
    got="$(/opt/slotblock/bin/slotblock --version)"; \
    if [ "$VERSION" != unchecked ] && [ "$got" != "slotblock $VERSION" ]; then \
        echo "VERSION=$VERSION but the package says: $got" >&2; exit 1; \
    fi

FROM ${BASE_IMAGE}
ARG VERSION=unchecked
ARG SOURCE_URL=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="slotblock" \
      org.opencontainers.image.description="A self-hosted server of the LeadConnector (HighLevel) Calendars blocked-slots API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
RUN set -eu; \
    if command -v useradd >/dev/null 2>&1; then \
        useradd --no-log-init --uid 10001 --user-group --home-dir /var/lib/slotblock --no-create-home slotblock; \
    else \
        echo 'slotblock:x:10001:10001:slotblock:/var/lib/slotblock:/usr/sbin/nologin' >> /etc/passwd; \
        echo 'slotblock:x:10001:' >> /etc/group; \
    fi; \
    mkdir -p /var/lib/slotblock; \
    chown 10001:10001 /var/lib/slotblock
COPY --from=builder /opt/slotblock /opt/slotblock
ENV PATH=/opt/slotblock/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SLOTBLOCK_DATABASE_URL=sqlite:////var/lib/slotblock/slotblock.db
WORKDIR /var/lib/slotblock
VOLUME ["/var/lib/slotblock"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
ENTRYPOINT ["slotblock"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
