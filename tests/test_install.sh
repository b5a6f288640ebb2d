#!/bin/sh
# Install into a scratch prefix and use the result as a user would: every
# header compiles on its own, the shared library has its soname and exports
# only the API, and a program builds and runs against the installed tree
# with flags from pkg-config alone, shared and static. Also checks that
# DESTDIR stages the files without leaking into the paths they record.
# Prints one line per check and "install: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1

cc=${CC:-gcc}
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
check "tools/install into PREFIX=$prefix" env PREFIX="$prefix" tools/install
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

headers_compile_alone() {
	for h in "$prefix"/include/vmmem/*.h; do
		printf '#include <vmmem/%s>\n' "${h##*/}" >"$tmp/h.c"
		$cc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only \
			$(pkg-config --cflags libvmmem) "$tmp/h.c" ||
			{ echo "$h does not compile on its own"; return 1; }
	done
}
check "every installed header compiles on its own" headers_compile_alone

soname_is_versioned() {
	readelf -d "$prefix/lib/libvmmem.so" | grep -q 'SONAME.*\[libvmmem\.so\.1\]'
}
check "libvmmem.so has soname libvmmem.so.1" soname_is_versioned

exports_only_api() {
	bad=$(nm -D --defined-only "$prefix/lib/libvmmem.so" |
		awk '$2 ~ /[TDBR]/ && $3 !~ /^vmmem_/ { print $3 }')
	[ -z "$bad" ] || { echo "unexpected exports: $bad"; return 1; }
	nm -D --defined-only "$prefix/lib/libvmmem.so" | grep -q ' vmmem_create@' &&
	! nm -D --defined-only "$prefix/lib/libvmmem.so" | grep -q 'vmmem__lookup@'
}
check "libvmmem.so exports the API and nothing internal" exports_only_api

build_shared() {
	$cc -std=gnu11 -Wall -Wextra -Werror -o "$tmp/consumer" \
		tests/consumer.c $(pkg-config --cflags --libs libvmmem)
}
check "a consumer builds with pkg-config --cflags --libs libvmmem" build_shared

run_shared() {
	LD_LIBRARY_PATH="$prefix/lib" "$tmp/consumer" &&
	LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/consumer" |
		grep -q "libvmmem.so.1 => $prefix/lib/libvmmem.so.1"
}
check "the consumer runs against the installed libvmmem.so.1" run_shared

build_static() {
	$cc -std=gnu11 -Wall -Wextra -Werror -static-libgcc \
		-o "$tmp/consumer-static" tests/consumer.c \
		$(pkg-config --cflags libvmmem) \
		"$(pkg-config --variable=libdir libvmmem)/libvmmem.a" \
		$(pkg-config --static --libs-only-l libvmmem | sed 's/-lvmmem//') &&
	"$tmp/consumer-static" &&
	! ldd "$tmp/consumer-static" | grep -q libvmmem
}
check "a static consumer builds from libvmmem.a and runs" build_static

xen_consumer_runs() {
	$cc -std=gnu11 -Wall -Wextra -Werror -o "$tmp/consumer-xen" \
		tests/consumer_xen.c $(pkg-config --cflags --libs libvmmem-xen) &&
	readelf -d "$prefix/lib/libvmmem-xen.so" |
		grep -q 'SONAME.*\[libvmmem-xen\.so\.1\]' &&
	LD_LIBRARY_PATH="$prefix/lib" "$tmp/consumer-xen" &&
	LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/consumer-xen" |
		grep -q "libvmmem-xen.so.1 => $prefix/lib/libvmmem-xen.so.1"
}
check "a consumer builds against libvmmem-xen via pkg-config and runs" xen_consumer_runs

xen_static_consumer_runs() {
	$cc -std=gnu11 -Wall -Wextra -Werror -o "$tmp/consumer-xen-static" \
		tests/consumer_xen.c $(pkg-config --cflags libvmmem-xen) \
		"$(pkg-config --variable=libdir libvmmem-xen)/libvmmem-xen.a" \
		$(pkg-config --static --libs-only-l libvmmem-xen |
			sed 's/-lvmmem-xen//') &&
	"$tmp/consumer-xen-static"
}
check "a static consumer builds from libvmmem-xen.a and runs" xen_static_consumer_runs

api_example_runs() {
	awk '/^## Worked example/ { f = 1 } f && /^```c$/ { c = 1; next }
	     c && /^```$/ { exit } c { print }' docs/API.md >"$tmp/example.c" &&
	$cc -std=gnu11 -Wall -Wextra -Werror -o "$tmp/example" "$tmp/example.c" \
		$(pkg-config --cflags --libs libvmmem) &&
	LD_LIBRARY_PATH="$prefix/lib" "$tmp/example" | grep -qx 'reply written, page 0x1000 dirty: 1'
}
check "the worked example of docs/API.md builds and runs" api_example_runs

destdir_stages() {
	env PREFIX=/opt/vmmem DESTDIR="$tmp/stage" tools/install &&
	[ -f "$tmp/stage/opt/vmmem/include/vmmem/memory.h" ] &&
	[ -f "$tmp/stage/opt/vmmem/lib/libvmmem.a" ] &&
	[ -L "$tmp/stage/opt/vmmem/lib/libvmmem.so" ] &&
	grep -qx 'prefix=/opt/vmmem' "$tmp/stage/opt/vmmem/lib/pkgconfig/libvmmem.pc" &&
	! grep -q "$tmp" "$tmp/stage/opt/vmmem/lib/pkgconfig/libvmmem.pc" &&
	[ ! -e /opt/vmmem ]
}
check "DESTDIR stages files; libvmmem.pc still says PREFIX" destdir_stages

relative_prefix_rejected() {
	! env PREFIX=relative tools/install
}
check "a relative PREFIX is refused" relative_prefix_rejected

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
