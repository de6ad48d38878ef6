# Sourced by the other scripts: picks a JDK that can build and run Java 21 code.
# Debian 12's own java is 17; a Temurin (or other) JDK 21+ under /usr/lib/jvm is used when present,
# or the one SERVEML_JAVA_HOME names.
if [ -z "${SERVEML_JAVA_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-*-jdk* /usr/lib/jvm/jdk-2[1-9]* \
      /usr/lib/jvm/java-2[1-9]-openjdk* "${JAVA_HOME:-}"; do
    if [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -Eq 'version "(2[1-9]|[3-9][0-9])'; then
      SERVEML_JAVA_HOME=$candidate
      break
    fi
  done
fi
if [ -z "${SERVEML_JAVA_HOME:-}" ]; then
  echo "ServeML needs JDK 21 or newer (looked under /usr/lib/jvm and \$JAVA_HOME; SERVEML_JAVA_HOME names one);" \
       "Debian 12 has only 17: see 'Set-up' in README.md" >&2
  exit 1
fi
export JAVA_HOME=$SERVEML_JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
SERVEML_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SERVEML_ROOT
# Maven 3.8's own Guava uses sun.misc.Unsafe, which JDK 24+ warns about on every build: allow it.
if "$JAVA_HOME/bin/java" -version 2>&1 | grep -Eq 'version "(2[4-9]|[3-9][0-9])'; then
  case " ${MAVEN_OPTS:-} " in
    *sun-misc-unsafe-memory-access*) ;;
    *) export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow" ;;
  esac
fi
