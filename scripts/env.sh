# Sourced by the other scripts: picks a JDK that can build and run Java 21 code.
# Debian's default java is 17; the Temurin JDK under /usr/lib/jvm is used when present.
if [ -z "${SERVEML_JAVA_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-*-jdk* /usr/lib/jvm/java-2[1-9]-openjdk* "${JAVA_HOME:-}"; do
    if [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -Eq 'version "(2[1-9]|[3-9][0-9])'; then
      SERVEML_JAVA_HOME=$candidate
      break
    fi
  done
fi
if [ -z "${SERVEML_JAVA_HOME:-}" ]; then
  echo "ServeML needs JDK 21 or newer (looked under /usr/lib/jvm and \$JAVA_HOME)" >&2
  exit 1
fi
export JAVA_HOME=$SERVEML_JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
SERVEML_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SERVEML_ROOT
