# injector as an image: one fully static binary (musl; OpenSSL, libcurl, libyaml and cJSON
# built from Debian bookworm's sources by `make static`) and nothing else.
#
#   docker build -t injector --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" .
#
# Use it by copying /injector into your own image (README, "Container image"). The final
# stage is what tests/integration/test_image.py assembles and runs in an empty chroot: keep
# it to COPY, USER, ENTRYPOINT and CMD lines.

FROM debian:bookworm AS build
# Same bytes for the same commit (mk/static.mk passes it to the compiler and the archives).
ARG SOURCE_DATE_EPOCH
# scripts/static-deps.sh fetches the library sources with `apt-get source`: that needs a
# deb-src entry. ca-certificates: scripts/gen-ca.sh compiles its AWS roots into the binary.
RUN sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        > /etc/apt/sources.list.d/debian-src.sources \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates dpkg-dev file gcc libc6-dev linux-libc-dev make musl-tools perl
WORKDIR /src
COPY . .
RUN make static static-check

# No shell, no libc, no CA files (a bundle is compiled in; AWS_CA_BUNDLE or SSL_CERT_FILE
# still win), no /etc of its own: Docker, ECS and Kubernetes mount /etc/hosts and
# /etc/resolv.conf, which is all musl's resolver reads.
FROM scratch
COPY --from=build /src/build/static/injector /injector
USER 65532:65532
ENTRYPOINT ["/injector"]
CMD ["--help"]
