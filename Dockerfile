# The Styrkedja image: one image for web, worker and CLI.
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
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8000
CMD ["gunicorn", "--workers", "2", "--threads", "4", "--bind", "0.0.0.0:8000", "web.wsgi:app"]
