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
