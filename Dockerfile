# syntax=docker/dockerfile:1
# tokworks image: one image, three binaries (tokworks-api, tokworks-worker, tokworks-sim).
# Build stage compiles the workspace in release mode; the runtime stage is Debian slim with
# python3 and the pinned yt-dlp with curl_cffi in /opt/yt-dlp (installed by scripts/install-ytdlp.sh),
# running as an unprivileged user. docker-compose.yml picks the binary with `command:`.

FROM rust:1.95-bookworm AS builder
# wreq compiles BoringSSL from source: cmake, and libclang for its bindings.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake libclang-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target directory between builds (BuildKit);
# the binaries are copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin tokworks-api --bin tokworks-worker --bin tokworks-sim \
    && mkdir -p /out \
    && cp target/release/tokworks-api target/release/tokworks-worker target/release/tokworks-sim /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY scripts/install-ytdlp.sh /usr/local/lib/tokworks/install-ytdlp.sh
RUN bash /usr/local/lib/tokworks/install-ytdlp.sh /opt/yt-dlp && rm -rf /root/.cache
RUN useradd --system --uid 10001 --create-home --home-dir /home/tokworks --shell /usr/sbin/nologin tokworks
WORKDIR /app
COPY prompts /app/prompts
COPY --from=builder /out/ /usr/local/bin/
ENV YTDLP_PATH=/opt/yt-dlp/bin/yt-dlp \
    PROMPTS_DIR=/app/prompts \
    BIND_ADDR=0.0.0.0:8000 \
    RUST_LOG=info
USER tokworks
EXPOSE 8000
CMD ["tokworks-api", "serve"]
