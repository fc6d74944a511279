# Shared helpers for scripts/run and scripts/test (sourced, not executed).

# Debian packages, installed when missing (needs root; otherwise says what to install).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    return 1
  fi
  echo "==> installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Builds web/dist (npm ci only when package-lock.json changed since the last install).
build_web() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is not installed: the panel will run without its web UI" >&2
    return 0
  fi
  (
    cd web
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      echo "==> npm ci (web)"
      npm ci --no-audit --no-fund --loglevel=error
    fi
    echo "==> building the web UI"
    npm run build --silent
  )
}

# The Docker engine for the Docker runtime's tests: dockerd is started in the background
# when it does not answer (as root, where no service manager runs it), and the local test
# images are built. Returns non-zero (after saying why) when no engine can be had.
ensure_docker() {
  if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null 2>&1; then
      echo "no Docker engine answers and dockerd cannot be started here (apt-get install docker.io, run as root)" >&2
      return 1
    fi
    echo "==> starting dockerd"
    (nohup dockerd >/var/log/cap-dockerd.log 2>&1 &)
    local tries=0
    until docker info >/dev/null 2>&1; do
      tries=$((tries + 1))
      if [ $tries -gt 60 ]; then
        echo "dockerd did not answer within 30 s (see /var/log/cap-dockerd.log)" >&2
        return 1
      fi
      sleep 0.5
    done
  fi
}

# pydactyl (PyPI), the Pterodactyl API client the compatibility test drives, in its own
# virtual environment (made once); prints the interpreter that has it.
ensure_pydactyl() {
  local venv=/var/tmp/cap-pydactyl
  if ! "$venv/bin/python" -c "import pydactyl" >/dev/null 2>&1; then
    echo "==> installing pydactyl (Pterodactyl API client for the compatibility test, once)" >&2
    python3 -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet py-dactyl==2.1.3 >&2 || return 1
  fi
  echo "$venv/bin/python"
}

# The S3-compatible server the backup tests use (built once, then kept in ~/.cargo/bin).
ensure_s3s_fs() {
  if [ -n "${CAP_S3S_FS_BIN:-}" ] || command -v s3s-fs >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/s3s-fs" ]; then
    return 0
  fi
  echo "==> installing s3s-fs (S3-compatible server for the backup tests, once)"
  CARGO_TARGET_DIR=/var/tmp/s3s-fs-build cargo install --quiet --locked s3s-fs@0.14.1 --features binary
}
