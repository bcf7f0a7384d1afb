#!/usr/bin/env bash
# Debian packages the tests use: Chromium for the browser tests, poppler-utils to look at PDF pages,
# and WeasyPrint's Pango. Installed only where missing and only when we may (root); prints what is there.
set -u
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || echo "could not install ${missing[*]}; tests that need them will be skipped (or fail in CI)"
  else
    echo "missing Debian packages: ${missing[*]} (install them as root); tests that need them will be skipped"
  fi
fi
exit 0
