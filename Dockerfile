# rsolv-billing: the system, the Stripe emulator and the staging simulator in one image.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY system ./system
COPY simulator ./simulator
COPY fixtures ./fixtures
RUN pip install .
EXPOSE 8000 12111
CMD ["rsolv-billing", "serve", "--host", "0.0.0.0", "--port", "8000"]
