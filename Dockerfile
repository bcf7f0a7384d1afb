# The Styrkedja image: one image for web, worker, projection runner and CLI (see docker-compose.yml).
FROM python:3.11-slim
# WeasyPrint renders PDFs with Pango; reproducible PDFs need the same fonts everywhere.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY web web
COPY workers workers
COPY projections projections
RUN pip install --no-cache-dir '.[s3]'
# The data volume (report artifacts) is written by the unprivileged user the processes run as.
RUN mkdir -p /data && chown nobody /data
ENV STYRKEDJA_DATA_DIR=/data STYRKEDJA_LOG_FORMAT=json PYTHONUNBUFFERED=1
USER nobody
EXPOSE 8000
CMD ["gunicorn", "-c", "python:web.ops_gunicorn", "--workers", "2", "--threads", "4", "--bind", "0.0.0.0:8000", \
     "web.wsgi:app"]
