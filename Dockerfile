# syntax=docker/dockerfile:1
# Sightline image, CPU (default) or CUDA:
#   docker build -t sightline:0.1.0 .
#   docker build --build-arg VARIANT=gpu -t sightline:0.1.0-gpu .
# linux/amd64 only: .mvn/maven.config pins the JavaCPP (OpenCV) natives to linux-x86_64.
ARG VARIANT=cpu

FROM eclipse-temurin:17-jdk-noble AS build
ARG VARIANT
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
COPY src/main src/main
COPY db db
# -Pgpu swaps onnxruntime for onnxruntime_gpu (pom.xml); tests run in CI, not here
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp package -Dmaven.test.skip=true $([ "$VARIANT" = gpu ] && echo -Pgpu) \
 && cp target/sightline-*.jar /sightline.jar

FROM eclipse-temurin:17-jre-noble AS runtime-cpu

# onnxruntime_gpu 1.2x loads CUDA 12 and cuDNN 9 from the system; the CUDA images carry no Java
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS runtime-gpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*

FROM runtime-${VARIANT}
RUN groupadd --system --gid 10001 sightline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent sightline
WORKDIR /app
COPY --from=build /sightline.jar /app/sightline.jar
# the served files only (sightline.model.path defaults to onnx-models/shapes-vlm under the working directory)
COPY onnx-models/shapes-vlm/*.json onnx-models/shapes-vlm/*.onnx /app/onnx-models/shapes-vlm/
# The root filesystem may be read-only (the Helm chart makes it so): ONNX Runtime (java.io.tmpdir), OpenCV through
# JavaCPP (its cache dir) and the DJL tokenizer (DJL_CACHE_DIR) unpack their native libraries under /tmp instead
# of the home directory.
ENV DJL_CACHE_DIR=/tmp/djl \
    JAVA_OPTS=""
USER 10001:10001
EXPOSE 8080
# Half the container's memory for the heap, the rest for ONNX Runtime's and OpenCV's native memory; JAVA_OPTS comes
# last, so its flags win
ENTRYPOINT ["sh", "-c", "exec java -Djava.io.tmpdir=/tmp -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp -XX:MaxRAMPercentage=50 $JAVA_OPTS -jar /app/sightline.jar \"$@\"", "sightline"]
