#!/usr/bin/env bash
# Debian packages the project needs besides Python: Pango and the DejaVu fonts for the printed forms
# (WeasyPrint), poppler-utils to render PDFs to pictures in the tests, Chromium for the browser tests.
# Installs only what is missing, and only where apt-get can (root on Debian); otherwise says what is missing.
set -uo pipefail
missing=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || missing+=(libpangoft2-1.0-0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || missing+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ "${1:-}" = "--with-browser" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${missing[*]}" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
    || echo "warning: could not install ${missing[*]}; printed forms or their tests may not work" >&2
else
  echo "warning: missing Debian packages ${missing[*]} (apt-get install ${missing[*]})" >&2
fi
exit 0
