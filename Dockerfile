# injector as an image: one fully static binary (musl; OpenSSL, libcurl, libyaml and cJSON
# built from Debian bookworm's sources by `make static`) and nothing else.
#
#   docker build -t injector --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/injector --push \
#       --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" .
#
# The builder always runs on the build machine's own platform (no emulation) and
# cross-compiles for the target: TARGETARCH amd64 -> `make static ARCH=x86_64`, arm64 ->
# `make static ARCH=aarch64` (Debian's gcc-aarch64-linux-gnu, musl built from Debian's source;
# scripts/static-deps.sh installs the cross packages). Either way the binary lands in
# build/static/injector, so the final stage is the same for every platform.
#
# Use it by copying /injector into your own image (README, "Container image"). The final
# stage is what tests/integration/test_image.py assembles and runs in an empty chroot: keep
# it to COPY, USER, ENTRYPOINT and CMD lines.

FROM --platform=$BUILDPLATFORM debian:bookworm AS build
# Same bytes for the same commit (mk/static.mk passes it to the compiler and the archives).
ARG SOURCE_DATE_EPOCH
# scripts/static-deps.sh fetches the library sources with `apt-get source`: that needs a
# deb-src entry. ca-certificates: scripts/gen-ca.sh compiles its AWS roots into the binary.
RUN sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        > /etc/apt/sources.list.d/debian-src.sources \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates dpkg-dev file gcc libc6-dev linux-libc-dev lld make musl-tools perl
# Set by BuildKit (buildx) for each --platform; empty under the legacy builder, which builds
# for the machine it runs on.
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
        amd64) arch=x86_64 ;; \
        arm64) arch=aarch64 ;; \
        "") arch=$(uname -m) ;; \
        *) echo "injector: no build for TARGETARCH=$TARGETARCH (amd64, arm64)" >&2; exit 1 ;; \
    esac \
    && make static static-check ARCH="$arch" STATIC_DIR=build/static

# No shell, no libc, no CA files (a bundle is compiled in; AWS_CA_BUNDLE or SSL_CERT_FILE
# still win), no /etc of its own: Docker, ECS and Kubernetes mount /etc/hosts and
# /etc/resolv.conf, which is all musl's resolver reads.
FROM scratch
COPY --from=build /src/build/static/injector /injector
USER 65532:65532
ENTRYPOINT ["/injector"]
CMD ["--help"]
