# compat-tests/lib/fetch.sh: brings Java clients and servers from Maven Central into
# the git-ignored cache, and runs Java mains on the resulting classpaths.
#
# A "set" is a named list of Maven coordinates (versions from versions.env). Its
# classpath is resolved once with Maven and cached under $CACHE_DIR/maven/<set>/,
# keyed by the coordinate list, so a repeated run costs nothing.

# maven_coords SET: prints the coordinates of a set, one per line.
maven_coords() {
  case "$1" in
    zookeeper-3.9)
      # The server and zkCli need what the zookeeper pom marks "provided" (the
      # distribution's lib/ ships them): metrics-core, commons-cli, snappy, jline;
      # plus a logging binding (slf4j-api 2.x) so the server log is not empty.
      echo "org.apache.zookeeper:zookeeper:$ZOOKEEPER_VERSION"
      echo "io.dropwizard.metrics:metrics-core:4.1.12.1"
      echo "commons-cli:commons-cli:1.5.0"
      echo "org.xerial.snappy:snappy-java:1.1.10.5"
      echo "jline:jline:2.14.6"
      echo "org.slf4j:slf4j-simple:2.0.13" ;;
    zookeeper-3.9-prometheus)
      maven_coords zookeeper-3.9
      echo "org.apache.zookeeper:zookeeper-prometheus-metrics:$ZOOKEEPER_VERSION"
      # the provider's HTTP server: ZooKeeper's optional Jetty, at its 3.9 version
      echo "org.eclipse.jetty:jetty-server:9.4.57.v20241219"
      echo "org.eclipse.jetty:jetty-servlet:9.4.57.v20241219" ;;
    zookeeper-3.4)
      echo "org.apache.zookeeper:zookeeper:$ZOOKEEPER_OLD_VERSION" ;;
    zookeeper-3.5)
      # an older Netty TLS client line for zk-tls (the client jar pulls its own Netty)
      echo "org.apache.zookeeper:zookeeper:$ZOOKEEPER_TLS_OLD_VERSION"
      echo "org.slf4j:slf4j-simple:$SLF4J_VERSION" ;;
    curator)
      echo "org.apache.zookeeper:zookeeper:$ZOOKEEPER_VERSION"
      echo "org.apache.curator:curator-recipes:$CURATOR_VERSION"
      echo "org.apache.curator:curator-x-discovery:$CURATOR_VERSION" ;;
    kafka-4)
      echo "org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
      echo "org.apache.kafka:kafka-tools:$KAFKA_VERSION"
      echo "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3"
      echo "org.apache.logging.log4j:log4j-core:2.24.3" ;;
    kafka-3.9)
      echo "org.apache.kafka:kafka_2.13:$KAFKA_ZK_VERSION"
      echo "org.apache.kafka:kafka-tools:$KAFKA_ZK_VERSION"
      echo "org.slf4j:slf4j-reload4j:$SLF4J_VERSION" ;;
    kafka-2.2)
      # kafka-tools holds 2.2's ProducerPerformance (kafka-producer-perf-test.sh)
      echo "org.apache.kafka:kafka_$KAFKA_OLD_SCALA:$KAFKA_OLD_VERSION"
      echo "org.apache.kafka:kafka-tools:$KAFKA_OLD_VERSION"
      echo "org.slf4j:slf4j-log4j12:$SLF4J_VERSION" ;;
    kafka-clients-4)
      # the Java client alone, as applications (Logstash's kafka input) embed it
      echo "org.apache.kafka:kafka-clients:$KAFKA_VERSION"
      echo "org.slf4j:slf4j-simple:$SLF4J_VERSION" ;;
    kafka-clients-3.9)
      echo "org.apache.kafka:kafka-clients:$KAFKA_ZK_VERSION"
      echo "org.slf4j:slf4j-simple:$SLF4J_VERSION" ;;
    jmx-exporter)
      # the Prometheus JMX exporter's java agent: one self-contained jar, handed to an
      # Apache broker as -javaagent (suite kafka-metrics), never put on a classpath
      echo "io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" ;;
    *) die "unknown maven set: $1" ;;
  esac
}

# maven_classpath SET: prints the classpath of SET, resolving it on first use.
maven_classpath() {
  local set=$1 dir coords key
  dir="$CACHE_DIR/maven/$set"
  coords=$(maven_coords "$set") || return 1
  key=$(printf '%s' "$coords" | sha256sum | cut -c1-16)
  if [ -f "$dir/classpath.$key" ]; then
    cat "$dir/classpath.$key"
    return 0
  fi
  mkdir -p "$dir"
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo "<groupId>keel.compat</groupId><artifactId>set-$set</artifactId><version>1</version><packaging>pom</packaging>"
    echo '<dependencies>'
    local c g a v
    while IFS= read -r c; do
      IFS=: read -r g a v <<<"$c"
      echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
    done <<<"$coords"
    echo '</dependencies></project>'
  } >"$dir/pom.xml"
  log "resolving maven set $set"
  if ! mvn -q -B -f "$dir/pom.xml" -Dmaven.repo.local="$CACHE_DIR/m2" \
      dependency:build-classpath -Dmdep.outputFile="$dir/classpath.tmp" >"$dir/mvn.log" 2>&1; then
    cat "$dir/mvn.log" >&2
    die "could not resolve maven set $set"
  fi
  mv "$dir/classpath.tmp" "$dir/classpath.$key"
  cat "$dir/classpath.$key"
}

# java_run SET MAIN [ARGS...]: runs a Java main class (or a single-file .java source,
# compiled by the source launcher) on the classpath of SET.
java_run() {
  local set=$1 main=$2 cp
  shift 2
  cp=$(maven_classpath "$set") || return 1
  java ${JAVA_OPTS:-} -cp "$cp" "$main" "$@"
}
