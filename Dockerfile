# The runner image of exported CronJobs (`sbsched export kubernetes --image ...`): sbsched and its
# dependencies on a slim Python, run as an unprivileged user whose home is /tmp (an emptyDir in the pod;
# the root filesystem can stay read-only).
#   docker build -t sbsched:0.1.0 .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY cli/ cli/
COPY reconciler/ reconciler/
COPY schemas/ schemas/
RUN pip install . && rm -rf /src

# 65532 is the uid the exported pods run as (runAsUser); a numeric USER lets runAsNonRoot verify it.
RUN groupadd --gid 65532 sbsched \
    && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin sbsched
USER 65532:65532
WORKDIR /tmp
ENV HOME=/tmp

ENTRYPOINT ["sbsched"]
CMD ["--help"]
