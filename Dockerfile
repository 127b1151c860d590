# CityHub: browser bundles built with node, a slim Python runtime, running as a non-root user.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/static ./web/static
RUN npm run build

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# pango for the PDF engine (WeasyPrint), CJK fonts it embeds in the papers
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /var/lib/cityhub --shell /usr/sbin/nologin cityhub
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY signaling ./signaling
COPY web ./web
COPY --from=assets /src/web/static/dist ./web/static/dist
RUN pip install . && rm -rf /root/.cache
USER cityhub
ENV CITYHUB_SERVER_HOST=0.0.0.0 \
    CITYHUB_SERVER_PORT=8080 \
    CITYHUB_SERVER_VAR_DIR=/var/lib/cityhub
VOLUME ["/var/lib/cityhub"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=4s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"
CMD ["cityhub", "serve"]
