# The Styrkedja image: one image for web, worker and CLI.
FROM python:3.11-slim
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
