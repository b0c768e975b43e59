# syntax=docker/dockerfile:1
# ordinal: a static (musl) binary in a distroless image that runs as non-root.
#   docker build -t ordinal:0.1.0 .
# Used by deploy/cluster-dns (kube-system replacement) and deploy/sidecar.
FROM rust:1.95-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl \
 && apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# dependencies first, so source edits do not rebuild them
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && echo 'fn main() {}' >src/main.rs && touch src/lib.rs \
 && cargo fetch --locked --target x86_64-unknown-linux-musl
COPY . .
RUN cargo build --release --locked --bin ordinal --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/ordinal /ordinal

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /ordinal /ordinal
USER 65532:65532
EXPOSE 53/udp 53/tcp 9153/tcp
ENTRYPOINT ["/ordinal"]
CMD ["serve", "--in-cluster", "--listen=0.0.0.0:53", "--admin=0.0.0.0:9153"]
