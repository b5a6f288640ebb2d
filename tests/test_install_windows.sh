#!/bin/sh
# The Windows install (tools/install-windows) used as a MinGW user would:
# into a scratch prefix, every installed header compiles on its own with
# x86_64-w64-mingw32-gcc, the DLL exports only the API, and tests/consumer.c
# builds with flags from pkg-config alone against the DLL's import library
# and, statically, against libvmmem.a, and both programs run under wine.
# Also checks that DESTDIR stages the files without leaking into the paths
# they record. Run by tools/test-ports (as build/windows/tests/
# test_install.sh) after ninja has built the Windows port. Prints one line
# per check and "install: N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd) || exit 1
case $here in
*/build/windows/tests) cd "${here%/build/windows/tests}" || exit 1 ;;
*) cd "$here/.." || exit 1 ;;
esac

cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}
wine=${WINE:-/usr/lib/wine/wine64}
export WINEPREFIX="${WINEPREFIX:-$PWD/build/windows/wine}"
export WINEDEBUG=-all
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() {
	desc=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok - $desc"
		passed=$((passed + 1))
	else
		echo "FAIL - $desc"
		sed 's/^/    /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

prefix=$tmp/prefix
check "tools/install-windows into PREFIX=$prefix" \
	env PREFIX="$prefix" tools/install-windows
# Only the installed libvmmem.pc, none of the build machine's.
export PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig"
unset PKG_CONFIG_PATH

headers_compile_alone() {
	for h in "$prefix"/include/vmmem/*.h; do
		printf '#include <vmmem/%s>\n' "${h##*/}" >"$tmp/h.c"
		$cc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only \
			$(pkg-config --cflags libvmmem) "$tmp/h.c" ||
			{ echo "$h does not compile on its own"; return 1; }
	done
}
check "every installed header compiles on its own with $cc" headers_compile_alone

exports_only_api() {
	x86_64-w64-mingw32-objdump -p "$prefix/bin/libvmmem.dll" |
		awk '/\[Ordinal\/Name Pointer\] Table/ { t = 1; next }
		     t && NF == 0 { exit } t { print $NF }' >"$tmp/exports"
	bad=$(grep -v '^vmmem_' "$tmp/exports")
	[ -z "$bad" ] || { echo "unexpected exports: $bad"; return 1; }
	grep -qx vmmem_create "$tmp/exports" &&
	grep -qx vmmem__read_slow "$tmp/exports" &&
	! grep -q '^vmmem__VirtualAlloc$\|^vmmem__page_size$' "$tmp/exports"
}
check "libvmmem.dll exports the API and nothing internal" exports_only_api

build_shared() {
	$cc -std=gnu11 -Wall -Wextra -Werror -o "$tmp/consumer.exe" \
		tests/consumer.c $(pkg-config --cflags --libs libvmmem) &&
	x86_64-w64-mingw32-objdump -p "$tmp/consumer.exe" |
		grep -q 'DLL Name: libvmmem.dll'
}
check "a consumer builds with pkg-config --cflags --libs libvmmem" build_shared

run_shared() {
	# Windows finds a program's DLLs next to it.
	cp "$prefix/bin/libvmmem.dll" "$tmp/" &&
	"$wine" "$tmp/consumer.exe" | tr -d '\r' | grep -qx 'consumer: ok'
}
check "the consumer runs under wine against the installed libvmmem.dll" run_shared

build_static() {
	mkdir -p "$tmp/static" &&
	$cc -std=gnu11 -Wall -Wextra -Werror -static \
		-o "$tmp/static/consumer.exe" tests/consumer.c \
		$(pkg-config --static --cflags --libs libvmmem) &&
	! x86_64-w64-mingw32-objdump -p "$tmp/static/consumer.exe" |
		grep -q 'DLL Name: libvmmem.dll' &&
	"$wine" "$tmp/static/consumer.exe" | tr -d '\r' | grep -qx 'consumer: ok'
}
check "a static consumer builds from libvmmem.a and runs under wine" build_static

destdir_stages() {
	env PREFIX=/opt/vmmem-mingw DESTDIR="$tmp/stage" tools/install-windows &&
	[ -f "$tmp/stage/opt/vmmem-mingw/include/vmmem/platform.h" ] &&
	[ -f "$tmp/stage/opt/vmmem-mingw/lib/libvmmem.dll.a" ] &&
	[ -f "$tmp/stage/opt/vmmem-mingw/bin/libvmmem.dll" ] &&
	grep -qx 'prefix=/opt/vmmem-mingw' \
		"$tmp/stage/opt/vmmem-mingw/lib/pkgconfig/libvmmem.pc" &&
	! grep -q "$tmp" "$tmp/stage/opt/vmmem-mingw/lib/pkgconfig/libvmmem.pc" &&
	[ ! -e /opt/vmmem-mingw ]
}
check "DESTDIR stages files; libvmmem.pc still says PREFIX" destdir_stages

relative_prefix_rejected() {
	! env PREFIX=relative tools/install-windows
}
check "a relative PREFIX is refused" relative_prefix_rejected

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
